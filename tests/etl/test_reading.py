"""Reading legacy exports: every kind of damage a real CSV or workbook arrives with becomes a named row problem or,
for the file as a whole, a `SourceError` a person can act on. No database."""

import hashlib
import io
import tracemalloc
from datetime import date, datetime, time
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl import reading
from etl.reading import SourceError, SourceOptions, SourceRow, file_sha256, open_source


def write(tmp_path: Path, content: bytes, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def read_all(path: Path | io.BytesIO, **options: object) -> tuple[list[str], list[SourceRow], str]:
    with open_source(path, SourceOptions(**options)) as source:
        return source.header, list(source), source.encoding


def problems(rows: list[SourceRow]) -> dict[int, str]:
    return {row.number: row.problem for row in rows if row.values is None}


# --- encodings -------------------------------------------------------------------------------------------------------


def test_a_utf8_byte_order_mark_is_skipped_and_never_leaks_into_the_first_name(tmp_path):
    path = write(tmp_path, "\ufeffpolicy,name\n1,Zoë\n".encode())

    header, rows, encoding = read_all(path)

    assert header == ["policy", "name"]
    assert rows == [SourceRow(2, ["1", "Zoë"], line=2)]
    assert encoding == "utf-8-sig"


def test_a_bom_does_not_leak_either_when_the_encoding_is_given_as_utf8(tmp_path):
    path = write(tmp_path, "\ufeffpolicy,name\n1,x\n".encode())

    assert read_all(path, encoding="utf-8")[0] == ["policy", "name"]


def test_windows_1252_text_is_detected_and_read(tmp_path):
    path = write(tmp_path, b"name,amount\r\nM\xfcller,\x80 12\r\nJos\xe9,\x9c\r\n")

    _, rows, encoding = read_all(path)

    assert encoding == "cp1252"
    assert [row.values for row in rows] == [["Müller", "€ 12"], ["José", "œ"]]


def test_bytes_that_cp1252_leaves_undefined_fall_back_to_latin1(tmp_path):
    path = write(tmp_path, b"name\r\nM\xfcller\x81\r\n")

    _, rows, encoding = read_all(path)

    assert encoding == "latin-1"
    assert rows[0].values == ["Müller\x81"]


def test_utf8_is_chosen_when_the_file_is_valid_utf8(tmp_path):
    path = write(tmp_path, "name\nMüller\n€\n".encode())

    _, rows, encoding = read_all(path)

    assert encoding == "utf-8"
    assert [row.values for row in rows] == [["Müller"], ["€"]]


def test_detection_reads_chunks_and_a_character_split_across_chunks_is_still_utf8(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "CHUNK_BYTES", 3)
    path = write(tmp_path, "n\néé\n".encode())

    _, rows, encoding = read_all(path)

    assert encoding == "utf-8"
    assert rows[0].values == ["éé"]


def test_a_utf8_file_cut_mid_character_stays_utf8_and_only_its_last_row_is_rejected(tmp_path):
    path = write(tmp_path, "name\nMüller\nZo".encode() + "ë".encode()[:1])

    _, rows, encoding = read_all(path)

    assert encoding == "utf-8"
    assert rows[0].values == ["Müller"]
    assert problems(rows) == {3: "is not valid utf-8 text (byte 0xC3 on line 3)"}


def test_bytes_invalid_in_a_given_encoding_reject_that_row_only(tmp_path):
    path = write(tmp_path, b"name,city\nM\xfcller,Bonn\nSmith,Leeds\n")

    _, rows, _ = read_all(path, encoding="utf-8")

    assert problems(rows) == {2: "is not valid utf-8 text (byte 0xFC on line 2)"}
    assert rows[1].values == ["Smith", "Leeds"]


def test_utf16_files_are_refused_with_a_way_out(tmp_path):
    path = write(tmp_path, "name\nx\n".encode("utf-16"))

    with pytest.raises(SourceError, match="UTF-16 or UTF-32 text: save it as CSV in UTF-8"):
        read_all(path)


def test_an_encoding_that_is_not_ascii_compatible_is_refused(tmp_path):
    path = write(tmp_path, b"name\nx\n")

    with pytest.raises(SourceError, match="encoding 'utf-16' is not supported"):
        read_all(path, encoding="utf-16")
    with pytest.raises(SourceError, match="unknown encoding 'klingon'"):
        read_all(path, encoding="klingon")


# --- line ends, quoting and blank lines ------------------------------------------------------------------------------


def test_crlf_line_ends_do_not_end_up_in_values(tmp_path):
    path = write(tmp_path, b"a,b\r\n1,2\r\n3,4\r\n")

    header, rows, _ = read_all(path)

    assert header == ["a", "b"]
    assert [row.values for row in rows] == [["1", "2"], ["3", "4"]]


def test_old_mac_cr_line_ends_are_lines_too(tmp_path):
    path = write(tmp_path, b"a,b\r1,2\r3,4\r")

    assert [row.values for row in read_all(path)[1]] == [["1", "2"], ["3", "4"]]


def test_the_last_row_is_read_without_a_final_newline(tmp_path):
    path = write(tmp_path, b"a,b\n1,2\n3,4")

    assert read_all(path)[1][-1] == SourceRow(3, ["3", "4"], line=3)


def test_quoted_separators_and_quoted_newlines_stay_in_their_value(tmp_path):
    path = write(tmp_path, b'id,address,note\n1,"12, High Street","line one\nline two"\n2,"say ""hi""",x\n')

    _, rows, _ = read_all(path)

    assert rows[0].values == ["1", "12, High Street", "line one\nline two"]
    assert rows[1].values == ["2", 'say "hi"', "x"]


def test_row_numbers_count_records_as_a_spreadsheet_shows_them_and_line_gives_the_text_line(tmp_path):
    path = write(tmp_path, b'id,note\n1,"two\nlines"\n2,x\n')

    _, rows, _ = read_all(path)

    assert [(row.number, row.line) for row in rows] == [(2, 2), (3, 4)]


def test_blank_lines_are_skipped_but_keep_their_row_number(tmp_path):
    path = write(tmp_path, b"a,b\n1,2\n\n   \n,\n3,4\r\n\r\n")

    _, rows, _ = read_all(path)

    assert [(row.number, row.values) for row in rows] == [(2, ["1", "2"]), (6, ["3", "4"])]
    assert problems(rows) == {}


def test_blank_lines_before_the_header_are_skipped(tmp_path):
    path = write(tmp_path, b"\n\na,b\n1,2\n")

    header, rows, _ = read_all(path)

    assert header == ["a", "b"]
    assert rows == [SourceRow(4, ["1", "2"], line=4)]


def test_another_delimiter(tmp_path):
    path = write(tmp_path, b"a;b\n1,5;2\n")

    assert read_all(path, delimiter=";")[1][0].values == ["1,5", "2"]


def test_values_are_kept_raw_and_header_names_are_stripped(tmp_path):
    path = write(tmp_path, b" a , b\n 1 ,2 \n")

    header, rows, _ = read_all(path)

    assert header == ["a", "b"]
    assert rows[0].values == [" 1 ", "2 "]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64])
def test_chunk_boundaries_change_nothing(tmp_path, monkeypatch, chunk):
    """A \\r\\n, a quoted newline or a BOM split between two reads must read as if it were not."""
    content = '\ufeffid,note\r\n1,"a\r\nb"\r\n\r\n2,Müller\r3,x\n4,"q,r"'.encode()
    expected = read_all(write(tmp_path, content))
    monkeypatch.setattr(reading, "CHUNK_BYTES", chunk)

    assert read_all(write(tmp_path, content, "again.csv")) == expected
    assert [row.values for row in expected[1]] == [["1", "a\r\nb"], ["2", "Müller"], ["3", "x"], ["4", "q,r"]]


# --- damaged rows ----------------------------------------------------------------------------------------------------


def test_rows_with_missing_or_extra_values_name_both_counts(tmp_path):
    path = write(tmp_path, b"a,b,c\n1,2\n1,2,3\n1,2,3,4\n1\n")

    _, rows, _ = read_all(path)

    assert problems(rows) == {
        2: "has 2 values, the header has 3",
        4: "has 4 values, the header has 3",
        5: "has 1 value, the header has 3",
    }
    assert rows[1].values == ["1", "2", "3"]


def test_a_last_row_cut_short_says_the_file_may_be_truncated(tmp_path):
    path = write(tmp_path, b"a,b,c\n1,2,3\n4,5")

    _, rows, _ = read_all(path)

    assert problems(rows) == {
        3: "has 2 values, the header has 3; the file ends here without a line end, so it may be truncated"
    }


def test_an_unterminated_quote_at_the_end_of_the_file_is_a_named_problem(tmp_path):
    path = write(tmp_path, b'a,b\n1,2\n3,"never closed\n4,5\n')

    _, rows, _ = read_all(path)

    assert rows[0] == SourceRow(2, ["1", "2"], line=2)
    assert problems(rows) == {
        3: "has a quote that is never closed (the row starts on line 3): "
        "the closing quote is missing or the file is truncated"
    }
    assert len(rows) == 2


def test_a_nul_byte_rejects_its_row_and_reading_goes_on(tmp_path):
    path = write(tmp_path, b"a,b\n1,x\x00y\n2,z\n")

    _, rows, _ = read_all(path)

    assert problems(rows) == {2: "contains a NUL byte: binary data or a damaged export"}
    assert rows[1] == SourceRow(3, ["2", "z"], line=3)


def test_an_over_long_value_rejects_its_row_and_reading_goes_on(tmp_path):
    path = write(tmp_path, b"a,b\n1," + b"x" * (reading.FIELD_SIZE_LIMIT + 1) + b"\n2,y\n")

    _, rows, _ = read_all(path)

    assert problems(rows) == {2: "has a value over 1,048,576 characters"}
    assert rows[1] == SourceRow(3, ["2", "y"], line=3)


def test_an_absurdly_long_line_is_dropped_without_being_held_in_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "MAX_LINE_BYTES", 100)
    monkeypatch.setattr(reading, "CHUNK_BYTES", 16)
    path = write(tmp_path, b"a,b\n1," + b"x" * 500 + b"\n2,y\n")

    _, rows, _ = read_all(path)

    assert problems(rows) == {2: "has a line over 100 bytes"}
    assert rows[1] == SourceRow(3, ["2", "y"], line=3)


# --- files that cannot be read ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\n\r\n  \n", "the file has no header row: it holds only blank lines"),
        (b"id,name,id\n1,2,3\n", "the header names column 'id' twice (columns 1 and 3)"),
        (b"id,,name\n1,2,3\n", "column 2 of the header has no name"),
        (b"id, \n1,2\n", "column 2 of the header has no name"),
        (b"id,na\x00me\n1,2\n", "the header (line 1) contains a NUL byte: binary data or a damaged export"),
        (b"PK\x03\x04rest of a zip", "cannot read export.csv as an Excel workbook: File is not a zip file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "export.csv is an old Excel .xls file: save it as .xlsx or CSV"),
    ],
)
def test_files_that_cannot_be_read_raise_a_source_error(tmp_path, content, message):
    with pytest.raises(SourceError) as caught:
        read_all(write(tmp_path, content))
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("export.json", {}, "cannot tell the format of export.json: name it .csv or .xlsx, or set source.format"),
        ("export.xls", {}, "export.xls is an old Excel .xls file: save it as .xlsx or CSV"),
        ("export.csv", {"format": "parquet"}, "unknown format 'parquet': use csv or xlsx"),
        ("export.csv", {"delimiter": ";;"}, "the delimiter must be one character, not ';;'"),
    ],
)
def test_unknown_formats_raise_a_source_error(tmp_path, name, options, message):
    with pytest.raises(SourceError) as caught:
        read_all(write(tmp_path, b"a\n1\n", name), **options)
    assert str(caught.value) == message


def test_a_missing_file_raises_a_source_error(tmp_path):
    with pytest.raises(SourceError, match=r"cannot open .*nowhere\.csv: No such file or directory"):
        read_all(tmp_path / "nowhere.csv")


def test_the_format_can_be_given_for_any_file_name_and_txt_is_csv(tmp_path):
    assert read_all(write(tmp_path, b"a\n1\n", "export.dat"), format="csv")[1][0].values == ["1"]
    assert read_all(write(tmp_path, b"a\n1\n", "export.TXT"))[1][0].values == ["1"]


def test_a_binary_file_object_reads_like_a_path():
    stream = io.BytesIO(b"a,b\n1,2\n")
    stream.name = "upload.csv"

    assert read_all(stream)[1] == [SourceRow(2, ["1", "2"], line=2)]


def test_file_sha256_is_the_sha256_of_the_bytes(tmp_path):
    content = b"a,b\n1,2\n" * 1000

    assert file_sha256(write(tmp_path, content)) == hashlib.sha256(content).hexdigest()
    assert file_sha256(io.BytesIO(content)) == hashlib.sha256(content).hexdigest()


def test_memory_stays_flat_however_large_the_file(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("wb") as out:
        out.write(b"id,name,amount,city\n")
        line = "{},Müller Straße,1234.50,Köln\n"
        for start in range(0, 200_000, 10_000):
            out.write("".join(line.format(i) for i in range(start, start + 10_000)).encode())
    size = path.stat().st_size

    tracemalloc.start()
    try:
        with open_source(path, SourceOptions()) as source:
            count = sum(1 for _ in source)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert count == 200_000
    assert size > 7_000_000
    assert peak < 2_000_000  # a few chunks' worth, whatever the size


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=40),
            st.sampled_from([b'"', b",", b"\n", b"\r", b"\r\n", b"\x00", b"\xff", b"\xc3", b"\xef\xbb\xbf", b'""']),
        ),
        max_size=30,
    )
)
def test_any_bytes_give_rows_or_a_source_error_and_nothing_else(tmp_path, pieces):
    path = write(tmp_path, b"a,b,c\n" + b"".join(pieces))

    try:
        with open_source(path, SourceOptions()) as source:
            rows = list(source)
    except SourceError:
        return
    for row in rows:
        assert (row.values is None) == bool(row.problem)
        assert row.values is None or len(row.values) == len(source.header)
        assert row.number >= 2


# --- xlsx ------------------------------------------------------------------------------------------------------------


def make_workbook(path: Path, rows: list[list[object]], *, title: str = "Claims", more: bool = False) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    if more:
        workbook.create_sheet("Policies").append(["number", "holder"])
        workbook["Policies"].append(["P-1", "Ann"])
    workbook.save(path)
    return path


def test_xlsx_cells_are_read_as_the_text_a_csv_export_would_hold(tmp_path):
    path = make_workbook(
        tmp_path / "claims.xlsx",
        [
            ["claim", "reported", "at", "amount", "rate", "count", "closed", "note", "time"],
            ["C-1", datetime(2024, 5, 31), datetime(2024, 5, 31, 14, 30), 12.0, 12.5, 7, True, None, time(9, 15)],
        ],
    )

    header, rows, encoding = read_all(path)

    assert header == ["claim", "reported", "at", "amount", "rate", "count", "closed", "note", "time"]
    assert rows == [
        SourceRow(2, ["C-1", "2024-05-31", "2024-05-31T14:30:00", "12", "12.5", "7", "TRUE", "", "09:15:00"])
    ]
    assert encoding == ""


def test_cell_text_conversions():
    assert reading.cell_text(None) == ""
    assert reading.cell_text(date(2024, 1, 2)) == "2024-01-02"
    assert reading.cell_text(1e20) == "100000000000000000000"
    assert reading.cell_text(-3.0) == "-3"
    assert reading.cell_text(0.1) == "0.1"
    assert reading.cell_text(0.1 + 0.2) == "0.3"  # as Excel shows it, to 15 significant digits
    assert reading.cell_text(1e-7) == "0.0000001"  # never an exponent, which no number parser here reads
    assert reading.cell_text(False) == "FALSE"


def test_xlsx_blank_rows_are_skipped_keeping_row_numbers_and_ragged_rows_are_evened(tmp_path):
    path = make_workbook(
        tmp_path / "claims.xlsx",
        [["claim", "amount", "note", None], ["C-1", 10], [], ["C-2", 20, "x"], ["C-3", 30, "y", None, "stray"]],
    )

    header, rows, _ = read_all(path)

    assert header == ["claim", "amount", "note"]  # the used range past the last name is not a column
    assert rows == [
        SourceRow(2, ["C-1", "10", ""]),
        SourceRow(4, ["C-2", "20", "x"]),
        SourceRow(5, None, "has 5 values, the header has 3"),
    ]


def test_xlsx_reads_a_named_sheet_and_names_the_sheets_when_one_is_missing(tmp_path):
    path = make_workbook(tmp_path / "book.xlsx", [["claim"], ["C-1"]], more=True)

    assert read_all(path, sheet="Policies")[1] == [SourceRow(2, ["P-1", "Ann"])]
    assert read_all(path)[0] == ["claim"]
    with pytest.raises(SourceError, match=r"the workbook has no sheet 'Payments' \(it has Claims, Policies\)"):
        read_all(path, sheet="Payments")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "the sheet has no header row: it is empty"),
        ([["claim", "claim"], ["1", "2"]], "the header names column 'claim' twice (columns 1 and 2)"),
        ([["claim", None, "amount"], ["1", "2", "3"]], "column 2 of the header has no name"),
    ],
)
def test_xlsx_headers_are_checked_like_csv_headers(tmp_path, rows, message):
    with pytest.raises(SourceError) as caught:
        read_all(make_workbook(tmp_path / "book.xlsx", rows))
    assert str(caught.value) == message


def test_a_workbook_is_read_as_one_even_where_csv_was_expected(tmp_path):
    """The same export saved from Excel: a mapping written for its CSV still reads it."""
    path = make_workbook(tmp_path / "claims.xlsx", [["claim", "amount"], ["C-1", 12.5]])

    assert read_all(path, format="csv")[1] == [SourceRow(2, ["C-1", "12.5"])]
    assert read_all(path.rename(tmp_path / "claims.csv"))[0] == ["claim", "amount"]


def test_a_damaged_workbook_raises_a_source_error(tmp_path):
    path = write(tmp_path, b"PK\x03\x04 this is not really a workbook", "claims.xlsx")

    with pytest.raises(SourceError, match=r"^cannot read claims\.xlsx as an Excel workbook: "):
        read_all(path)
