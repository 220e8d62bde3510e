"""The CSV stream of a feed written by PostgreSQL itself: `COPY (...) TO STDOUT WITH (FORMAT csv)`, a keyset chunk
at a time.

Why: on a large book, converting each row in Python (`RowFormat.csv_row` and `csv.writer`) caps the stream far
below what the database can deliver. Here each column becomes an SQL expression giving exactly the text the Python
path writes (the same `FIELD_TYPES` conversion, the same masking), and PostgreSQL writes the CSV lines. Both paths
quote only when needed (a comma, a quote, a carriage return or a newline), end lines with a newline, and write
null and an empty string alike as an empty, unquoted cell; a test holds the two byte for byte.

The chunks are the Python path's: the feed's filtered queryset, in id order, from the walk's position up to its
highest id, in the request's own connection and transaction. Memory holds one chunk of CSV text.
"""

import io
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connections
from django.db.models import QuerySet

from . import rows
from .pagination import Position, keyset_ranges, window
from .rows import HIDDEN, RowFormat


def database_writes_csv(queryset: QuerySet) -> bool:
    """PostgreSQL writes the CSV itself; any other database gets the Python path."""
    return connections[queryset.db].vendor == "postgresql"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _text(ref: str) -> str:
    return f"{ref}::text"


def _boolean(ref: str) -> str:
    return f"CASE WHEN {ref} THEN 'true' WHEN NOT {ref} THEN 'false' END"


def _integer(ref: str) -> str:
    return f"{ref}::bigint::text"


def _float(ref: str) -> str:
    # Python's repr of a float: the shortest text that reads back (as PostgreSQL 12+ writes float8 too), but
    # "1.0" for a whole number, "nan" and "inf", and exponents from 1e16 (PostgreSQL from 1e15).
    value = f"{ref}::float8"
    return (
        f"CASE WHEN {value} = 'NaN' THEN 'nan' WHEN {value} = 'Infinity' THEN 'inf' "
        f"WHEN {value} = '-Infinity' THEN '-inf' "
        f"WHEN {value}::text = '-0' THEN '-0.0' "
        f"WHEN {value} = trunc({value}) AND abs({value}) < 1e16 THEN trunc({value})::bigint::text || '.0' "
        f"ELSE {value}::text END"
    )


def _money(ref: str) -> str:
    # `float(Decimal)` printed: the digits without trailing zeros, "100.0" for a whole amount. An amount has at
    # most 14 digits, so the float holds it exactly and prints it back so.
    value = f"{ref}::numeric"
    return f"CASE WHEN {value} = trunc({value}) THEN trunc({value})::text || '.0' ELSE trim_scale({value})::text END"


def _timestamp(ref: str) -> str:
    # ISO-8601 in UTC with a Z, microseconds (all six digits) only when there are any, as `datetime.isoformat`.
    utc = f"({ref} AT TIME ZONE 'UTC')"
    return (
        f"CASE WHEN {utc} = date_trunc('second', {utc}) "
        f"""THEN to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') """
        f"""ELSE to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END"""
    )


def _date(ref: str) -> str:
    return f"to_char({ref}, 'YYYY-MM-DD')"


# A `FIELD_TYPES` conversion -> the SQL expression writing the same text.
SQL_TEXT: dict[Callable[[Any], Any], Callable[[str], str]] = {
    str: _text,
    bool: _boolean,
    int: _integer,
    float: _float,
    rows._money: _money,
    rows._timestamp: _timestamp,
    rows._date: _date,
}


def column_sql(conversion: Callable[[Any], Any], mask: str | dict[str, str] | None, ref: str) -> str:
    """The CSV text of one column, NULL for an empty cell (COPY would quote an empty string)."""
    if mask == HIDDEN:
        return "NULL"
    try:
        text = SQL_TEXT[conversion](ref)
    except KeyError:
        raise TypeError(f"{conversion!r} has no SQL text; add it to SQL_TEXT") from None
    if isinstance(mask, dict):
        if conversion is not str:
            raise TypeError("public_values maps text columns only")
        cases = " ".join(f"WHEN {_literal(old)} THEN {_literal(new)}" for old, new in mask.items())
        text = f"CASE {text} {cases} ELSE {text} END"
    return f"NULLIF({text}, '')"


def select_sql(row_format: RowFormat, rows_sql: str) -> str:
    """The formatted columns over `rows_sql`, whose columns are the id and then `row_format.paths`."""
    count = len(row_format.paths)
    aliases = ", ".join(f"c{index}" for index in range(count + 1))
    columns = ", ".join(
        column_sql(conversion, mask, f"t.c{index}")
        for index, (conversion, mask) in enumerate(zip(row_format.conversions, row_format.masks, strict=True), 1)
    )
    return f"SELECT {columns} FROM ({rows_sql}) AS t({aliases}) ORDER BY t.c0"  # noqa: S608 (the feed's own SQL)


def copy_chunks(queryset: QuerySet, row_format: RowFormat, position: Position, size: int) -> Iterator[bytes]:
    """The rows of the walk from `position` as CSV lines, `size` rows at a time: one cheap query for a chunk's
    highest id, then COPY of the chunk's rows."""
    connection = connections[queryset.db]
    for after, upper in keyset_ranges(queryset, position, size):
        chunk = window(queryset, after, upper).values_list("pk", *row_format.paths)
        sql, params = chunk.query.sql_with_params()
        buffer = io.BytesIO()
        with connection.cursor() as cursor:
            rows_sql = cursor.cursor.mogrify(sql, params).decode()
            statement = f"COPY ({select_sql(row_format, rows_sql)}) TO STDOUT WITH (FORMAT csv)"
            cursor.cursor.copy_expert(statement, buffer)
        yield buffer.getvalue()
