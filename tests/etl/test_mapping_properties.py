"""Properties of row parsing: whatever a row holds, `RowParser.parse` gives typed values or `RowRejected`, never
another exception, and the conversions keep their promises (Decimals, aware UTC datetimes, the week convention)."""

import io
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl import transforms
from etl.mapping import MappingError, ParsedRow, RowParser, RowRejected, load_mapping
from etl.reading import SourceError, SourceOptions, SourceRow, open_source

STAMP_FORMATS = ["%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f%z"]
STAMP_FORMATS += ["%Y-%m-%dT%H:%M:%S.%f"]
MAPPING = load_mapping(
    {
        "name": "everything",
        "record": "claim",
        "attributes_to": "claim",
        "ignore": ["skip"],
        "fields": {
            "claim.number": {"column": "number", "required": True, "max_length": 20},
            "claim.kind": {"column": "kind", "choices": ["Auto", "Home"]},
            "claim.amount": {"column": "amount", "type": "decimal", "min": 0, "max": "1,000,000"},
            "claim.count": {"column": "count", "type": "int", "multiply": 3},
            "claim.limit": {"column": "csl", "type": "decimal", "pattern": r"^\d+/(\d+)$", "multiply": 1000},
            "claim.flag": {"column": "flag", "type": "bool", "default": False},
            "claim.day": {"column": "day", "type": "date", "format": ["%d/%m/%Y", "%Y-%m-%d"]},
            "claim.iso_day": {"column": "day", "type": "date"},
            "claim.when": {"column": "when", "type": "datetime"},
            "claim.stamp": {"column": "when", "type": "datetime", "format": STAMP_FORMATS},
            "claim.age": {"column": "age", "type": "range", "pick": "high", "max": 200},
            "claim.sex": {"column": "sex", "map": {"MALE": "M", "FEMALE": "F", "X": None}},
            "claim.level": {"column": "kind", "type": "int", "map": {"auto": 1, "home": "2"}, "map_other": "keep"},
            "claim.ref": {"template": "IC-{number}/{kind:>6}"},
            "claim.at": {"columns": ["day", "hour"], "compute": "date_and_hour", "format": "%Y-%m-%d"},
            "claim.on": {"columns": ["year", "month", "week", "weekday"], "compute": "date_from_parts"},
            "claim.total": {"columns": ["amount", "count", "hour"], "compute": "sum"},
            "claim.whole": {"columns": ["count", "hour"], "compute": "sum", "type": "int"},
            "claim.either": {"columns": ["age", "number"], "compute": "first", "type": "range"},
            "claim.status": {"const": "open"},
            "customer.attributes.hobby": {"column": "hobby", "type": "int", "min": -5},
        },
    }
)
HEADER = ["number", "kind", "amount", "count", "csl", "flag", "day", "when", "age", "sex", "hour", "year", "month"]
HEADER += ["week", "weekday", "hobby", "skip", "extra", "more"]
PARSER = RowParser(MAPPING, HEADER)

ODD = [
    "", " ", "?", "NA", "null", "N/A", "(", ")", "()", "-", "+", "$", "€", ".", ",", "1,", ",1", "1e309", "inf", "nan",
    "NaN", "-0", "0x10", "١٢٣", "²", "1_000", "9" * 40, "9" * 28, "24", "-1", "0", "23", "Feb", "Sept", "Sun", "5",
    "6", "7", "0000-00-00", "9999-12-31", "0001-01-01", "2024-02-30", "2024-13-01", "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59", "more than", "to 5", "5 to", "-5 to 5", "1 to 2 to 3", "\x00", "\ufeff", "\u2028",
    "25/01/2015", "31/12/9999", "250/500", "9" * 30 + "/" + "9" * 30, "more than 999999999999999999999999999",
    "(($1))", "$-(1)", "1,000,000.00", "1,000,000.01", "USD", "eur 1", "MALE", "x", "one", "Auto", "home", "yes",
]  # fmt: skip
TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(ODD),
    st.integers().map(str),
    st.decimals().map(str),
    st.floats().map(str),
    st.dates().map(str),
    st.datetimes(timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=-23, minutes=-59))])).map(
        datetime.isoformat
    ),
    st.from_regex(r"\(?[-+]?[$€£]?\s?\d{1,3}(,\d{3}){0,9}(\.\d{0,30})?\s?(USD|EUR)?\)?", fullmatch=True),
    st.from_regex(r"(more than |under |over )?\d{1,40}( ?(to|-) ?\d{1,40})?( years)?\+?", fullmatch=True),
    st.builds(lambda a, b, c, d: f"{a} {b} {c} {d}", st.integers(), st.integers(), st.integers(), st.text()),
)
AMOUNT = st.decimals(min_value=0, max_value=10**6, places=2).map(lambda d: f"${d:,.2f}")
PLAUSIBLE = {
    "number": st.from_regex(r"[A-Z0-9]{1,20}", fullmatch=True),
    "kind": st.sampled_from(["Auto", "home", "AUTO", ""]),
    "amount": AMOUNT,
    "count": st.integers(-(10**6), 10**6).map(lambda n: f"{n:,}"),
    "csl": st.tuples(st.integers(0, 999), st.integers(0, 10**6)).map(lambda p: f"{p[0]}/{p[1]}"),
    "flag": st.sampled_from(["Y", "no", "TRUE", "f", "1", "?"]),
    "day": st.dates().map(date.isoformat),
    "when": st.datetimes(timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=5))])).map(datetime.isoformat),
    "age": st.sampled_from(["26 to 30", "over 65", "none", "new", "3 years", "30+", "under 20", "7"]),
    "sex": st.sampled_from(["male", "FEMALE", "x", ""]),
    "hour": st.integers(0, 23).map(str),
    "year": st.integers(1, 9999).map(str),
    "month": st.sampled_from(["Jan", "february", "Sept", "12", "3"]),
    "week": st.integers(2, 4).map(str),  # weeks 2 to 4 exist in every month, whatever the weekday
    "weekday": st.sampled_from(["Mon", "tuesday", "Thurs", "Sun"]),
    "hobby": st.integers(-5, 100).map(str),
}
ROWS = st.one_of(
    st.lists(TEXT, min_size=len(HEADER), max_size=len(HEADER)),
    st.lists(TEXT, max_size=len(HEADER) + 3),
    st.tuples(*(st.one_of(PLAUSIBLE.get(name, TEXT), PLAUSIBLE.get(name, TEXT), TEXT) for name in HEADER)).map(list),
    st.tuples(*(PLAUSIBLE.get(name, TEXT) for name in HEADER)).map(list),
)


@settings(max_examples=300, deadline=None)
@given(values=ROWS, number=st.integers(min_value=2, max_value=10**9))
def test_parse_gives_typed_values_or_row_rejected_and_nothing_else(values, number):
    outcome: ParsedRow | RowRejected
    try:
        outcome = PARSER.parse(SourceRow(number, values))
    except RowRejected as rejected:
        outcome = rejected
    if isinstance(outcome, RowRejected):
        assert outcome.number == number
        assert outcome.issues
        for issue in outcome.issues:
            assert issue.reason
            assert not issue.reason.startswith("cannot read the value"), issue  # a converter missed a case
        return
    parsed = outcome
    claim = parsed.values["claim"]
    assert claim["status"] == "open"
    assert isinstance(claim["flag"], bool)
    assert claim["number"] == claim["number"].strip()
    assert len(claim["number"]) <= 20
    for name in ("amount", "limit", "age", "total", "either"):
        assert name not in claim or isinstance(claim[name], Decimal)
    for name in ("count", "whole"):
        assert name not in claim or (isinstance(claim[name], int) and not isinstance(claim[name], bool))
    for name in ("when", "stamp", "at"):
        assert name not in claim or claim[name].utcoffset() == timedelta(0)
    for name in ("day", "iso_day", "on"):
        assert name not in claim or (isinstance(claim[name], date) and not isinstance(claim[name], datetime))
    assert claim.get("kind", "Auto") in ("Auto", "Home")
    assert Decimal(0) <= claim.get("amount", 0) <= Decimal(1_000_000)
    assert set(parsed.attributes["claim"]) <= {"extra", "more"}


@settings(max_examples=300, deadline=None)
@given(problem=st.text(min_size=1), number=st.integers(min_value=2))
def test_a_row_the_reader_flagged_is_rejected_with_its_problem(problem, number):
    with pytest.raises(RowRejected) as caught:
        PARSER.parse(SourceRow(number, None, problem))

    assert [(i.column, i.reason) for i in caught.value.issues] == [("", problem)]


@settings(max_examples=300, deadline=None)
@given(
    value=st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**20), max_value=10**20),
    currency=st.sampled_from(["", "$", "$ ", "£", "€", "USD ", "EUR "]),
    suffix=st.sampled_from(["", " EUR", " GBP", "€"]),
    parentheses=st.booleans(),
    separator=st.sampled_from([",", " ", "\u00a0", "'", ""]),
)
def test_formatted_amounts_read_back_to_the_same_decimal(value, currency, suffix, parentheses, separator):
    digits = f"{abs(value):,.2f}".replace(",", separator)
    if value < 0:
        text = f"({currency}{digits})" if parentheses else f"-{currency}{digits}{suffix}"
    else:
        text = f"{currency}{digits}{suffix}"

    assert transforms.parse_decimal(text) == value


@settings(max_examples=300, deadline=None)
@given(day=st.dates())
def test_every_date_is_found_again_from_its_year_month_week_and_weekday(day):
    first = day.replace(day=1)
    week = (day.day - 1 + first.weekday()) // 7 + 1  # week 1 holds the 1st; weeks run Monday to Sunday

    assert transforms.date_from_parts(day.year, day.month, week, day.weekday()) == day
    assert 1 <= week <= 6


@settings(max_examples=300, deadline=None)
@given(low=st.integers(0, 10**12), width=st.integers(0, 10**6), unit=st.sampled_from(["", " years", " vehicles"]))
def test_a_closed_range_picks_low_mid_and_high_in_order(low, width, unit):
    text = f"{low} to {low + width}{unit}"
    picks = [transforms.parse_range(text, pick) for pick in ("low", "mid", "high")]

    assert picks == sorted(picks)
    assert picks[0] == low
    assert picks[2] == low + width
    assert picks[1] == Decimal(2 * low + width) / 2


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | st.dates() | st.datetimes(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)
USEFUL = {
    "column": st.sampled_from(["a", "b", "zz", " a "]),
    "columns": st.lists(st.sampled_from(["a", "b", "c", "d", "zz"]), min_size=1, max_size=4),
    "compute": st.sampled_from(["date_and_hour", "date_from_parts", "sum", "first"]),
    "const": st.one_of(st.text(max_size=5), st.integers(), st.floats(), st.dates()),
    "template": st.sampled_from(["IC-{a}", "{a}-{b}", "{zz}", "{a:>4}", "{}", "{a.b}", "{a!r}"]),
    "type": st.sampled_from(["str", "int", "decimal", "date", "datetime", "bool", "range"]),
    "format": st.one_of(st.sampled_from(["%Y-%m-%d", "%d/%m/%Y %z", "%H"]), st.lists(st.sampled_from(["%Y", "%d"]))),
    "map": st.dictionaries(
        st.sampled_from(["x", "X", "1", "y"]), st.one_of(st.none(), st.text(max_size=4)), max_size=3
    ),
    "map_other": st.sampled_from(["keep", "reject"]),
    "pattern": st.sampled_from([r"(\d+)", r"^(.*)$", "x", r"(\d)?"]),
    "multiply": st.one_of(st.integers(-1000, 1000), st.floats(allow_nan=False, allow_infinity=False)),
    "required": st.booleans(),
    "default": st.one_of(st.text(max_size=6), st.integers(), st.booleans(), st.dates()),
    "choices": st.lists(st.one_of(st.text(max_size=3), st.integers()), max_size=3),
    "min": st.one_of(st.integers(), st.text(max_size=10)),
    "max": st.one_of(st.integers(), st.text(max_size=10)),
    "max_length": st.integers(-1, 10),
    "pick": st.sampled_from(["low", "mid", "high", "max"]),
}
SOURCES = st.one_of(
    st.fixed_dictionaries({"column": USEFUL["column"]}),
    st.fixed_dictionaries({"columns": USEFUL["columns"], "compute": USEFUL["compute"]}),
    st.fixed_dictionaries({"const": USEFUL["const"]}),
    st.fixed_dictionaries({"template": USEFUL["template"]}),
)
EXTRAS = st.lists(st.sampled_from(sorted(set(USEFUL) - {"column", "columns", "compute", "const", "template"})))
EXTRAS = EXTRAS.map(lambda keys: keys[:3]).flatmap(
    lambda keys: st.fixed_dictionaries({key: st.one_of(USEFUL[key], USEFUL[key], USEFUL[key], JSONISH) for key in keys})
)
STRUCTURED = st.builds(lambda source, extras: extras | source, SOURCES, EXTRAS)
SPECS = st.one_of(
    STRUCTURED,
    STRUCTURED,
    STRUCTURED,
    st.fixed_dictionaries({}, optional={key: st.one_of(value, JSONISH) for key, value in USEFUL.items()}),
)


@settings(max_examples=300, deadline=None)
@given(
    fields=st.dictionaries(
        st.sampled_from(["claim.x", "claim.y", "policy.z", "claim.attributes.k", "claim", "a.b.c", "1.x"]),
        st.one_of(SPECS, SPECS, JSONISH),
        min_size=1,
        max_size=3,
    ),
    rows=st.lists(st.lists(TEXT, min_size=4, max_size=4), max_size=3),
)
def test_any_mapping_loads_or_raises_mapping_error_and_then_parses_or_rejects(fields, rows):
    """The loader's checks hold: whatever a mapping file says, it fails as a MappingError or it works on rows."""
    try:
        parser = RowParser(load_mapping({"name": "fuzz", "record": "claim", "fields": fields}), ["a", "b", "c", "d"])
    except MappingError:
        return
    for number, values in enumerate(rows, start=2):
        outcome: ParsedRow | RowRejected
        try:
            outcome = parser.parse(SourceRow(number, values))
        except RowRejected as rejected:
            outcome = rejected
        if isinstance(outcome, RowRejected):
            assert all(not issue.reason.startswith("cannot read the value") for issue in outcome.issues), outcome


def _csv_cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\r\n') else value


CSV_FILES = st.one_of(
    st.binary(max_size=400),  # anything at all, encodings and quotes included
    st.lists(ROWS, max_size=6).map(
        lambda rows: "\n".join(",".join(map(_csv_cell, row)) for row in [HEADER, *rows]).encode(
            "utf-8", "surrogatepass"
        )
    ),
    st.tuples(st.lists(ROWS, max_size=6), st.binary(max_size=40)).map(
        lambda parts: (
            "\r\n".join(",".join(row) for row in [HEADER, *parts[0]]).encode("utf-8", "surrogatepass") + parts[1]
        )
    ),
)


@settings(max_examples=300, deadline=None)
@given(content=CSV_FILES, prefix=st.sampled_from([b"", b"\xef\xbb\xbf", b"\n\n"]))
def test_any_csv_file_is_read_and_parsed_row_by_row_or_refused_as_a_whole(content, prefix):
    """The importer end to end, reader and parser: a file is refused with a `SourceError`, or each of its rows is
    parsed or rejected with its row number. Nothing else may escape, whatever bytes arrive."""
    refusal: Exception | None = None
    outcomes: list[tuple[int, ParsedRow | RowRejected]] = []
    try:
        with open_source(io.BytesIO(prefix + content), SourceOptions(format="csv")) as source:
            parser = RowParser(MAPPING, source.header)
            for row in source:
                try:
                    outcomes.append((row.number, parser.parse(row)))
                except RowRejected as rejected:
                    outcomes.append((row.number, rejected))
    except (SourceError, MappingError) as refused:
        refusal = refused
    if refusal is not None:
        assert str(refusal)  # a whole-file refusal says why
        return
    numbers = [number for number, _ in outcomes]
    assert numbers == sorted(set(numbers))
    for number, outcome in outcomes:
        if isinstance(outcome, RowRejected):
            assert outcome.number == number
            assert outcome.issues
