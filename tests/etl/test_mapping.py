"""Mapping files and row parsing: a mapping is checked in full when loaded, and each row becomes typed values per
entity or one rejection naming every problem, with the column and the reason. No database."""

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from etl.mapping import (
    DEFAULT_MISSING,
    Mapping,
    MappingError,
    ParsedRow,
    RowIssue,
    RowParser,
    RowRejected,
    load_mapping,
)
from etl.reading import SourceOptions, SourceRow

EXAMPLE = r"""
name: insurance_claims
description: Auto claims export with fraud labels.
source: {format: csv, delimiter: ",", encoding: auto}
missing: ["", "?"]
record: claim
attributes_to: claim
ignore: [_c39]
fields:
  policy.number: {column: policy_number, required: true}
  policy.effective_date: {column: policy_bind_date, type: date, format: "%Y-%m-%d"}
  coverage.limit: {column: policy_csl, type: decimal, pattern: '^\d+/(\d+)$', multiply: 1000}
  customer.external_reference: {template: "IC-{policy_number}", required: true}
  customer.sex: {column: insured_sex, map: {MALE: M, FEMALE: F}}
  claim.police_report_filed: {column: police_report_available, type: bool, default: false}
  claim.incident_at: {columns: [incident_date, incident_hour_of_the_day], compute: date_and_hour, format: "%Y-%m-%d"}
  claim.incident_date: {columns: [Year, Month, WeekOfMonth, DayOfWeek], compute: date_from_parts}
  claim.age_of_vehicle: {column: AgeOfVehicle, type: range, pick: mid}
  claim.amount_claimed: {column: total, type: decimal}
  claim.status: {const: closed}
  customer.attributes.hobbies: {column: insured_hobbies}
"""
EXAMPLE_ROW = {
    "policy_number": " 521585 ",
    "policy_bind_date": "2014-10-17",
    "policy_csl": "250/500",
    "insured_sex": "male",
    "police_report_available": "?",
    "incident_date": "2015-01-25",
    "incident_hour_of_the_day": "5",
    "Year": "1994",
    "Month": "Dec",
    "WeekOfMonth": "5",
    "DayOfWeek": "Wednesday",
    "AgeOfVehicle": "3 to 4 years",
    "total": "$71,610.50",
    "insured_hobbies": "chess",
    "collision_type": "Rear Collision",
    "authorities_contacted": "?",
    "_c39": "",
}


def example(tmp_path: Path) -> Mapping:
    path = tmp_path / "insurance_claims.yaml"
    path.write_text(EXAMPLE)
    return load_mapping(path)


def parse(fields: dict[str, Any], row: dict[str, str], **top: Any) -> ParsedRow:
    mapping = load_mapping({"name": "test", "record": "claim", "fields": fields, **top})
    return RowParser(mapping, list(row)).parse(SourceRow(2, list(row.values())))


def issues(fields: dict[str, Any], row: dict[str, str], **top: Any) -> list[tuple[str, str]]:
    with pytest.raises(RowRejected) as caught:
        parse(fields, row, **top)
    assert caught.value.number == 2
    return [(issue.column, issue.reason) for issue in caught.value.issues]


def value(spec: dict[str, Any], text: str) -> Any:
    """The value of one field read from one column 'c' holding `text`; None when the field is left out."""
    return parse({"claim.x": {"column": "c", **spec}}, {"c": text}).values["claim"].get("x")


def reason(spec: dict[str, Any], text: str) -> str:
    [(column, why)] = issues({"claim.x": {"column": "c", **spec}}, {"c": text})
    assert column == "c"
    return why


def mapping_error(fields: dict[str, Any] | None = None, **top: Any) -> str:
    fields = {"claim.x": {"column": "c"}} if fields is None else fields
    data = {"name": "test", "record": "claim", "fields": fields, **top}
    with pytest.raises(MappingError) as caught:
        load_mapping(data)
    return str(caught.value)


# --- loading ---------------------------------------------------------------------------------------------------------


def test_the_example_mapping_loads_from_yaml(tmp_path):
    mapping = example(tmp_path)

    assert mapping.name == "insurance_claims"
    assert mapping.description == "Auto claims export with fraud labels."
    assert mapping.source == SourceOptions(format="csv", delimiter=",", encoding="auto")
    assert mapping.missing == ("", "?")
    assert (mapping.record, mapping.attributes_to, mapping.ignore) == ("claim", "claim", frozenset({"_c39"}))
    assert mapping.entities == ("claim", "policy", "coverage", "customer")
    assert len(mapping.fields) == 12
    assert json.loads(json.dumps(mapping.raw))["fields"]["claim.status"] == {"const": "closed"}


def test_a_json_mapping_and_a_dict_load_the_same_way(tmp_path):
    data = {"name": "claims", "record": "claim", "fields": {"claim.number": {"column": "no", "required": True}}}
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(data))

    assert load_mapping(path) == load_mapping(data)
    assert load_mapping(data).missing == DEFAULT_MISSING == ("", "?", "NA", "N/A", "NULL")
    assert load_mapping(data).attributes_to == "claim"


def test_a_mapping_file_without_a_name_is_named_after_the_file(tmp_path):
    path = tmp_path / "legacy_policies.yaml"
    path.write_text("record: policy\nfields:\n  policy.number: number\n")

    mapping = load_mapping(path)

    assert mapping.name == "legacy_policies"
    assert mapping.fields[0].column == "number"  # the shorthand `key: column`


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("record: [unclosed", "the mapping bad.yaml is not valid YAML"),
        ("- a list", "a mapping must be a set of keys: name, record, fields, ..."),
        (
            "record: claim\nfields:\n  claim.sex: {column: sex, map: {yes: Y, no: N}}",
            "claim.sex: map key True is not text",
        ),
        ("record: claim\nmissing: [NA, null]\nfields: {claim.x: c}", "missing: None is not text (quote it in YAML)"),
    ],
)
def test_a_bad_mapping_file_says_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_text(content)

    with pytest.raises(MappingError) as caught:
        load_mapping(path)

    assert str(caught.value).startswith(message)


def test_a_missing_mapping_file_says_so(tmp_path):
    with pytest.raises(MappingError, match=r"cannot read the mapping .*nowhere\.yaml: No such file or directory"):
        load_mapping(tmp_path / "nowhere.yaml")


@pytest.mark.parametrize(
    ("top", "message"),
    [
        ({"recrod": "claim"}, "the mapping: unknown key 'recrod' (known: name, description, source, missing, record, "),
        ({"name": " "}, "name: required, the mapping's name as text"),
        ({"record": None}, "record: None is not a name such as claim or policy"),
        ({"attributes_to": "claim-1"}, "attributes_to: 'claim-1' is not a name such as claim or policy"),
        ({"fields": {}}, "fields: required, a set of '<entity>.<field>: {column: ...}' entries"),
        ({"ignore": "_c39"}, "ignore: must be a list"),
        ({"source": {"delimiter": ";;"}}, "source.delimiter: ';;' is not one character"),
        ({"source": {"encoding": "klingon"}}, "source.encoding: 'klingon' is not an encoding (use auto, utf-8 or "),
        ({"source": {"format": "xls"}}, "source.format: 'xls' is not csv or xlsx"),
        ({"source": {"sheets": "A"}}, "source: unknown key 'sheets' (known: format, delimiter, encoding, sheet)"),
    ],
)
def test_bad_top_level_keys_are_named(top, message):
    assert mapping_error(**top).startswith(message)


@pytest.mark.parametrize(
    ("key", "spec", "message"),
    [
        ("claim", {"column": "c"}, "claim: a field key is <entity>.<field> or <entity>.attributes.<key>"),
        ("claim.amount.total", {"column": "c"}, "claim.amount.total: a field key is <entity>.<field> or "),
        ("claim.attributes", {"column": "c"}, "claim.attributes: name the attribute: <entity>.attributes.<key>"),
        ("claim.x", {"colum": "c"}, "claim.x: unknown key 'colum' (known: column, columns, compute, "),
        (
            "claim.x",
            {"column": "c", "const": 1},
            "claim.x: needs exactly one of column, columns (with compute), const ",
        ),
        ("claim.x", {"type": "int"}, "claim.x: needs exactly one of column, columns (with compute), const or template"),
        ("claim.x", {"columns": ["a", "b"]}, "claim.x: columns and compute go together"),
        ("claim.x", {"columns": ["a"], "compute": "avg"}, "claim.x: unknown compute 'avg' (known: date_and_hour, "),
        ("claim.x", {"columns": ["a"], "compute": "date_and_hour"}, "claim.x: compute date_and_hour needs 2 columns, "),
        ("claim.x", {"columns": ["a", "b"], "compute": "sum", "type": "date"}, "claim.x: compute sum gives a decimal "),
        ("claim.x", {"columns": ["a", "b"], "compute": "sum", "map": {"a": "b"}}, "claim.x: map does not apply to "),
        (
            "claim.x",
            {"column": "c", "type": "money"},
            "claim.x: unknown type 'money' (known: str, int, decimal, date, ",
        ),
        ("claim.x", {"column": "c", "format": "%d/%m/%Y"}, "claim.x: format applies to type date or datetime, not str"),
        ("claim.x", {"column": "c", "type": "date", "format": "dd/mm"}, "claim.x: format must be a strftime format "),
        ("claim.x", {"column": "c", "type": "int", "max_length": 3}, "claim.x: max_length applies to type str, not "),
        (
            "claim.x",
            {"column": "c", "multiply": 10},
            "claim.x: multiply applies to type int or decimal or range, not str",
        ),
        ("claim.x", {"column": "c", "type": "int", "multiply": 0.5}, "claim.x: multiply must be a whole number for "),
        ("claim.x", {"column": "c", "type": "range", "pick": "max"}, "claim.x: pick must be one of low, mid, high"),
        ("claim.x", {"column": "c", "required": "yes"}, "claim.x: required must be true or false"),
        ("claim.x", {"column": "c", "pattern": "(a"}, "claim.x: pattern '(a' is not a regular expression: "),
        ("claim.x", {"column": "c", "pattern": r"(\d)/(\d)"}, "claim.x: pattern '(\\d)/(\\d)' must be a regular "),
        ("claim.x", {"column": "c", "map": {"M": "Male", "m": "male"}}, "claim.x: map keys 'M' and 'm' are the same "),
        ("claim.x", {"column": "c", "map": {"M": [1]}}, "claim.x: map value [1] for 'M' must be text, a whole number"),
        ("claim.x", {"column": "c", "map_other": "keep"}, "claim.x: map_other is keep or reject, and goes with a map"),
        ("claim.x", {"column": "c", "type": "int", "default": "many"}, "claim.x: default: 'many' is not a number"),
        ("claim.x", {"column": "c", "choices": ["A"], "default": "B"}, "claim.x: default: 'B' is not one of A"),
        (
            "claim.x",
            {"column": "c", "type": "int", "min": 5, "default": 1},
            "claim.x: default: 1 is below the minimum 5",
        ),
        ("claim.x", {"column": "c", "default": None}, "claim.x: default needs a value, and a const needs no default"),
        ("claim.x", {"column": "c", "type": "date", "min": "soon"}, "claim.x: min: 'soon' is not a date (expected "),
        ("claim.x", {"column": " "}, "claim.x: column ' ' is not a column name"),
        ("claim.x", {"template": "IC-{}"}, "claim.x: template 'IC-{}' must name columns in braces, such as "),
        ("claim.x", {"template": "IC-{a.upper}"}, "claim.x: template 'IC-{a.upper}' must name columns in braces"),
        ("claim.x", {"template": "IC-{a:d}"}, "claim.x: template 'IC-{a:d}' does not format text: "),
        ("claim.x", {"template": "IC-{a"}, "claim.x: template 'IC-{a': "),
        ("claim.x", {"const": None}, "claim.x: const: None is not a value"),
        ("claim.x", 12, "claim.x: must be a set of keys such as {column: name}"),
    ],
)
def test_bad_field_specs_are_named_by_their_key(key, spec, message):
    assert mapping_error({key: spec}).startswith(message)


# --- the example, end to end -----------------------------------------------------------------------------------------


def test_the_example_row_parses_into_typed_values_per_entity(tmp_path):
    parser = RowParser(example(tmp_path), list(EXAMPLE_ROW))

    parsed = parser.parse(SourceRow(7, list(EXAMPLE_ROW.values())))

    assert parsed.number == 7
    assert parsed.values == {
        "policy": {"number": "521585", "effective_date": date(2014, 10, 17)},
        "coverage": {"limit": Decimal("500000")},
        "customer": {"external_reference": "IC-521585", "sex": "M"},
        "claim": {
            "police_report_filed": False,  # "?" is missing, so the default
            "incident_at": datetime(2015, 1, 25, 5, tzinfo=UTC),
            "incident_date": date(1994, 12, 28),
            "age_of_vehicle": Decimal("3.5"),
            "amount_claimed": Decimal("71610.50"),
            "status": "closed",
        },
    }
    assert parsed.attributes == {
        "claim": {"collision_type": "Rear Collision"},  # not authorities_contacted ("?") nor the ignored _c39
        "policy": {},
        "coverage": {},
        "customer": {"hobbies": "chess"},
    }


def test_a_bad_row_is_rejected_with_every_problem_it_has(tmp_path):
    parser = RowParser(example(tmp_path), list(EXAMPLE_ROW))
    bad = EXAMPLE_ROW | {
        "policy_number": "",
        "policy_bind_date": "17/10/2014",
        "policy_csl": "250-500",
        "insured_sex": "X",
        "police_report_available": "maybe",
        "incident_hour_of_the_day": "24",
        "DayOfWeek": "Someday",
        "AgeOfVehicle": "old",
        "total": "12,50",
    }

    with pytest.raises(RowRejected) as caught:
        parser.parse(SourceRow(9, list(bad.values())))

    assert caught.value.number == 9
    assert caught.value.issues == [
        RowIssue("policy_number", "required", "policy.number"),
        RowIssue("policy_bind_date", "'17/10/2014' is not a date (expected %Y-%m-%d)", "policy.effective_date"),
        RowIssue("policy_csl", r"'250-500' does not match the pattern ^\d+/(\d+)$", "coverage.limit"),
        RowIssue("customer.external_reference", "required", "customer.external_reference"),
        RowIssue("insured_sex", "unexpected value 'X' (expected one of MALE, FEMALE)", "customer.sex"),
        RowIssue(
            "police_report_available",
            "'maybe' is not yes or no (expected Y/N, YES/NO, TRUE/FALSE, T/F or 1/0)",
            "claim.police_report_filed",
        ),
        RowIssue("incident_hour_of_the_day", "'24' is not an hour of the day (0 to 23)", "claim.incident_at"),
        RowIssue(
            "DayOfWeek",
            "'Someday' is not a day of the week (expected a name such as Monday or Mon)",
            "claim.incident_date",
        ),
        RowIssue(
            "AgeOfVehicle",
            "'old' is not a range (expected e.g. '26 to 30', 'more than 30', 'under 20' or a number)",
            "claim.age_of_vehicle",
        ),
        RowIssue("total", "'12,50' is not a number", "claim.amount_claimed"),
    ]
    assert str(caught.value).startswith("row 9: policy_number: required; policy_bind_date: '17/10/2014' is not")


def test_a_row_the_reader_could_not_read_is_rejected_with_its_problem(tmp_path):
    parser = RowParser(example(tmp_path), list(EXAMPLE_ROW))

    with pytest.raises(RowRejected) as caught:
        parser.parse(SourceRow(4, None, "contains a NUL byte: binary data or a damaged export"))

    assert caught.value.issues == [RowIssue("", "contains a NUL byte: binary data or a damaged export")]


def test_a_row_of_the_wrong_length_is_rejected(tmp_path):
    parser = RowParser(example(tmp_path), list(EXAMPLE_ROW))

    with pytest.raises(RowRejected) as caught:
        parser.parse(SourceRow(4, ["1", "2"]))

    assert caught.value.issues == [RowIssue("", "has 2 values, the header has 17")]


def test_a_file_without_a_required_column_is_refused_before_any_row(tmp_path):
    header = [name for name in EXAMPLE_ROW if name != "policy_number"]

    with pytest.raises(MappingError) as caught:
        RowParser(example(tmp_path), header)

    assert str(caught.value).startswith(
        "mapping insurance_claims: the file has no column 'policy_number' (for policy.number), "
        "'policy_number' (for customer.external_reference); its columns are policy_bind_date, policy_csl, "
    )


def test_optional_columns_the_file_lacks_are_simply_missing(tmp_path):
    row = {k: v for k, v in EXAMPLE_ROW.items() if k not in ("insured_sex", "police_report_available", "Year")}

    parsed = RowParser(example(tmp_path), list(row)).parse(SourceRow(2, list(row.values())))

    assert "sex" not in parsed.values["customer"]
    assert "incident_date" not in parsed.values["claim"]  # one of its four columns is absent
    assert parsed.values["claim"]["police_report_filed"] is False


# --- missing values, defaults, required ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "?", "NA", "n/a", "null", "Null"])
def test_the_default_missing_values_are_missing_whatever_their_case(text):
    assert value({"type": "int"}, text) is None
    assert value({"type": "int", "default": 7}, text) == 7
    assert reason({"type": "int", "required": True}, text) == "required"


def test_a_mapping_lists_its_own_missing_values():
    assert parse({"claim.x": "c"}, {"c": "-"}, missing=["-"]).values["claim"] == {}
    assert parse({"claim.x": "c"}, {"c": "NA"}, missing=["-"]).values["claim"] == {"x": "NA"}


# --- types -----------------------------------------------------------------------------------------------------------


def test_str_values_are_stripped_and_checked():
    assert value({}, "  Rear Collision ") == "Rear Collision"
    assert value({"choices": ["Minor", "Major"]}, "major") == "Major"
    assert reason({"choices": ["Minor", "Major"]}, "Total") == "'Total' is not one of Minor, Major"
    assert reason({"max_length": 3}, "abcd") == "'abcd' is 4 characters long, the maximum is 3"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.50", Decimal("1234.50")),
        ("1,234.50", Decimal("1234.50")),
        ("$1,234.50", Decimal("1234.50")),
        ("$ 1,234", Decimal("1234")),
        ("£12", Decimal("12")),
        ("12 €", Decimal("12")),
        ("USD 12.5", Decimal("12.5")),
        ("12 eur", Decimal("12")),
        ("GBP1,000,000", Decimal("1000000")),
        ("1 234", Decimal("1234")),
        ("€ 1\u00a0234\u00a0567.5", Decimal("1234567.5")),
        ("1'234.50", Decimal("1234.50")),
        ("(123.45)", Decimal("-123.45")),
        ("($5)", Decimal("-5")),
        ("-123", Decimal("-123")),
        ("-$123", Decimal("-123")),
        ("$-123", Decimal("-123")),
        ("+7", Decimal("7")),
        (".5", Decimal("0.5")),
        ("  42  ", Decimal("42")),
    ],
)
def test_decimals_read_currency_thousands_and_negatives_and_are_never_float(text, expected):
    result = value({"type": "decimal"}, text)

    assert result == expected
    assert isinstance(result, Decimal)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("12,50", "'12,50' is not a number"),  # a European decimal comma is refused, not read as 1250
        ("1,2345", "'1,2345' is not a number"),
        ("1,234 567", "'1,234 567' is not a number"),  # one separator per number
        ("12 34", "'12 34' is not a number"),
        ("1e5", "'1e5' is not a number"),
        ("--5", "'--5' is not a number"),
        ("-(5)", "'-(5)' is not a number"),
        ("(-5)", "'(-5)' is not a number"),
        ("NaN", "'NaN' is not a number"),
        ("12 apples", "'12 apples' is not a number"),
        ("١٢", "'١٢' is not a number"),
        ("9" * 29, "'99999999999999999999999999999' has more than 28 digits"),
    ],
)
def test_text_that_is_not_a_plain_number_is_refused(text, message):
    assert reason({"type": "decimal"}, text) == message


def test_ints_accept_whole_numbers_in_any_number_form():
    assert value({"type": "int"}, "1,200") == 1200
    assert value({"type": "int"}, "12.0") == 12
    assert value({"type": "int"}, "(3)") == -3
    assert reason({"type": "int"}, "12.5") == "'12.5' is not a whole number"


def test_numbers_are_multiplied_and_bounded():
    assert value({"type": "decimal", "multiply": 1000}, "250") == Decimal("250000")
    assert value({"type": "decimal", "multiply": 0.01}, "250") == Decimal("2.50")
    assert value({"type": "int", "multiply": 12}, "3") == 36
    assert reason({"type": "int", "min": 0}, "-1") == "-1 is below the minimum 0"
    assert reason({"type": "decimal", "max": "1,000"}, "1000.01") == "1000.01 is above the maximum 1000"
    assert reason({"type": "int", "choices": [1, 2, 4]}, "3") == "'3' is not one of 1, 2, 4"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *[("Y", True), ("yes", True), ("TRUE", True), ("t", True), ("1", True)],
        *[("n", False), ("No", False), ("false", False), ("F", False), ("0", False)],
    ],
)
def test_bools(text, expected):
    assert value({"type": "bool"}, text) is expected


def test_dates_read_iso_by_default_or_the_formats_given_in_order():
    assert value({"type": "date"}, "2024-05-31") == date(2024, 5, 31)
    assert value({"type": "date", "format": "%d/%m/%Y"}, "31/05/2024") == date(2024, 5, 31)
    formats = ["%d/%m/%Y", "%Y-%m-%d", "%d %b %Y"]
    assert [value({"type": "date", "format": formats}, t) for t in ("1/2/2024", "2024-2-1", "1 Feb 2024")] == [
        date(2024, 2, 1)
    ] * 3
    assert reason({"type": "date"}, "31/05/2024") == "'31/05/2024' is not a date (expected YYYY-MM-DD)"
    assert reason({"type": "date"}, "2024-02-30") == "'2024-02-30' is not a date (expected YYYY-MM-DD)"
    assert (
        reason({"type": "date", "format": formats}, "May 31")
        == "'May 31' is not a date (expected %d/%m/%Y or %Y-%m-%d or %d %b %Y)"
    )
    assert reason({"type": "date", "min": "2000-01-01"}, "1999-12-31") == "1999-12-31 is below the minimum 2000-01-01"


def test_datetimes_are_aware_and_in_utc():
    assert value({"type": "datetime"}, "2024-05-31T14:30:00") == datetime(2024, 5, 31, 14, 30, tzinfo=UTC)
    plus_two = value({"type": "datetime"}, "2024-05-31 14:30+02:00")
    assert plus_two == datetime(2024, 5, 31, 12, 30, tzinfo=UTC)
    assert plus_two.tzinfo == UTC
    assert value({"type": "datetime", "format": "%d/%m/%Y %H:%M %z"}, "31/05/2024 14:30 -0100") == datetime(
        2024, 5, 31, 15, 30, tzinfo=UTC
    )
    assert value({"type": "datetime"}, "2024-05-31") == datetime(2024, 5, 31, tzinfo=UTC)
    assert reason({"type": "datetime"}, "yesterday") == (
        "'yesterday' is not a date and time (expected ISO 8601, e.g. 2024-05-31T14:30:00)"
    )


@pytest.mark.parametrize(
    ("text", "low", "mid", "high"),
    [
        ("26 to 30", 26, 28, 30),
        ("26-30", 26, 28, 30),
        ("26 - 30", 26, 28, 30),
        ("2 to 3 years", 2, "2.5", 3),
        ("20,000 to 29,000", 20000, 24500, 29000),
        ("more than 30", 30, 30, 30),
        ("over 65", 65, 65, 65),
        ("30+", 30, 30, 30),
        ("less than 20", 20, 20, 20),
        ("Under 20", 20, 20, 20),
        ("none", 0, 0, 0),
        ("New", 0, 0, 0),
        ("2 years", 2, 2, 2),
        ("1 vehicle", 1, 1, 1),
        ("7", 7, 7, 7),
        ("2.5", "2.5", "2.5", "2.5"),
    ],
)
def test_ranges_give_one_decimal_by_pick(text, low, mid, high):
    picks = {pick: value({"type": "range", "pick": pick}, text) for pick in ("low", "mid", "high")}

    assert picks == {"low": Decimal(str(low)), "mid": Decimal(str(mid)), "high": Decimal(str(high))}
    assert value({"type": "range"}, text) == picks["mid"]  # mid is the default
    assert all(isinstance(result, Decimal) for result in picks.values())


def test_ranges_that_cannot_be_read():
    assert reason({"type": "range"}, "30 to 26") == "'30 to 26' is a range from high to low"
    assert reason({"type": "range"}, "some") == (
        "'some' is not a range (expected e.g. '26 to 30', 'more than 30', 'under 20' or a number)"
    )
    assert value({"type": "range", "multiply": 1000, "max": 100000}, "20 to 30") == Decimal("25000")


# --- map, pattern, template, const -----------------------------------------------------------------------------------


def test_map_matches_ignoring_case_and_refuses_other_values_unless_kept():
    spec = {"map": {"MALE": "M", "Female": "F", "unknown": None}}

    assert value(spec, " male ") == "M"
    assert value(spec, "FEMALE") == "F"
    assert value(spec, "Unknown") is None  # mapped to null: missing
    assert value(spec | {"default": "U"}, "unknown") == "U"
    assert reason(spec, "X") == "unexpected value 'X' (expected one of MALE, Female, unknown)"
    assert value(spec | {"map_other": "keep"}, "X") == "X"


def test_map_feeds_the_type_conversion():
    assert value({"type": "bool", "map": {"police": "yes", "none": "no"}}, "Police") is True
    assert value({"type": "int", "map": {"one": 1, "two": 2}}, "TWO") == 2


def test_pattern_extracts_its_group_before_the_conversion():
    spec = {"type": "decimal", "pattern": r"^\d+/(\d+)$", "multiply": 1000}

    assert value(spec, "250/500") == Decimal("500000")
    assert value({"pattern": r"[A-Z]{2}\d+"}, "ref: AB123 (old)") == "AB123"
    assert value({"pattern": r"^(\d*)/"}, "/500") is None  # an empty group is missing
    assert reason(spec, "250") == r"'250' does not match the pattern ^\d+/(\d+)$"


def test_templates_fill_in_stripped_columns_and_are_missing_when_a_column_is():
    fields = {"customer.ref": {"template": "IC-{policy number}-{state}"}}

    assert parse(fields, {"policy number": " 12 ", "state": "OH"}).values["customer"] == {"ref": "IC-12-OH"}
    assert parse(fields, {"policy number": "12", "state": "?"}).values["customer"] == {}
    required = {"customer.ref": {"template": "IC-{policy number}", "required": True}}
    assert issues(required, {"policy number": ""}) == [("customer.ref", "required")]


def test_consts_keep_their_yaml_type_or_take_the_field_type():
    fields = {
        "claim.status": {"const": "closed"},
        "claim.priority": {"const": 2},
        "claim.rate": {"const": 0.25},
        "claim.flagged": {"const": "no", "type": "bool"},
        "claim.since": {"const": "2024-01-01", "type": "date"},
    }

    assert parse(fields, {"c": "x"}).values["claim"] == {
        "status": "closed",
        "priority": 2,
        "rate": Decimal("0.25"),
        "flagged": False,
        "since": date(2024, 1, 1),
    }


# --- computes --------------------------------------------------------------------------------------------------------


def at(spec: dict[str, Any], row: dict[str, str]) -> Any:
    return parse({"claim.x": spec}, row).values["claim"].get("x")


def test_date_and_hour_gives_an_aware_utc_datetime():
    spec = {"columns": ["day", "hour"], "compute": "date_and_hour", "format": "%d/%m/%Y"}

    assert at(spec, {"day": "25/01/2015", "hour": "0"}) == datetime(2015, 1, 25, 0, tzinfo=UTC)
    assert at(spec, {"day": "25/01/2015", "hour": "23"}).utcoffset() == timedelta(0)
    assert at(spec, {"day": "25/01/2015", "hour": "?"}) is None
    assert issues({"claim.x": spec}, {"day": "2015-01-25", "hour": "5"}) == [
        ("day", "'2015-01-25' is not a date (expected %d/%m/%Y)")
    ]
    assert issues({"claim.x": spec}, {"day": "25/01/2015", "hour": "7.5"}) == [
        ("hour", "'7.5' is not an hour of the day (0 to 23)")
    ]


@pytest.mark.parametrize(
    ("year", "month", "week", "weekday", "expected"),
    [
        ("2024", "May", "1", "Wednesday", date(2024, 5, 1)),  # May 2024 starts on a Wednesday
        ("2024", "may", "1", "Sun", date(2024, 5, 5)),
        ("2024", "5", "2", "Mon", date(2024, 5, 6)),
        ("2024", "Sept", "1", "Sunday", date(2024, 9, 1)),  # a Sunday 1st: week 1 is that one day
        ("2024", "September", "6", "Monday", date(2024, 9, 30)),  # so this month reaches a sixth week
        ("1994", "Dec", "5", "Wednesday", date(1994, 12, 28)),
        ("2023", "Feb", "1", "Wed", date(2023, 2, 1)),
        ("2023", "feb", "5", "Tues", date(2023, 2, 28)),
    ],
)
def test_date_from_parts_counts_weeks_monday_to_sunday_from_the_week_of_the_1st(year, month, week, weekday, expected):
    spec = {"columns": ["Year", "Month", "WeekOfMonth", "DayOfWeek"], "compute": "date_from_parts"}

    assert at(spec, {"Year": year, "Month": month, "WeekOfMonth": week, "DayOfWeek": weekday}) == expected


@pytest.mark.parametrize(
    ("parts", "column", "message"),
    [
        (("2024", "May", "1", "Monday"), "Year, Month, WeekOfMonth, DayOfWeek", "week 1 of May 2024 has no Monday"),
        (("2023", "Feb", "5", "Wed"), "Year, Month, WeekOfMonth, DayOfWeek", "week 5 of February 2023 has no Wed"),
        (("2024", "Mai", "1", "Mon"), "Month", "'Mai' is not a month (expected 1 to 12 or a name such as Jan)"),
        (("2024", "13", "1", "Mon"), "Month", "'13' is not a month (expected 1 to 12 or a name such as Jan)"),
        (("2024", "May", "7", "Mon"), "Year, Month, WeekOfMonth, DayOfWeek", "7 is not a week of the month"),
        (("2024", "May", "1", "Mo"), "DayOfWeek", "'Mo' is not a day of the week (expected a name such as Monday"),
        (("0", "May", "1", "Mon"), "Year, Month, WeekOfMonth, DayOfWeek", "0 is not a year (expected 1 to 9999)"),
        (("MMXXIV", "May", "1", "Mon"), "Year", "'MMXXIV' is not a number"),
    ],
)
def test_date_from_parts_refuses_days_outside_the_month_and_unknown_names(parts, column, message):
    columns = ["Year", "Month", "WeekOfMonth", "DayOfWeek"]
    spec = {"columns": columns, "compute": "date_from_parts"}

    [(got_column, got_reason)] = issues({"claim.x": spec}, dict(zip(columns, parts, strict=True)))

    assert got_column == column
    assert got_reason.replace("Wednesday", "Wed").startswith(message)


def test_sum_adds_columns_counting_missing_as_zero_unless_all_are_missing():
    spec = {"columns": ["injury", "property", "vehicle"], "compute": "sum"}

    assert at(spec, {"injury": "6,510", "property": "?", "vehicle": "$52,080.50"}) == Decimal("58590.50")
    assert at(spec, {"injury": "", "property": "?", "vehicle": "NA"}) is None
    assert at(spec | {"type": "int"}, {"injury": "1", "property": "2", "vehicle": "3"}) == 6
    assert issues({"claim.x": spec}, {"injury": "1", "property": "lots", "vehicle": "3"}) == [
        ("property", "'lots' is not a number")
    ]


def test_first_takes_the_first_present_column_then_the_type():
    spec = {"columns": ["mobile", "home"], "compute": "first", "type": "int"}

    assert at(spec, {"mobile": "?", "home": "0123"}) == 123
    assert at(spec, {"mobile": "", "home": ""}) is None
    assert at(spec, {"home": "7"}) == 7  # a first whose other column the file lacks


# --- attributes ------------------------------------------------------------------------------------------------------


def test_unnamed_columns_go_to_the_attributes_of_one_entity_and_ignored_ones_nowhere():
    fields = {"claim.number": "no", "customer.attributes.hobby": {"column": "hobbies"}}
    row = {"no": "C1", "hobbies": "chess", "colour": " red ", "blank": "", "legacy_id": "9"}

    parsed = parse(fields, row, attributes_to="customer", ignore=["legacy_id"])

    assert parsed.values == {"claim": {"number": "C1"}, "customer": {}}
    assert parsed.attributes == {"claim": {}, "customer": {"hobby": "chess", "colour": "red"}}


def test_explicit_attributes_are_typed_and_win_over_a_column_of_the_same_name():
    fields = {"claim.number": "no", "claim.attributes.witnesses": {"column": "witness_count", "type": "int"}}

    parsed = parse(fields, {"no": "C1", "witness_count": "2", "witnesses": "two"})

    assert parsed.attributes["claim"] == {"witnesses": 2}


def test_entities_come_from_the_record_the_fields_and_attributes_to():
    mapping = load_mapping(
        {"name": "x", "record": "claim", "attributes_to": "vehicle", "fields": {"policy.number": "p", "claim.n": "c"}}
    )

    assert mapping.entities == ("claim", "policy", "vehicle")


def test_a_timezone_other_than_utc_in_a_default_is_converted():
    spec = {"type": "datetime", "default": datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))}

    assert value(spec, "") == datetime(2024, 1, 1, 10, tzinfo=UTC)


def test_only_mappings_whose_batches_never_share_a_row_are_written_in_parallel():
    from etl.records import batches_write_disjoint_rows
    from etl.services.imports import mapping_path

    def named(name):
        return batches_write_disjoint_rows(load_mapping(mapping_path(name)))

    assert named("claims")  # claims and their events only; the policy is a reference
    assert named("policies")  # a policy, its vehicle and coverage line
    assert not named("customers")  # login names derived from references can collide across batches
    assert not named("insurance_claims")  # a customer and a policy written beside each claim
    claims_with_a_customer = {
        "name": "x",
        "record": "claim",
        "fields": {"claim.number": "n", "claim.policy_number": "p", "customer.email": "e"},
    }
    assert not batches_write_disjoint_rows(load_mapping(claims_with_a_customer))
    claims_keeping_extras_on_the_policy = {**claims_with_a_customer, "attributes_to": "policy"}
    claims_keeping_extras_on_the_policy["fields"] = {"claim.number": "n", "claim.policy_number": "p"}
    assert not batches_write_disjoint_rows(load_mapping(claims_keeping_extras_on_the_policy))
