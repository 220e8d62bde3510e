"""Mapping files: which column of a legacy export feeds which field of which record, and how to read it.

A mapping (YAML or JSON) is checked in full when it is loaded, so a typo fails before the first row is read and the
message names the field key. `RowParser` compiles a mapping against one file's header once; per row it only runs the
prepared closures, and it turns every problem of a row into one `RowRejected` listing all of them.

Reading one column runs: strip; a value in `missing` (compared case-insensitively) means missing; `map` (keys matched
case-insensitively, a key mapped to null means missing); `pattern` (its one group, or the whole match); the `type`
conversion; `multiply`; then `choices` (for str, case-insensitively, giving the spelling of the choice), `min`,
`max` and `max_length`. A missing value takes `default`, is refused when `required`, or is left out.

Computes read several columns: `date_and_hour` ([date, hour 0-23] -> aware UTC datetime), `date_from_parts` ([year,
month, week of month, weekday] -> date; weeks run Monday to Sunday and week 1 is the one holding the 1st, so a month
spans up to six weeks and a day outside the month is a reject), `sum` (Decimal; a missing column counts as 0 unless
all are missing) and `first` (the first column with a value, then the usual steps). A `range` gives a `Decimal`, always.
A template or compute is missing when a column it needs is.
"""

from __future__ import annotations

import json
import os
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from . import transforms as t
from .reading import SourceOptions, SourceRow, count_problem

TYPES = ("str", "int", "decimal", "date", "datetime", "bool", "range")
COMPUTES = {"date_and_hour": 2, "date_from_parts": 4, "sum": 0, "first": 0}  # columns needed; 0 = one or more
COMPUTE_TYPES = {"date_and_hour": ("datetime",), "date_from_parts": ("date",), "sum": ("decimal", "int")}
DEFAULT_MISSING = ("", "?", "NA", "N/A", "NULL")
SPEC_KEYS = ("column", "columns", "compute", "const", "template", "type", "format", "map", "map_other", "pattern",
             "multiply", "required", "default", "choices", "min", "max", "max_length", "pick")  # fmt: skip
TOP_KEYS = ("name", "description", "source", "missing", "record", "attributes_to", "ignore", "fields")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class MappingError(Exception):
    """The mapping cannot be used (or does not fit the file); the message names the key and the problem."""


@dataclass(frozen=True)
class FieldSpec:
    """One checked `fields` entry. `name` is the field, or the attribute's key when `attribute` is set."""

    key: str
    entity: str
    name: str
    attribute: bool = False
    column: str | None = None
    columns: tuple[str, ...] = ()
    compute: str | None = None
    template: str | None = None
    template_columns: tuple[str, ...] = ()
    has_const: bool = False
    const: Any = None
    type: str = "str"
    formats: tuple[str, ...] = ()
    map: dict[str, str | None] | None = None  # source value (matched ignoring case) -> text; None means missing
    map_other: str = "reject"
    pattern: re.Pattern[str] | None = None
    multiply: int | Decimal | None = None
    required: bool = False
    has_default: bool = False
    default: Any = None
    choices: tuple[Any, ...] = ()
    min: Any = None
    max: Any = None
    max_length: int | None = None
    pick: str = "mid"

    @property
    def source_columns(self) -> tuple[str, ...]:
        return (self.column,) if self.column is not None else self.columns or self.template_columns

    @property
    def label(self) -> str:
        """What a reject names: the source column(s), or the field key for a constant or a template."""
        return self.column if self.column is not None else ", ".join(self.columns) or self.key


@dataclass(frozen=True)
class Mapping:
    """A checked mapping. `raw` is the file's content made JSON-safe, to keep with the import batch."""

    name: str
    record: str
    fields: tuple[FieldSpec, ...]
    description: str = ""
    source: SourceOptions = field(default_factory=SourceOptions)
    missing: tuple[str, ...] = DEFAULT_MISSING
    attributes_to: str = ""
    ignore: frozenset[str] = frozenset()
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def entities(self) -> tuple[str, ...]:
        """Every entity the mapping speaks of, the record's first; the loader decides which it can load."""
        names = [self.record, *(spec.entity for spec in self.fields), self.attributes_to]
        return tuple(dict.fromkeys(name for name in names if name))


def load_mapping(source: str | os.PathLike[str] | dict[str, Any]) -> Mapping:
    """A mapping from a YAML or JSON file (by suffix; YAML otherwise) or an already loaded dict."""
    if isinstance(source, dict):
        return _build(source, default_name=None)
    path = Path(source)
    kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if kind == "JSON" else yaml.safe_load(text)
    except OSError as error:
        raise MappingError(f"cannot read the mapping {path}: {error.strerror or error}") from error
    except (UnicodeDecodeError, ValueError, yaml.YAMLError) as error:  # JSONDecodeError is a ValueError
        raise MappingError(f"the mapping {path.name} is not valid {kind}: {error}") from error
    return _build(data, default_name=path.stem)


# --- checking a mapping ----------------------------------------------------------------------------------------------


def _build(data: Any, default_name: str | None) -> Mapping:
    if not isinstance(data, dict):
        raise MappingError("a mapping must be a set of keys: name, record, fields, ...")
    _no_unknown_keys("the mapping", data, TOP_KEYS)
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise MappingError("name: required, the mapping's name as text")
    record = _identifier(data.get("record"), "record")
    fields = data.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise MappingError("fields: required, a set of '<entity>.<field>: {column: ...}' entries")
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise MappingError("description: must be text")
    return Mapping(
        name=name.strip(),
        record=record,
        fields=tuple(_field_spec(str(key), spec) for key, spec in fields.items()),
        description=description,
        source=_source_options(data.get("source") or {}),
        missing=tuple(_texts(data.get("missing", DEFAULT_MISSING), "missing")),
        attributes_to=_identifier(data.get("attributes_to", record), "attributes_to"),
        ignore=frozenset(_texts(data.get("ignore") or [], "ignore")),
        raw=json.loads(json.dumps(data, default=str)),
    )


def _no_unknown_keys(where: str, data: dict[Any, Any], known: tuple[str, ...]) -> None:
    for key in data:
        if key not in known:
            raise MappingError(f"{where}: unknown key {key!r} (known: {', '.join(known)})")


def _identifier(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise MappingError(f"{where}: {value!r} is not a name such as claim or policy")
    return value


def _texts(value: Any, where: str) -> list[str]:
    """A list of text; YAML turns bare yes/no/null/1.0 into other things, which would silently never match."""
    if not isinstance(value, list | tuple):
        raise MappingError(f"{where}: must be a list")
    for item in value:
        if not isinstance(item, str):
            raise MappingError(f"{where}: {item!r} is not text (quote it in YAML)")
    return [item.strip() for item in value]


def _source_options(data: Any) -> SourceOptions:
    if not isinstance(data, dict):
        raise MappingError("source: must be a set of keys: format, delimiter, encoding, sheet")
    _no_unknown_keys("source", data, ("format", "delimiter", "encoding", "sheet"))
    options = SourceOptions(**{key: value for key, value in data.items() if value is not None})
    if options.format not in ("", "csv", "xlsx"):
        raise MappingError(f"source.format: {options.format!r} is not csv or xlsx")
    if not isinstance(options.delimiter, str) or len(options.delimiter) != 1:
        raise MappingError(f"source.delimiter: {options.delimiter!r} is not one character")
    if not isinstance(options.encoding, str) or not _known_encoding(options.encoding):
        raise MappingError(f"source.encoding: {options.encoding!r} is not an encoding (use auto, utf-8 or cp1252)")
    if options.sheet is not None and not isinstance(options.sheet, str):
        raise MappingError("source.sheet: must be the sheet's name as text")
    return options


def _known_encoding(name: str) -> bool:
    try:
        return name == "auto" or bool("".encode(name) == b"")
    except LookupError:
        return False


def _field_spec(key: str, spec: Any) -> FieldSpec:
    def fail(problem: str) -> MappingError:
        return MappingError(f"{key}: {problem}")

    parts = key.split(".", 2)
    attribute = len(parts) == 3 and parts[1] == "attributes"
    if len(parts) < 2 or (len(parts) == 3 and not attribute) or not all(_IDENTIFIER.fullmatch(p) for p in parts[:2]):
        raise fail("a field key is <entity>.<field> or <entity>.attributes.<key>")
    if parts[1] == "attributes" and not (attribute and parts[2].strip()):
        raise fail("name the attribute: <entity>.attributes.<key>")
    if isinstance(spec, str):
        spec = {"column": spec}  # shorthand: `customer.email: email_address`
    if not isinstance(spec, dict):
        raise fail("must be a set of keys such as {column: name}")
    _no_unknown_keys(key, spec, SPEC_KEYS)
    sources = [name for name in ("column", "columns", "const", "template") if name in spec]
    if len(sources) != 1:
        raise fail("needs exactly one of column, columns (with compute), const or template")
    if ("compute" in spec) != ("columns" in spec):
        raise fail("columns and compute go together")
    compute = spec.get("compute")
    if compute is not None and (not isinstance(compute, str) or compute not in COMPUTES):
        raise fail(f"unknown compute {compute!r} (known: {', '.join(COMPUTES)})")
    kind = spec.get("type", COMPUTE_TYPES.get(compute, ("str",))[0])
    if not isinstance(kind, str) or kind not in TYPES:
        raise fail(f"unknown type {kind!r} (known: {', '.join(TYPES)})")
    if compute in COMPUTE_TYPES and kind not in COMPUTE_TYPES[compute]:
        raise fail(f"compute {compute} gives a {' or '.join(COMPUTE_TYPES[compute])}, not {kind}")
    for name, allowed in (("format", ("date", "datetime")), ("multiply", ("int", "decimal", "range")),
                          ("max_length", ("str",)), ("pick", ("range",)),
                          ("min", ("int", "decimal", "range", "date", "datetime")),
                          ("max", ("int", "decimal", "range", "date", "datetime"))):  # fmt: skip
        if name in spec and kind not in allowed:
            raise fail(f"{name} applies to type {' or '.join(allowed)}, not {kind}")
    typed_compute = compute in ("date_and_hour", "date_from_parts", "sum")
    for name in ("map", "pattern", "map_other"):
        if name in spec and ("const" in spec or typed_compute):
            raise fail(f"{name} does not apply to {'const' if 'const' in spec else 'compute ' + str(compute)}")
    values: dict[str, Any] = {"key": key, "entity": parts[0], "name": parts[-1].strip(), "attribute": attribute}
    values |= {"type": kind, "required": _flag(spec, "required", fail)}
    formats = spec.get("format", [])
    formats = [formats] if isinstance(formats, str) else formats
    if not isinstance(formats, list) or not all(isinstance(f, str) and "%" in f for f in formats):
        raise fail("format must be a strftime format such as '%d/%m/%Y', or a list of them")
    values["formats"] = tuple(formats)
    values["pick"] = spec.get("pick", "mid")
    if values["pick"] not in t.PICKS:
        raise fail(f"pick must be one of {', '.join(t.PICKS)}")
    if "column" in spec:
        values["column"] = _column_name(spec["column"], fail)
    elif "columns" in spec:
        values |= {"columns": _columns(spec["columns"], str(compute), fail), "compute": compute}
    elif "template" in spec:
        values |= _template(spec["template"], fail)
    else:
        values |= {"has_const": True, "const": _const(spec, values, fail)}
    if "map" in spec:
        values["map"] = _value_map(spec["map"], fail)
    values["map_other"] = spec.get("map_other", "reject")
    if values["map_other"] not in ("reject", "keep") or ("map_other" in spec and "map" not in spec):
        raise fail("map_other is keep or reject, and goes with a map")
    if "pattern" in spec:
        values["pattern"] = _pattern(spec["pattern"], fail)
    if "multiply" in spec:
        values["multiply"] = _multiply(spec["multiply"], kind, fail)
    if "max_length" in spec:
        if not isinstance(spec["max_length"], int) or isinstance(spec["max_length"], bool) or spec["max_length"] < 1:
            raise fail("max_length must be a positive whole number")
        values["max_length"] = spec["max_length"]
    if "choices" in spec:
        if not isinstance(spec["choices"], list) or not spec["choices"]:
            raise fail("choices must be a non-empty list")
        values["choices"] = tuple(_literal(c, values, fail, "choices") for c in spec["choices"])
    for bound in ("min", "max"):
        if bound in spec:
            values[bound] = _literal(spec[bound], values, fail, bound)
    if "default" in spec:
        if spec["default"] is None or "const" in spec:
            raise fail("default needs a value, and a const needs no default")
        values |= {"has_default": True, "default": _literal(spec["default"], values, fail, "default")}
    result = FieldSpec(**values)
    if result.has_default:
        try:
            _checker(result)(result.default)
        except t.Invalid as error:
            raise fail(f"default: {error.reason}") from None
    return result


def _flag(spec: dict[str, Any], name: str, fail: Callable[[str], MappingError]) -> bool:
    value = spec.get(name, False)
    if not isinstance(value, bool):
        raise fail(f"{name} must be true or false")
    return value


def _column_name(value: Any, fail: Callable[[str], MappingError]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(f"column {value!r} is not a column name")
    return value.strip()


def _columns(value: Any, compute: str, fail: Callable[[str], MappingError]) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise fail("columns must be a list of column names")
    columns = tuple(_column_name(column, fail) for column in value)
    needed = COMPUTES[compute]
    if needed and len(columns) != needed:
        raise fail(f"compute {compute} needs {needed} columns, got {len(columns)}")
    return columns


def _template(value: Any, fail: Callable[[str], MappingError]) -> dict[str, Any]:
    if not isinstance(value, str):
        raise fail("template must be text such as 'IC-{policy_number}'")
    try:
        parsed = list(string.Formatter().parse(value))
    except ValueError as error:
        raise fail(f"template {value!r}: {error}") from None
    names = [name for _, name, spec, _ in parsed if name is not None]
    if not names or any(not name.strip() or set(name) & set(".[]") for name in names):
        raise fail(f"template {value!r} must name columns in braces, such as {{policy_number}}")
    if any("{" in (spec or "") for _, _, spec, _ in parsed):
        raise fail(f"template {value!r} has a nested field")
    try:
        value.format_map(dict.fromkeys(names, "x"))
    except (ValueError, TypeError, KeyError, IndexError) as error:
        raise fail(f"template {value!r} does not format text: {error}") from None
    return {"template": value, "template_columns": tuple(dict.fromkeys(names))}


def _value_map(value: Any, fail: Callable[[str], MappingError]) -> dict[str, str | None]:
    if not isinstance(value, dict) or not value:
        raise fail("map must be a set of 'source value: value' pairs")
    table: dict[str, str | None] = {}
    folded: dict[str, str] = {}
    for source, target in value.items():
        if isinstance(source, bool) or not isinstance(source, str | int):
            raise fail(f"map key {source!r} is not text (quote it in YAML: bare yes/no/on/off become true/false)")
        if isinstance(target, list | dict | float):
            raise fail(f"map value {target!r} for {source!r} must be text, a whole number, true/false or null")
        key = str(source).strip()
        if key.casefold() in folded:
            raise fail(f"map keys {folded[key.casefold()]!r} and {key!r} are the same (keys ignore case)")
        folded[key.casefold()] = key
        table[key] = None if target is None else target.isoformat() if isinstance(target, date) else str(target)
    return table


def _pattern(value: Any, fail: Callable[[str], MappingError]) -> re.Pattern[str]:
    try:
        pattern = re.compile(value) if isinstance(value, str) else None
    except re.error as error:
        raise fail(f"pattern '{value}' is not a regular expression: {error}") from None
    if pattern is None or pattern.groups > 1:
        raise fail(f"pattern '{value}' must be a regular expression with at most one group")
    return pattern


def _multiply(value: Any, kind: str, fail: Callable[[str], MappingError]) -> int | Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise fail("multiply must be a number")
    try:
        factor = t.parse_decimal(str(value))
    except t.Invalid:
        raise fail("multiply must be a number") from None
    if kind == "int":
        if factor != factor.to_integral_value():
            raise fail("multiply must be a whole number for an int")
        return int(factor)
    return factor


def _literal(value: Any, spec: dict[str, Any], fail: Callable[[str], MappingError], what: str) -> Any:
    """A default, bound or choice written in the mapping, as a value of the field's type."""
    try:
        return t.literal(value, spec["type"], spec["formats"], spec["pick"])
    except t.Invalid as error:
        raise fail(f"{what}: {error.reason}") from None


def _const(spec: dict[str, Any], values: dict[str, Any], fail: Callable[[str], MappingError]) -> Any:
    """A const keeps the type YAML gave it (a float becomes a Decimal) unless the field names a type."""
    value = spec["const"]
    if "type" in spec:
        return _literal(value, values, fail, "const")
    if value is None or isinstance(value, list | dict):
        raise fail(f"const: {value!r} is not a value")
    if isinstance(value, float):
        return Decimal(str(value))
    return t.aware(value) if isinstance(value, datetime) else value


# --- parsing rows ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowIssue:
    """One problem of a row: the source column(s) it came from (or the field key), and why."""

    column: str
    reason: str
    field: str = ""  # the mapping's field key, "" for a problem of the whole row


class RowRejected(Exception):
    """A row that cannot be loaded, with every problem found in it."""

    def __init__(self, issues: list[RowIssue], number: int = 0) -> None:
        self.issues = issues
        self.number = number
        super().__init__(f"row {number}: " + "; ".join(f"{i.column or 'row'}: {i.reason}" for i in issues))


@dataclass
class ParsedRow:
    """Typed values per entity (missing optional fields absent) and the attributes per entity."""

    number: int
    values: dict[str, dict[str, Any]]
    attributes: dict[str, dict[str, Any]]


class _Field(NamedTuple):
    key: str
    entity: str
    name: str
    attribute: bool
    label: str
    required: bool
    has_default: bool
    default: Any
    value: t.Read  # the typed value or t.MISSING; raises t.Invalid


class RowParser:
    """A mapping compiled against one file's header: `parse` turns a `SourceRow` into a `ParsedRow`."""

    def __init__(self, mapping: Mapping, header: list[str]) -> None:
        self.mapping = mapping
        self.header = list(header)
        index = {name: position for position, name in enumerate(self.header)}
        absent = [
            f"{column!r} (for {spec.key})"
            for spec in mapping.fields
            if spec.required and not _enough_columns(spec, index)
            for column in spec.source_columns
            if column not in index
        ]
        if absent:
            raise MappingError(
                f"mapping {mapping.name}: the file has no column {', '.join(absent)}; "
                f"its columns are {', '.join(self.header)}"
            )
        missing = t.MissingValues(mapping.missing)
        self._fields = [
            _Field(s.key, s.entity, s.name, s.attribute, s.label, s.required, s.has_default, s.default, read)
            for s in mapping.fields
            for read in [_compile(s, index, missing)]
        ]
        self._entities = mapping.entities
        self._attributes_to = mapping.attributes_to or mapping.record
        explicit = {s.name for s in mapping.fields if s.attribute and s.entity == self._attributes_to}
        skip = {column for spec in mapping.fields for column in spec.source_columns} | mapping.ignore | explicit
        self._extra = [(i, name) for i, name in enumerate(self.header) if name not in skip]
        self._missing = missing

    def parse(self, row: SourceRow) -> ParsedRow:
        """The row's typed values, or `RowRejected` with all its problems; never any other exception."""
        values = row.values
        if values is None:
            raise RowRejected([RowIssue("", row.problem or "cannot be read")], row.number)
        if len(values) != len(self.header):
            raise RowRejected([RowIssue("", count_problem(len(values), len(self.header)))], row.number)
        out: dict[str, dict[str, Any]] = {entity: {} for entity in self._entities}
        attributes: dict[str, dict[str, Any]] = {entity: {} for entity in self._entities}
        issues: list[RowIssue] = []
        for key, entity, name, attribute, label, required, has_default, default, read in self._fields:
            try:
                value = read(values)
            except t.Invalid as error:
                issues.append(RowIssue(error.column or label, error.reason, key))
                continue
            except (ValueError, ArithmeticError, TypeError) as error:  # a gap in a converter: still one reject
                issues.append(RowIssue(label, f"cannot read the value: {error}", key))
                continue
            if value is t.MISSING:
                if has_default:
                    value = default
                elif required:
                    issues.append(RowIssue(label, "required", key))
                    continue
                else:
                    continue
            (attributes if attribute else out)[entity][name] = value
        if issues:
            raise RowRejected(issues, row.number)
        extra = attributes[self._attributes_to]
        folded, longest = self._missing.folded, self._missing.longest
        for position, name in self._extra:
            text = values[position].strip()
            if len(text) > longest or text.casefold() not in folded:  # MissingValues, inlined: the hottest loop
                extra[name] = text
        return ParsedRow(row.number, out, attributes)


def _enough_columns(spec: FieldSpec, index: dict[str, int]) -> bool:
    present = [column in index for column in spec.source_columns]
    return any(present) if spec.compute in ("sum", "first") else all(present)


def _compile(spec: FieldSpec, index: dict[str, int], is_missing: t.MissingValues) -> t.Read:
    """One closure for the field: read the source, then run only the steps that apply."""
    if spec.has_const:
        const = spec.const
        return lambda values: const
    if not _enough_columns(spec, index):
        return t.absent  # an optional field whose columns the file lacks
    if spec.column is not None:
        read = t.column_reader(index[spec.column], is_missing)
    elif spec.template is not None:
        read = t.template_reader(spec.template, [(c, index[c]) for c in spec.template_columns], is_missing)
    else:
        refs = [(c, index[c]) for c in spec.columns if c in index]
        read = t.compute_reader(str(spec.compute), refs, is_missing, spec.formats)
    steps: list[t.Step] = []
    if spec.map is not None:
        steps.append(t.map_step(spec.map, keep=spec.map_other == "keep"))
    if spec.pattern is not None:
        steps.append(t.pattern_step(spec.pattern))
    if spec.compute == "sum" and spec.type == "int":
        steps.append(lambda total: t.parse_int(str(total)))
    elif spec.compute in (None, "first") and spec.type != "str":
        steps.append(t.converter(spec.type, spec.formats, spec.pick))
    if spec.multiply is not None:
        factor = spec.multiply
        steps.append(lambda number: number * factor)
    if spec.choices or spec.min is not None or spec.max is not None or spec.max_length is not None:
        steps.append(_checker(spec))
    return t.chain(read, steps)


def _checker(spec: FieldSpec) -> t.Step:
    return t.checker(spec.choices, spec.min, spec.max, spec.max_length)
