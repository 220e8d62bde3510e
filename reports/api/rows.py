"""From database tuples to feed rows, for JSON and CSV alike.

A `RowFormat` is built once per request from a feed's serializer and the user: the ORM paths to read, and for each
column one conversion to its JSON value. The CSV cell is written from that same JSON value, so both formats carry
the same rows by construction. DRF's serializer machinery is not run per row: on a million rows the per-field
bookkeeping would cost more than the database does.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from .serializers import FeedSerializer


def _timestamp(value: datetime) -> str:
    """ISO-8601 in UTC with a Z, as DRF writes timestamps everywhere else in the API."""
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _date(value: date) -> str:
    return value.isoformat()


def _money(value: Decimal) -> float:
    # A JSON number. Amounts have at most 14 digits, which a double holds exactly enough to print back the cents.
    return float(value)


# Field class -> (JSON type for the dictionary, the value's JSON conversion). Order matters: subclasses first.
FIELD_TYPES: tuple[tuple[type[serializers.Field], str, Callable[[Any], Any]], ...] = (
    (serializers.ChoiceField, "string", str),
    (serializers.BooleanField, "boolean", bool),
    (serializers.IntegerField, "integer", int),
    (serializers.FloatField, "number", float),
    (serializers.DecimalField, "number", _money),
    (serializers.DateTimeField, "string (date-time)", _timestamp),
    (serializers.DateField, "string (date)", _date),
    (serializers.CharField, "string", str),
)


def field_type(field: serializers.Field) -> tuple[str, Callable[[Any], Any]]:
    for field_class, json_type, convert in FIELD_TYPES:
        if isinstance(field, field_class):
            return json_type, convert
    raise TypeError(f"{type(field).__name__} has no feed type; add it to FIELD_TYPES")


def csv_cell(value: Any) -> str:
    """A JSON value as CSV text: empty for null, true/false, numbers as JSON writes them."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


HIDDEN = "hidden"  # a column's mask: null for this user (a handler-only column shown to an agent)


@dataclass(frozen=True)
class RowFormat:
    names: tuple[str, ...]
    paths: tuple[str, ...]
    converters: tuple[Callable[[Any], Any], ...]
    # What PostgreSQL needs to write the same CSV itself (`reports.api.pgcsv`): each column's conversion from
    # FIELD_TYPES, and its mask for this user: None (as is), HIDDEN, or a `public_values` mapping.
    conversions: tuple[Callable[[Any], Any], ...] = ()
    masks: tuple[str | dict[str, str] | None, ...] = ()

    @classmethod
    def build(
        cls, serializer_class: type[FeedSerializer], *, sees_handler_columns: bool, typed: bool = False
    ) -> "RowFormat":
        """`typed` keeps the database's values (Decimal, datetime, date) for typed sinks such as a Tableau Hyper
        extract, with the same columns and the same masking as the JSON and CSV rows."""
        fields = serializer_class().fields
        names, paths, converters, conversions, masks = [], [], [], [], []
        for name, field in fields.items():
            conversion = field_type(field)[1]
            convert = _same if typed else conversion
            mask = None
            if not sees_handler_columns and name in serializer_class.handler_only:
                convert, mask = _null, HIDDEN
            elif not sees_handler_columns and name in serializer_class.public_values:
                mask = serializer_class.public_values[name]
                convert = _mapped(convert, mask)
            names.append(name)
            paths.append(field.source)
            converters.append(convert)
            conversions.append(conversion)
            masks.append(mask)
        return cls(tuple(names), tuple(paths), tuple(converters), tuple(conversions), tuple(masks))

    def values(self, row: Sequence) -> list[Any]:
        return [None if value is None else convert(value) for convert, value in zip(self.converters, row, strict=True)]

    def json_row(self, row: Sequence) -> dict[str, Any]:
        return dict(zip(self.names, self.values(row), strict=True))

    def csv_row(self, row: Sequence) -> list[str]:
        return [csv_cell(value) for value in self.values(row)]


def _null(value: Any) -> None:
    return None


def _same(value: Any) -> Any:
    return value


def _mapped(convert: Callable[[Any], Any], mapping: dict[str, str]) -> Callable[[Any], Any]:
    def convert_public(value: Any) -> Any:
        value = convert(value)
        return mapping.get(value, value)

    return convert_public
