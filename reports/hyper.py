"""Tableau Hyper extracts (`manage.py export_tableau`): the analytics feeds as tables of one `.hyper` file.

Each table is a feed with the feed's columns, from the same row definitions (`reports.api.rows.RowFormat`, typed:
Decimal stays NUMERIC, timestamps TIMESTAMP WITH TIME ZONE, dates DATE) and the same scope and masking as the actor
would get from `/api/analytics/`. Rows are read in keyset chunks and streamed into Hyper's `Inserter`, so memory
holds one chunk whatever the size of the book. Tableau's `tableauhyperapi` runs a local `hyperd` process for the
length of the export. The file is written under a temporary name and renamed when complete, so a reader never
opens half an extract.
"""

import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rest_framework import serializers

from insurance.core.exceptions import ServiceError, field_error

from . import selectors
from .api.feeds import FEEDS, Feed, readable_feeds
from .api.pagination import keyset_chunks, new_walk
from .api.rows import RowFormat

SCHEMA = "Extract"  # Tableau's convention for the tables of an extract
CHUNK_SIZE = 10_000


def table_name(feed: Feed) -> str:
    """The feed's name as a SQL-friendly table name (`fraud-scores` becomes `fraud_scores`)."""
    return feed.name.replace("-", "_")


FACT_NAMES = tuple(table_name(feed) for feed in FEEDS)


def _sql_type(field_: serializers.Field):
    from tableauhyperapi import SqlType

    # Order matters: subclasses first (a ChoiceField is not a CharField, but DateTimeField is not a DateField).
    if isinstance(field_, serializers.ChoiceField | serializers.CharField):
        return SqlType.text()
    if isinstance(field_, serializers.BooleanField):
        return SqlType.bool()
    if isinstance(field_, serializers.IntegerField):
        return SqlType.big_int()
    if isinstance(field_, serializers.FloatField):
        return SqlType.double()
    if isinstance(field_, serializers.DecimalField):
        return SqlType.numeric(field_.max_digits, field_.decimal_places)
    if isinstance(field_, serializers.DateTimeField):
        return SqlType.timestamp_tz()
    if isinstance(field_, serializers.DateField):
        return SqlType.date()
    raise TypeError(f"{type(field_).__name__} has no Hyper type; add it to reports.hyper._sql_type")


def table_definition(feed: Feed, *, sees_handler_columns: bool):
    """The feed's columns, in order, with Hyper types; a column the caller sees masked is nullable for them."""
    from tableauhyperapi import Nullability, TableDefinition, TableName

    masked = set() if sees_handler_columns else set(feed.serializer.handler_only)
    columns = [
        TableDefinition.Column(
            name,
            _sql_type(field_),
            Nullability.NULLABLE if field_.allow_null or name in masked else Nullability.NOT_NULLABLE,
        )
        for name, field_ in feed.serializer().fields.items()
    ]
    return TableDefinition(TableName(SCHEMA, table_name(feed)), columns)


@dataclass
class HyperExport:
    path: Path
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def feeds_for(*, actor, facts: Iterable[str] | None) -> list[Feed]:
    """The feeds to export: those named (all by default) that `actor` may read; naming one they may not is refused."""
    readable = {table_name(feed): feed for feed in readable_feeds(actor)}
    if facts is None:
        return list(readable.values())
    wanted = list(dict.fromkeys(name.replace("-", "_") for name in facts))
    unknown = [name for name in wanted if name not in FACT_NAMES]
    if unknown:
        raise field_error("fact", f"unknown: {', '.join(unknown)}; one of {', '.join(FACT_NAMES)}")
    refused = [name for name in wanted if name not in readable]
    if refused:
        raise ServiceError(f"{actor.username} may not read {', '.join(refused)}.", code="forbidden")
    return [readable[name] for name in wanted]


def export_hyper(*, actor, path: Path, facts: Iterable[str] | None = None, chunk_size: int = CHUNK_SIZE) -> HyperExport:
    """Write the feeds `actor` may read (or those named in `facts`) to the Hyper file at `path`."""
    from tableauhyperapi import Connection, CreateMode, HyperProcess, Inserter, Telemetry

    feeds = feeds_for(actor=actor, facts=facts)
    if not feeds:
        raise ServiceError(f"{actor.username} may read no analytics feed.", code="forbidden")
    path = Path(path)
    if path.suffix != ".hyper":
        raise field_error("out", "the file name must end in .hyper")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.{os.getpid()}.partial.hyper")
    sees_handler_columns = selectors.sees_handler_columns(actor)
    export = HyperExport(path=path)
    started = time.perf_counter()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="hyperd-") as log_dir,
            HyperProcess(
                telemetry=Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU, parameters={"log_dir": log_dir}
            ) as hyper,
            Connection(hyper.endpoint, str(partial), CreateMode.CREATE_AND_REPLACE) as connection,
        ):
            connection.catalog.create_schema_if_not_exists(SCHEMA)
            for feed in feeds:
                definition = table_definition(feed, sees_handler_columns=sees_handler_columns)
                connection.catalog.create_table(definition)
                row_format = RowFormat.build(feed.serializer, sees_handler_columns=sees_handler_columns, typed=True)
                queryset = feed.rows(user=actor)
                # The walk's snapshot, as a feed's first page takes it: rows created meanwhile wait for the next one.
                position = new_walk(queryset)
                count = 0
                with Inserter(connection, definition) as inserter:
                    for chunk in keyset_chunks(queryset, row_format.paths, position, chunk_size):
                        inserter.add_rows(row_format.values(row) for row in chunk)
                        count += len(chunk)
                    inserter.execute()
                export.rows[table_name(feed)] = count
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    export.seconds = time.perf_counter() - started
    return export
