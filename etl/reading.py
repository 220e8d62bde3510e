"""Reading legacy CSV and Excel exports as a stream of rows, whatever state the file is in.

A file that cannot be read as a whole (empty, no header, duplicate or blank column names, unknown format, a damaged
workbook) raises `SourceError`. Anything wrong with one row becomes a `SourceRow` with a `problem` instead of values,
so one bad line costs one reject, never the run.

Memory stays flat for any file size: CSV is read in chunks and split into lines here (so every line can be checked for
NUL bytes, undecodable bytes and absurd lengths before the csv module sees it); Excel is read with openpyxl in
read-only mode.

Row numbers follow the spreadsheet: the header is row 1, the first data row is row 2, and a blank line still takes a
number (LibreOffice or Excel shows it as an empty row) although it is skipped. A quoted value with line breaks is one
row, so from there on the row number is smaller than the line number of a text editor; `SourceRow.line` gives that.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import os
import warnings
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

PathOrFile = str | os.PathLike[str] | IO[bytes]

FIELD_SIZE_LIMIT = 1024 * 1024  # characters in one CSV value; a longer one is a damaged row, not data
MAX_LINE_BYTES = 16 * 1024 * 1024  # one physical line; longer means a binary file or a runaway export
CHUNK_BYTES = 256 * 1024  # a read; its lines, as objects, take a few times that
FORMATS_BY_SUFFIX = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}


class SourceError(Exception):
    """The file cannot be read as a whole; the message is for the person who supplied it."""


@dataclass(frozen=True)
class SourceOptions:
    """How to read a file; the defaults suit a comma-separated export in UTF-8 or Windows-1252."""

    format: str = ""  # "csv" or "xlsx"; "" = from the file extension
    delimiter: str = ","
    encoding: str = "auto"  # "auto": UTF-8 BOM -> utf-8-sig; valid UTF-8 -> utf-8; otherwise cp1252
    sheet: str | None = None  # xlsx: the sheet's name; None = the first sheet


@dataclass(frozen=True)
class SourceRow:
    """One data row: its values, or (values None) the problem that makes it unreadable."""

    number: int  # spreadsheet numbering: the header is row 1, the first data row row 2
    values: list[str] | None
    problem: str = ""
    line: int = 0  # CSV: the physical line the row starts on (differs from `number` after quoted line breaks)


def file_sha256(path: PathOrFile) -> str:
    """Hex sha256 of the file's bytes, read in chunks; identifies a file already imported."""
    with _binary(path) as (stream, _name):
        return hashlib.file_digest(stream, "sha256").hexdigest()


class Source:
    """An open file: `header` (stripped names) and, once, an iteration over its data rows."""

    def __init__(self, header: list[str], rows: Iterator[SourceRow], *, format: str, encoding: str = "") -> None:
        self.header = header
        self.format = format
        self.encoding = encoding  # the text encoding used for CSV (e.g. "cp1252" when detected); "" for xlsx
        self._rows = rows

    def __iter__(self) -> Iterator[SourceRow]:
        return self._rows


@contextmanager
def open_source(path: PathOrFile, options: SourceOptions | None = None) -> Iterator[Source]:
    """Open a CSV or xlsx file (a path, or a seekable binary file object) and read its header.

    Raises `SourceError` here when the file cannot be read at all; iterating gives one `SourceRow` per non-blank row.
    """
    options = options or SourceOptions()
    with _binary(path) as (stream, name):
        file_format = _format(options, name, stream)
        if file_format == "csv":
            yield _open_csv(stream, options)
        else:
            with _open_xlsx(stream, name, options) as source:
                yield source


@contextmanager
def _binary(path: PathOrFile) -> Iterator[tuple[IO[bytes], str]]:
    if isinstance(path, str | os.PathLike):
        try:
            stream = open(path, "rb")  # noqa: SIM115 - closed by the with below, after the caller is done
        except OSError as error:
            raise SourceError(f"cannot open {os.fspath(path)}: {error.strerror or error}") from error
        with stream:
            yield stream, os.fspath(path)
    else:
        path.seek(0)
        yield path, str(getattr(path, "name", "") or "")


def _format(options: SourceOptions, name: str, stream: IO[bytes]) -> str:
    """`options.format`, else the extension's; but a workbook is read as one even where CSV was expected.

    The same legacy export often arrives saved from Excel, so a mapping written for its CSV still reads it.
    """
    start = stream.read(8)
    stream.seek(0)
    if start.startswith(b"\xd0\xcf\x11\xe0") or (not options.format and Path(name).suffix.lower() == ".xls"):
        raise SourceError(f"{Path(name).name or 'the file'} is an old Excel .xls file: save it as .xlsx or CSV")
    if options.format:
        if options.format not in ("csv", "xlsx"):
            raise SourceError(f"unknown format {options.format!r}: use csv or xlsx")
        file_format = options.format
    else:
        file_format = FORMATS_BY_SUFFIX.get(Path(name).suffix.lower(), "")
        if not file_format:
            raise SourceError(
                f"cannot tell the format of {Path(name).name or 'the file'}: name it .csv or .xlsx, "
                "or set source.format"
            )
    return "xlsx" if start.startswith(b"PK\x03\x04") else file_format


def _check_header(names: list[str]) -> list[str]:
    header = [name.strip() for name in names]
    if header:
        header[0] = header[0].lstrip("\ufeff").strip()  # a BOM that got past decoding (e.g. encoding: utf-8)
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if not name:
            raise SourceError(f"column {position} of the header has no name")
        if name in seen:
            raise SourceError(f"the header names column {name!r} twice (columns {seen[name]} and {position})")
        seen[name] = position
    return header


def count_problem(count: int, width: int) -> str:
    """The problem of a row with the wrong number of values, naming both counts."""
    return f"has {count} value{'' if count == 1 else 's'}, the header has {width}"


def _is_blank(values: list[str]) -> bool:
    # values[0] first: most rows are settled by their first value without walking the rest
    return not values or (not values[0].strip() and all(not value.strip() for value in values))


# --- CSV -------------------------------------------------------------------------------------------------------------


class _LineTooLong(Exception):
    pass


class _Lines:
    """Physical lines of a byte stream, decoded one at a time, remembering what the csv module cannot tell us.

    Lines end at \\n, \\r\\n or \\r, as a spreadsheet sees them, so the encoding must be ASCII-compatible. The flags
    describe the lines handed out since `start_record()`; the csv reader pulls only the lines of the record it is
    building, so they belong to that record. A class (not a generator) so raising `_LineTooLong` does not end it.
    """

    def __init__(self, stream: IO[bytes], encoding: str) -> None:
        self._stream = stream
        self._encoding = encoding
        self._ready: deque[bytes | None] = deque()  # None stands for a line that was too long to keep
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._oversized = False
        self._eof = False
        self.line = 0  # physical lines handed out so far
        self.exhausted = False  # the reader asked for a line after the last one
        self.record_start = 1
        self.nul = False
        self.undecodable = ""
        self.unterminated = False  # the last line handed out had no line end (the end of a file without one)

    def start_record(self) -> None:
        self.record_start = self.line + 1
        self.nul = False
        self.undecodable = ""
        self.unterminated = False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        while not self._ready:
            if self._eof:
                self.exhausted = True
                raise StopIteration
            self._fill()
        raw = self._ready.popleft()
        self.line += 1
        if raw is None:
            raise _LineTooLong
        if b"\x00" in raw:
            self.nul = True
        if not raw.endswith((b"\n", b"\r")):
            self.unterminated = True
        try:
            return raw.decode(self._encoding)
        except UnicodeDecodeError as error:
            if not self.undecodable:
                self.undecodable = f"byte 0x{raw[error.start]:02X} on line {self.line}"
            return raw.decode(self._encoding, "replace")

    def _fill(self) -> None:
        chunk = self._stream.read(CHUNK_BYTES)
        if not chunk:
            self._eof = True
            if self._pending or self._oversized:
                self._finish_line(b"".join(self._pending))
            return
        if b"\n" not in chunk and b"\r" not in chunk:
            self._add_pending(chunk)  # the middle of a long line: no join, so long lines stay linear
            return
        if self._pending:
            chunk = b"".join(self._pending) + chunk
            self._pending, self._pending_bytes = [], 0
        lines = chunk.splitlines(keepends=True)  # bytes split at \n, \r\n and \r only
        last = lines.pop()
        for line in lines:
            self._finish_line(line)
        if last.endswith(b"\n"):
            self._finish_line(last)
        else:
            self._add_pending(last)  # unfinished, or ends with \r that the next chunk may pair with \n

    def _add_pending(self, piece: bytes) -> None:
        if self._oversized:
            return
        self._pending.append(piece)
        self._pending_bytes += len(piece)
        if self._pending_bytes > MAX_LINE_BYTES:
            self._pending, self._pending_bytes, self._oversized = [], 0, True

    def _finish_line(self, line: bytes) -> None:
        if self._oversized:
            self._ready.append(None)
            self._oversized = False
        else:
            self._ready.append(line)


def _detect_encoding(stream: IO[bytes]) -> tuple[str, int]:
    """The encoding of the whole file and the bytes of BOM to skip, decoded chunk by chunk (never all at once)."""
    start = stream.read(4)
    stream.seek(0)
    if start.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", len(codecs.BOM_UTF8)
    if start.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SourceError("the file is UTF-16 or UTF-32 text: save it as CSV in UTF-8")
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := stream.read(CHUNK_BYTES):
            decoder.decode(chunk)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8", 0  # even if it ends mid-character: a truncated UTF-8 file is still UTF-8
    stream.seek(0)
    try:
        while chunk := stream.read(CHUNK_BYTES):
            chunk.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1", 0  # one of the five bytes cp1252 leaves undefined: Latin-1 reads every byte
    return "cp1252", 0


def _csv_encoding(stream: IO[bytes], requested: str) -> tuple[str, str, int]:
    """(the name to report, the codec to decode lines with, BOM bytes to skip)."""
    if requested == "auto":
        name, skip = _detect_encoding(stream)
        return name, ("utf-8" if name == "utf-8-sig" else name), skip
    try:
        codec = codecs.lookup(requested).name
    except LookupError:
        raise SourceError(f"unknown encoding {requested!r}") from None
    if "\r\n,;\t|\"'".encode(codec, "replace") != b"\r\n,;\t|\"'":
        raise SourceError(f"encoding {requested!r} is not supported: save the file as CSV in UTF-8")
    skip = 0
    if codec in ("utf-8", "utf-8-sig"):
        skip = len(codecs.BOM_UTF8) if stream.read(3) == codecs.BOM_UTF8 else 0
        codec = "utf-8"
    return requested, codec, skip


def _open_csv(stream: IO[bytes], options: SourceOptions) -> Source:
    if len(options.delimiter) != 1:
        raise SourceError(f"the delimiter must be one character, not {options.delimiter!r}")
    if not stream.read(1):
        raise SourceError("the file is empty")
    stream.seek(0)
    encoding, codec, skip = _csv_encoding(stream, options.encoding)
    stream.seek(skip)
    csv.field_size_limit(FIELD_SIZE_LIMIT)  # process-wide, so set on every open
    lines = _Lines(stream, codec)
    reader = csv.reader(lines, delimiter=options.delimiter, quotechar='"', doublequote=True, strict=False)
    records = _csv_records(reader, lines, codec)
    for _number, line, values, problem, _unterminated in records:
        if problem:
            raise SourceError(f"the header (line {line}) {problem}")
        header = _check_header(values)
        return Source(header, _csv_rows(records, len(header)), format="csv", encoding=encoding)
    raise SourceError("the file has no header row: it holds only blank lines")


_Record = tuple[int, int, list[str], str, bool]


def _csv_records(reader: Any, lines: _Lines, codec: str) -> Iterator[_Record]:
    """(row number, start line, values, problem, unterminated) of every non-blank record.

    `problem` is "" when the record parsed cleanly; `unterminated` says its last line had no line end (so it ends a
    file that may have been cut short).
    """
    number = 0
    while True:
        lines.start_record()
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # in practice only a value over the field size limit
            number += 1
            too_long = "field larger than field limit" in str(error)
            problem = f"has a value over {FIELD_SIZE_LIMIT:,} characters" if too_long else f"cannot be read: {error}"
            yield number, lines.record_start, [], problem, False
            continue
        except _LineTooLong:
            number += 1
            yield number, lines.record_start, [], f"has a line over {MAX_LINE_BYTES:,} bytes", False
            continue
        number += 1
        if lines.exhausted:
            problem = (
                f"has a quote that is never closed (the row starts on line {lines.record_start}): "
                "the closing quote is missing or the file is truncated"
            )
            yield number, lines.record_start, values, problem, True
            return
        if lines.nul:
            problem = "contains a NUL byte: binary data or a damaged export"
        elif lines.undecodable:
            problem = f"is not valid {codec} text ({lines.undecodable})"
        elif _is_blank(values):
            continue
        else:
            problem = ""
        yield number, lines.record_start, values, problem, lines.unterminated


def _csv_rows(records: Iterator[_Record], width: int) -> Iterator[SourceRow]:
    for number, line, values, problem, unterminated in records:
        if not problem and len(values) != width:
            problem = count_problem(len(values), width)
            if len(values) < width and unterminated:
                problem += "; the file ends here without a line end, so it may be truncated"
        if problem:
            yield SourceRow(number, None, problem, line)
        else:
            yield SourceRow(number, values, "", line)


# --- xlsx ------------------------------------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell as the text a CSV export of it would hold: dates ISO, whole numbers without ".0", empty as ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() and value.tzinfo is None else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float):
        # Excel keeps 15 significant digits and shows no exponent: 0.30000000000000004 is 0.3, 1e-07 is 0.0000001
        return str(int(value)) if value.is_integer() else format(Decimal(f"{value:.15g}"), "f")
    return str(value)


@contextmanager
def _open_xlsx(stream: IO[bytes], name: str, options: SourceOptions) -> Iterator[Source]:
    import openpyxl  # only the Excel path pays for it

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it drops; not our concern
            workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except Exception as error:  # a damaged or foreign file can fail anywhere in the zip and XML layers
        raise SourceError(f"cannot read {Path(name).name or 'the file'} as an Excel workbook: {error}") from error
    try:
        if not workbook.worksheets:
            raise SourceError("the workbook has no worksheet")
        if options.sheet is None:
            sheet = workbook.worksheets[0]
        elif options.sheet in workbook.sheetnames:
            sheet = workbook[options.sheet]
        else:
            raise SourceError(f"the workbook has no sheet {options.sheet!r} (it has {', '.join(workbook.sheetnames)})")
        sheet.reset_dimensions()  # stored dimensions are often wrong; read every row that is there
        rows = _xlsx_records(sheet.iter_rows(min_row=1, values_only=True))
        for _number, values in rows:
            while values and not values[-1].strip():
                values.pop()  # the used range often runs past the last named column
            header = _check_header(values)
            yield Source(header, _xlsx_rows(rows, len(header)), format="xlsx")
            break
        else:
            raise SourceError("the sheet has no header row: it is empty")
    finally:
        workbook.close()


def _xlsx_records(cells: Iterator[tuple[Any, ...]]) -> Iterator[tuple[int, list[str]]]:
    number = 0
    while True:
        try:
            row = next(cells)
        except StopIteration:
            return
        except Exception as error:  # damaged sheet XML surfaces only while streaming
            raise SourceError(f"the workbook is damaged after row {number}: {error}") from error
        number += 1
        values = [cell_text(value) for value in row]
        if not _is_blank(values):
            yield number, values


def _xlsx_rows(records: Iterator[tuple[int, list[str]]], width: int) -> Iterator[SourceRow]:
    for number, values in records:
        if len(values) > width:
            used = len(values)
            while used > width and not values[used - 1].strip():
                used -= 1
            if used > width:
                yield SourceRow(number, None, count_problem(used, width))
                continue
            del values[width:]
        elif len(values) < width:
            values.extend([""] * (width - len(values)))  # empty trailing cells are simply not stored
        yield SourceRow(number, values)
