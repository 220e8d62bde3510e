"""Typed values from the text of legacy exports: amounts with currency signs, yes/no flags, dates, banded ranges.

Every parser takes stripped text and returns a typed value or raises `Invalid` with a reason a person can act on;
nothing here raises anything else for any input, so a row parser can turn every failure into a reject. Money and
ranges are `Decimal`, never float; datetimes are timezone-aware UTC. The second half builds the small closures a
`RowParser` runs for each field, so all the deciding happens once per file and not once per row.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal
from typing import Any

MAX_DIGITS = 28  # Decimal's default precision: a longer number would be rounded silently, so it is refused

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")  # fmt: skip
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Invalid(Exception):
    """A value that cannot be converted; `column` names the source column when a field reads several."""

    def __init__(self, reason: str, column: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.column = column


def show(text: object) -> str:
    """A value quoted for a message, cut short so a megabyte of junk does not flood a reject file."""
    text = str(text)
    return repr(text) if len(text) <= 40 else repr(text[:40]) + "…"


# --- numbers ---------------------------------------------------------------------------------------------------------

_CURRENCY = r"(?:[$£€]|USD|EUR|GBP)"
_SEPARATORS = ", \u00a0\u202f'"  # thousands: comma, space, no-break and narrow no-break space, apostrophe
_NUMBER = re.compile(
    rf"(?P<sign>[-+]?)\s*(?:{_CURRENCY}\s*)?(?P<sign2>[-+]?)\s*"
    rf"(?P<digits>[0-9]{{1,3}}(?P<sep>[{_SEPARATORS}])[0-9]{{3}}(?:(?P=sep)[0-9]{{3}})*(?:\.[0-9]*)?"
    r"|[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    rf"(?:\s*{_CURRENCY})?",
    re.IGNORECASE,
)
_NO_SEPARATORS = str.maketrans("", "", _SEPARATORS)


def parse_decimal(text: str) -> Decimal:
    """'1,234.50', '1 234', '$ 12', '12 EUR', '(123)' and '-123' (negative); thousands groups must be of three digits.

    Strict grouping (one separator, groups of three) refuses a European '12,50' rather than reading it as 1250.
    """
    if text.isascii() and text.isdigit():  # the common case, without the regex
        if len(text) > MAX_DIGITS:
            raise Invalid(f"{show(text)} has more than {MAX_DIGITS} digits")
        return Decimal(text)
    body, negative = text, False
    if body.startswith("(") and body.endswith(")"):
        body, negative = body[1:-1].strip(), True
    match = _NUMBER.fullmatch(body)
    if match is None or (match["sign"] and match["sign2"]) or (negative and (match["sign"] or match["sign2"])):
        raise Invalid(f"{show(text)} is not a number")
    digits = match["digits"].translate(_NO_SEPARATORS)
    if len(digits) - ("." in digits) > MAX_DIGITS:
        raise Invalid(f"{show(text)} has more than {MAX_DIGITS} digits")
    value = Decimal(digits)
    return -value if negative or "-" in (match["sign"], match["sign2"]) else value


def parse_int(text: str) -> int:
    """A whole number, in any form `parse_decimal` reads ('1,200', '12.0', '(5)')."""
    value = parse_decimal(text)
    if value != value.to_integral_value():
        raise Invalid(f"{show(text)} is not a whole number")
    return int(value)


_BOOLS = {"Y": True, "YES": True, "TRUE": True, "T": True, "1": True,
          "N": False, "NO": False, "FALSE": False, "F": False, "0": False}  # fmt: skip


def parse_bool(text: str) -> bool:
    """Y/N, YES/NO, TRUE/FALSE, T/F and 1/0, in any case."""
    value = _BOOLS.get(text.upper()) if len(text) <= 5 else None
    if value is None:
        raise Invalid(f"{show(text)} is not yes or no (expected Y/N, YES/NO, TRUE/FALSE, T/F or 1/0)")
    return value


# --- dates -----------------------------------------------------------------------------------------------------------


_NUMERIC_DIRECTIVES = {"Y": r"(\d{4})", "m": r"(\d{1,2})", "d": r"(\d{1,2})", "H": r"(\d{1,2})", "M": r"(\d{1,2})",
                       "S": r"(\d{1,2})"}  # fmt: skip
_DATETIME_ORDER = "YmdHMS"
_compiled_formats: dict[str, tuple[re.Pattern[str], tuple[int, ...]] | None] = {}


def _compiled(fmt: str) -> tuple[re.Pattern[str], tuple[int, ...]] | None:
    """A regex for a format made only of numeric directives and literals (the usual ones), else None.

    strptime is slow (about 20 µs a call); a match of this regex reads the same fields strptime would. Text it does
    not match still goes to strptime, so the formats accepted are exactly strptime's.
    """
    if fmt in _compiled_formats:
        return _compiled_formats[fmt]
    pattern, order, position = [], [], 0
    compiled = None
    while position < len(fmt):
        char = fmt[position]
        if char == "%":
            directive = fmt[position + 1 : position + 2]
            if directive not in _NUMERIC_DIRECTIVES or directive in order:
                break
            pattern.append(_NUMERIC_DIRECTIVES[directive])
            order.append(directive)
            position += 2
        else:
            pattern.append(re.escape(char))
            position += 1
    else:
        if order and set("Ymd") <= set(order):
            slots = tuple(order.index(name) if name in order else -1 for name in _DATETIME_ORDER)
            compiled = (re.compile("".join(pattern) + r"\Z"), slots)
    _compiled_formats[fmt] = compiled
    return compiled


def _strptime(text: str, fmt: str, zone: tzinfo | None = None) -> datetime | None:
    """`datetime.strptime`, None when the text does not fit; `zone` is set on a datetime the format left naive."""
    fast = _compiled(fmt)
    if fast is not None:
        match = fast[0].match(text)
        if match is not None:
            groups = match.groups()
            parts = [int(groups[slot]) if slot >= 0 else 0 for slot in fast[1]]
            try:
                return datetime(*parts, tzinfo=zone)
            except ValueError:
                return None
    try:
        parsed = datetime.strptime(text, fmt)  # naive unless the format has %z; see aware()
    except (ValueError, OverflowError):
        return None
    return parsed if zone is None or parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def date_parser(formats: Sequence[str] = ()) -> Callable[[str], date]:
    """A parser for dates in `formats` (strftime), tried in order; ISO 8601 when none are given."""
    expected = " or ".join(formats) or "YYYY-MM-DD"

    def parse(text: str) -> date:
        if not formats:
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise Invalid(f"{show(text)} is not a date (expected {expected})") from None
        for fmt in formats:
            parsed = _strptime(text, fmt)
            if parsed is not None:
                return parsed.date()
        raise Invalid(f"{show(text)} is not a date (expected {expected})")

    return parse


def aware(value: datetime) -> datetime:
    """UTC, reading a naive datetime as UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise Invalid(f"{value.isoformat()} is out of range in UTC") from None


def datetime_parser(formats: Sequence[str] = ()) -> Callable[[str], datetime]:
    """A parser for datetimes in `formats`, tried in order (ISO 8601 when none); the result is aware, in UTC."""
    expected = " or ".join(formats) or "ISO 8601, e.g. 2024-05-31T14:30:00"

    def parse(text: str) -> datetime:
        parsed: datetime | None = None
        if not formats:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                parsed = None
        else:
            for fmt in formats:
                parsed = _strptime(text, fmt, UTC)  # naive reads as UTC, as aware() would
                if parsed is not None:
                    break
        if parsed is None:
            raise Invalid(f"{show(text)} is not a date and time (expected {expected})")
        return parsed if parsed.tzinfo is UTC else aware(parsed)

    return parse


def parse_hour(text: str) -> int:
    """An hour of the day, 0 to 23."""
    try:
        hour = parse_int(text)
    except Invalid:
        hour = -1
    if not 0 <= hour <= 23:
        raise Invalid(f"{show(text)} is not an hour of the day (0 to 23)")
    return hour


def date_and_hour(day: date, hour: int) -> datetime:
    """The start of that hour on that day, in UTC."""
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _by_prefix(names: Sequence[str]) -> dict[str, int]:
    """Every prefix of three letters or more ('sep', 'sept', 'thurs'), numbered from 1."""
    return {name[:length]: number for number, name in enumerate(names, 1) for length in range(3, len(name) + 1)}


_MONTHS = _by_prefix(MONTHS)
_WEEKDAYS = _by_prefix(WEEKDAYS)


def parse_month(text: str) -> int:
    """A month as 1 to 12 or an English name or abbreviation ('Jan', 'Sept', 'december')."""
    number = _MONTHS.get(text.lower())
    if number is None and text.isascii() and text.isdigit() and len(text) <= 2:
        number = int(text) if 1 <= int(text) <= 12 else None
    if number is None:
        raise Invalid(f"{show(text)} is not a month (expected 1 to 12 or a name such as Jan)")
    return number


def parse_weekday(text: str) -> int:
    """A weekday as an English name or abbreviation ('Mon', 'Tues'), Monday = 0."""
    number = _WEEKDAYS.get(text.lower())
    if number is None:
        raise Invalid(f"{show(text)} is not a day of the week (expected a name such as Monday or Mon)")
    return number - 1


def date_from_parts(year: int, month: int, week: int, weekday: int) -> date:
    """The date of `weekday` (Monday = 0) in week `week` of the month.

    Weeks run Monday to Sunday and week 1 is the week holding the 1st, so week 1 may start in the previous month
    (then its early days do not exist in this month) and a month can reach a sixth week. A day outside the month is
    refused rather than moved into the next.
    """
    if not 1 <= year <= 9999:
        raise Invalid(f"{year} is not a year (expected 1 to 9999)")
    if not 1 <= week <= 6:
        raise Invalid(f"{week} is not a week of the month (expected 1 to 6)")
    first = date(year, month, 1)
    day = 1 - first.weekday() + (week - 1) * 7 + weekday
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise Invalid(
            f"week {week} of {MONTHS[month - 1].title()} {year} has no {WEEKDAYS[weekday].title()} "
            "(week 1 is the Monday-to-Sunday week holding the 1st)"
        )
    return first.replace(day=day)


# --- banded ranges ---------------------------------------------------------------------------------------------------

_N = r"([0-9][0-9,]*(?:\.[0-9]+)?)"
_UNIT = r"(?:\s*[a-z]+\.?)?"  # 'years', 'vehicles', 'months': a label, not converted
_BETWEEN = re.compile(rf"(?:from\s+|between\s+)?{_N}{_UNIT}\s*(?:-|\u2013|\u2014|to|and)\s*{_N}{_UNIT}")
_ABOVE = re.compile(rf"(?:more\s+than|over|above|greater\s+than|at\s+least|>=?)\s*{_N}{_UNIT}|{_N}\s*\+{_UNIT}")
_BELOW = re.compile(rf"(?:less\s+than|under|below|fewer\s+than|up\s+to|at\s+most|<=?)\s*{_N}{_UNIT}")
_EXACT = re.compile(rf"{_N}{_UNIT}")
_ZERO = frozenset({"none", "new", "zero"})
PICKS = ("low", "mid", "high")


def parse_range(text: str, pick: str = "mid") -> Decimal:
    """One number for a banded value: '26 to 30', '26-30', 'more than 30', '30+', 'under 20', '2 years', 'none'.

    `pick` chooses the low end, the high end or the middle of a closed range; an open range ('over 65') gives its
    one bound whatever the pick. Units after a number are ignored, so mixed units need a `map`.
    """
    folded = text.lower()
    if folded in _ZERO:
        return Decimal(0)
    if match := _BETWEEN.fullmatch(folded):
        low, high = _range_number(match[1], text), _range_number(match[2], text)
        if low > high:
            raise Invalid(f"{show(text)} is a range from high to low")
        return low if pick == "low" else high if pick == "high" else (low + high) / 2
    if match := _ABOVE.fullmatch(folded):
        return _range_number(match[1] or match[2], text)
    for pattern in (_BELOW, _EXACT):
        if match := pattern.fullmatch(folded):
            return _range_number(match[1], text)
    raise Invalid(f"{show(text)} is not a range (expected e.g. '26 to 30', 'more than 30', 'under 20' or a number)")


def _range_number(digits: str, text: str) -> Decimal:
    try:
        return parse_decimal(digits)
    except Invalid:
        raise Invalid(f"{show(text)} is not a range: {show(digits)} is not a number") from None


# --- the steps of one field, built once per file ---------------------------------------------------------------------

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<missing>", "__slots__": ()})()
Read = Callable[[list[str]], Any]  # a row's values -> raw text or a computed value, or MISSING
Step = Callable[[Any], Any]  # a value -> the next value, or MISSING


class MissingValues:
    """Whether stripped text means "no value": one of `values`, ignoring case (so 'null' and 'N/a' count).

    `folded` and `longest` are public so the hottest loops can inline the test instead of calling it.
    """

    __slots__ = ("folded", "longest")

    def __init__(self, values: Sequence[str]) -> None:
        self.folded = frozenset(value.casefold() for value in values)
        self.longest = max((len(value) for value in values), default=-1)

    def __call__(self, text: str) -> bool:
        return len(text) <= self.longest and text.casefold() in self.folded


def absent(values: list[str]) -> Any:
    """The reader of an optional field whose columns the file lacks."""
    return MISSING


def column_reader(position: int, is_missing: MissingValues) -> Read:
    folded, longest = is_missing.folded, is_missing.longest

    def read(values: list[str]) -> Any:
        text = values[position].strip()
        return MISSING if len(text) <= longest and text.casefold() in folded else text

    return read


def template_reader(template: str, refs: list[tuple[str, int]], is_missing: MissingValues) -> Read:
    """The template filled with the stripped columns; missing when any of them is."""

    def read(values: list[str]) -> Any:
        parts = {}
        for name, position in refs:
            text = values[position].strip()
            if is_missing(text):
                return MISSING
            parts[name] = text
        return template.format_map(parts)

    return read


def at(column: str, parse: Callable[[str], Any], text: str) -> Any:
    """`parse(text)`, a failure naming `column` (for fields that read several columns)."""
    try:
        return parse(text)
    except Invalid as error:
        raise Invalid(error.reason, column) from None


def compute_reader(
    compute: str, refs: list[tuple[str, int]], is_missing: MissingValues, formats: Sequence[str]
) -> Read:
    """`first` gives raw text (typed by the steps); `sum`, `date_and_hour` and `date_from_parts` give typed values.

    `refs` are the (name, position) of the columns the file has; the date computes need all of theirs.
    """

    def present(values: list[str]) -> list[tuple[str, str]]:
        return [(name, text) for name, position in refs if not is_missing(text := values[position].strip())]

    def first(values: list[str]) -> Any:
        return next((text for _, text in present(values)), MISSING)

    def total(values: list[str]) -> Any:
        result = MISSING  # stays missing only when every column is
        for name, text in present(values):
            number = at(name, parse_decimal, text)
            result = number if result is MISSING else result + number
        return result

    parse_date = date_parser(formats)

    def day_and_hour(values: list[str]) -> Any:
        found = present(values)
        if len(found) < 2:
            return MISSING
        (day_column, day), (hour_column, hour) = found
        return date_and_hour(at(day_column, parse_date, day), at(hour_column, parse_hour, hour))

    parsers = (parse_int, parse_month, parse_int, parse_weekday)

    def from_parts(values: list[str]) -> Any:
        found = present(values)
        if len(found) < 4:
            return MISSING
        year, month, week, weekday = (at(name, parse, text) for (name, text), parse in zip(found, parsers, strict=True))
        return date_from_parts(year, month, week, weekday)

    return {"first": first, "sum": total, "date_and_hour": day_and_hour, "date_from_parts": from_parts}[compute]


def converter(kind: str, formats: Sequence[str] = (), pick: str = "mid") -> Step:
    """Text -> a value of `kind` (any type but str)."""
    if kind == "range":
        return lambda text: parse_range(text, pick)
    if kind in ("date", "datetime"):
        return (date_parser if kind == "date" else datetime_parser)(formats)
    return {"int": parse_int, "decimal": parse_decimal, "bool": parse_bool}[kind]


def map_step(table: dict[str, str | None], keep: bool) -> Step:
    """Replace a value by its entry in `table` (keys matched ignoring case; None means missing)."""
    folded = {key.casefold(): value for key, value in table.items()}
    expected = ", ".join(list(table)[:12]) + (", …" if len(table) > 12 else "")

    def replace(text: str) -> Any:
        try:
            result = folded[text.casefold()]
        except KeyError:
            if keep:
                return text
            raise Invalid(f"unexpected value {show(text)} (expected one of {expected})") from None
        return MISSING if result is None else result

    return replace


def pattern_step(pattern: re.Pattern[str]) -> Step:
    """The pattern's one group (or whole match), found anywhere in the text; an empty group means missing."""
    group = 1 if pattern.groups else 0

    def extract(text: str) -> Any:
        match = pattern.search(text)
        if match is None:
            raise Invalid(f"{show(text)} does not match the pattern {pattern.pattern}")
        return match[group] or MISSING

    return extract


def checker(choices: Sequence[Any] = (), low: Any = None, high: Any = None, max_length: int | None = None) -> Step:
    """Choices (text ignoring case, giving the choice's spelling), bounds and length, on the typed value."""
    by_fold = {c.casefold(): c for c in choices} if choices and isinstance(choices[0], str) else None
    allowed = frozenset(choices)
    listed = ", ".join(str(c) for c in choices[:12]) + (", …" if len(choices) > 12 else "")

    def check(value: Any) -> Any:
        if by_fold is not None:
            if value.casefold() not in by_fold:
                raise Invalid(f"{show(value)} is not one of {listed}")
            value = by_fold[value.casefold()]
        elif allowed and value not in allowed:
            raise Invalid(f"{show(value)} is not one of {listed}")
        if low is not None and value < low:
            raise Invalid(f"{value} is below the minimum {low}")
        if high is not None and value > high:
            raise Invalid(f"{value} is above the maximum {high}")
        if max_length is not None and len(value) > max_length:
            raise Invalid(f"{show(value)} is {len(value)} characters long, the maximum is {max_length}")
        return value

    return check


def chain(read: Read, steps: Sequence[Step]) -> Read:
    """`read`, then each step while there is a value; just `read` when there are no steps."""
    if not steps:
        return read
    if len(steps) == 1:  # the usual case (a conversion), without the loop: this runs for every field of every row
        (step,) = steps

        def one(values: list[str]) -> Any:
            result = read(values)
            return result if result is MISSING else step(result)

        return one

    def value(values: list[str]) -> Any:
        result = read(values)
        for step in steps:
            if result is MISSING:
                break
            result = step(result)
        return result

    return value


def literal(value: Any, kind: str, formats: Sequence[str] = (), pick: str = "mid") -> Any:
    """A value written in a mapping (a default, bound or choice, as YAML typed it) as a value of `kind`."""
    if value is None or isinstance(value, list | dict) or (isinstance(value, bool) and kind not in ("bool", "str")):
        raise Invalid(f"{value!r} is not of type {kind}")
    if isinstance(value, str):
        value = value.strip()
    if kind == "str":
        return value.isoformat() if isinstance(value, date) else str(value)
    if kind == "bool":
        return value if isinstance(value, bool) else parse_bool(str(value))
    if kind in ("int", "decimal", "range"):
        if isinstance(value, str):
            number = parse_range(value, pick) if kind == "range" else parse_decimal(value)
        elif isinstance(value, int | float | Decimal):
            number = Decimal(str(value))
        else:
            raise Invalid(f"{value!r} is not of type {kind}")
        if kind == "int" and number != number.to_integral_value():
            raise Invalid(f"{value!r} is not a whole number")
        return int(number) if kind == "int" else number
    if isinstance(value, datetime):
        if kind == "datetime":
            return aware(value)
    elif isinstance(value, date):
        return value if kind == "date" else datetime.combine(value, time(), tzinfo=UTC)
    elif isinstance(value, str):
        parse = date_parser if kind == "date" else datetime_parser
        try:
            return parse(formats)(value)
        except Invalid:
            return parse(())(value)  # ISO is always understood in a mapping
    raise Invalid(f"{value!r} is not of type {kind}")
