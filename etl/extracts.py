"""Warehouse fact tables: one column definition per fact, streamed to CSV or Parquet.

A fact is a flat table with one row per claim, policy or payment, its columns joined from the rows around it (policy
number, product code, the holder's region). Each column is defined once (name, type, ORM path) and both writers read
that definition, so CSV and Parquet always carry the same columns with the same meaning. No personal data leaves
through a fact: people are ids, places are the holder's region.

Rows are read with `values_list(...).iterator(chunk_size=...)` and written as they arrive (Parquet one row group at a
time), so memory stays flat however large the book. The window (which rows) and the record of the run are the
service's business (`etl.services.extracts`).
"""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.db import models

from claims.models import Claim, Payment
from policies.models import Policy

from .choices import ExtractFormat

CHUNK_SIZE = 2000
ROW_GROUP_SIZE = 50_000
ARROW_BATCH_SIZE = 5_000

ARROW_TYPES: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "string": pa.string(),
    "decimal": pa.decimal128(14, 2),  # every amount is a DecimalField(max_digits=14, decimal_places=2)
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
    "bool": pa.bool_(),
}

HANDLE_CLAIM = "claims.handle_claim"


@dataclass(frozen=True)
class Column:
    """One column of a fact: its name in the warehouse, its type (a key of `ARROW_TYPES`) and where it is read.

    `permission`, when set, names the permission an actor needs to see the values; without it the column is still
    written (the table keeps one shape) but left empty.
    """

    name: str
    type: str
    path: str
    permission: str | None = None

    def __post_init__(self) -> None:
        if self.type not in ARROW_TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}")


@dataclass(frozen=True)
class Fact:
    """A fact table: the model it has one row per, and its columns. `key` and `updated_at` identify a version."""

    name: str
    model: type[models.Model]
    key: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def paths(self) -> list[str]:
        return [column.path for column in self.columns]

    @property
    def view_permission(self) -> str:
        return f"{self.model._meta.app_label}.view_{self.model._meta.model_name}"

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(column.name, ARROW_TYPES[column.type]) for column in self.columns])


def _policy_columns(prefix: str) -> tuple[Column, ...]:
    """The policy, product and holder columns every fact joins, from a model whose policy is at `prefix`."""
    return (
        Column("policy_number", "string", f"{prefix}number"),
        Column("product_code", "string", f"{prefix}product__code"),
        Column("line_of_business", "string", f"{prefix}product__line_of_business"),
        Column("holder_id", "int", f"{prefix}holder_id"),
        Column("agent_id", "int", f"{prefix}agent_id"),  # the policy's AgentProfile id; empty for direct business
        Column("holder_region", "string", f"{prefix}holder__customer_profile__region"),
    )


CLAIMS = Fact(
    name="claims",
    model=Claim,
    key="claim_id",
    columns=(
        Column("claim_id", "int", "id"),
        Column("claim_number", "string", "number"),
        *_policy_columns("policy__"),
        Column("incident_at", "timestamp", "incident_at"),
        Column("reported_at", "timestamp", "reported_at"),
        Column("loss_type", "string", "loss_type"),
        Column("amount_claimed", "decimal", "amount_claimed"),
        Column("currency", "string", "currency"),
        Column("approved_amount", "decimal", "approved_amount"),
        # Reserves, priority and fraud findings are for claim handlers only, as in the claims API.
        Column("reserve_amount", "decimal", "reserve_amount", permission=HANDLE_CLAIM),
        Column("paid_amount", "decimal", "paid_amount"),
        Column("status", "string", "status"),
        Column("priority", "string", "priority", permission=HANDLE_CLAIM),
        Column("fraud_risk", "string", "fraud_risk", permission=HANDLE_CLAIM),
        Column("decision_outcome", "string", "decision_outcome"),
        Column("decided_by_person", "bool", "decided_by_person", permission=HANDLE_CLAIM),
        Column("investigation_outcome", "string", "investigation_outcome", permission=HANDLE_CLAIM),
        Column("closed_at", "timestamp", "closed_at"),
        Column("created_at", "timestamp", "created_at"),
        Column("updated_at", "timestamp", "updated_at"),
    ),
)

POLICIES = Fact(
    name="policies",
    model=Policy,
    key="policy_id",
    columns=(
        Column("policy_id", "int", "id"),
        *_policy_columns(""),
        Column("status", "string", "status"),
        Column("effective_date", "date", "effective_date"),
        Column("expiry_date", "date", "expiry_date"),
        Column("premium", "decimal", "premium"),
        Column("currency", "string", "currency"),
        Column("instalment_count", "int", "instalment_count"),
        Column("bound_at", "timestamp", "bound_at"),
        Column("cancelled_on", "date", "cancelled_on"),
        Column("lapsed_on", "date", "lapsed_on"),
        Column("renewal_of_number", "string", "renewal_of__number"),
        Column("created_at", "timestamp", "created_at"),
        Column("updated_at", "timestamp", "updated_at"),
    ),
)

PAYMENTS = Fact(
    name="payments",
    model=Payment,
    key="payment_id",
    columns=(
        Column("payment_id", "int", "id"),
        Column("claim_id", "int", "claim_id"),
        Column("claim_number", "string", "claim__number"),
        Column("policy_number", "string", "claim__policy__number"),
        Column("product_code", "string", "claim__policy__product__code"),
        Column("amount", "decimal", "amount"),
        Column("currency", "string", "currency"),
        Column("reference", "string", "reference"),
        Column("paid_at", "timestamp", "created_at"),
        Column("updated_at", "timestamp", "updated_at"),
    ),
)

FACTS: dict[str, Fact] = {fact.name: fact for fact in (CLAIMS, POLICIES, PAYMENTS)}


def fact_rows(
    fact: Fact, queryset: models.QuerySet, *, hidden: Iterable[str] = (), chunk_size: int = CHUNK_SIZE
) -> Iterator[tuple]:
    """The rows of `queryset` as tuples in the fact's column order, oldest change first; `hidden` columns empty.

    No model instances and no list of rows: the database cursor is read `chunk_size` rows at a time (a server-side
    cursor on PostgreSQL).
    """
    rows = queryset.order_by("updated_at", "pk").values_list(*fact.paths).iterator(chunk_size=chunk_size)
    hidden = set(hidden)
    blank = [index for index, column in enumerate(fact.columns) if column.name in hidden]
    if not blank:
        yield from rows
        return
    for row in rows:
        values = list(row)
        for index in blank:
            values[index] = None
        yield tuple(values)


# --- CSV ---------------------------------------------------------------------------------------------------------


def _csv_timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _csv_decimal(value: Decimal) -> str:
    return format(value, "f")  # never scientific notation: 0E-2 is written 0.00


def _csv_date(value: date) -> str:
    return value.isoformat()


def _csv_bool(value: bool) -> str:
    return "true" if value else "false"


CSV_FORMATTERS: dict[str, Callable[[Any], str]] = {
    "int": str,
    "string": str,
    "decimal": _csv_decimal,
    "timestamp": _csv_timestamp,
    "date": _csv_date,
    "bool": _csv_bool,
}


def write_csv(fact: Fact, rows: Iterable[Sequence], path: Path) -> int:
    """A header row, then one line per row: UTC ISO-8601 timestamps, plain decimals, empty for null. Returns rows."""
    formatters = [CSV_FORMATTERS[column.type] for column in fact.columns]
    count = 0
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(fact.names)
        for row in rows:
            writer.writerow(["" if value is None else fmt(value) for fmt, value in zip(formatters, row, strict=True)])
            count += 1
        stream.flush()
        os.fsync(stream.fileno())
    return count


# --- Parquet -----------------------------------------------------------------------------------------------------


def _to_batch(schema: pa.Schema, columns: list[list]) -> pa.RecordBatch:
    arrays = [pa.array(values, type=field.type) for values, field in zip(columns, schema, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _record_batches(schema: pa.Schema, rows: Iterable[Sequence], size: int) -> Iterator[pa.RecordBatch]:
    """The rows as Arrow record batches of `size` rows: only one batch of Python values exists at a time."""
    width = len(schema)
    columns: list[list] = [[] for _ in range(width)]
    for row in rows:
        for index in range(width):
            columns[index].append(row[index])
        if len(columns[0]) >= size:
            yield _to_batch(schema, columns)
            columns = [[] for _ in range(width)]
    if columns[0]:
        yield _to_batch(schema, columns)


def write_parquet(fact: Fact, rows: Iterable[Sequence], path: Path, *, row_group_size: int = ROW_GROUP_SIZE) -> int:
    """The fact's explicit schema, then one row group per `row_group_size` rows, held in memory as Arrow arrays.

    With no rows the file holds the schema and no row group. Returns the number of rows.
    """
    schema = fact.arrow_schema()
    count = 0
    group: list[pa.RecordBatch] = []
    with pq.ParquetWriter(str(path), schema) as writer:
        for batch in _record_batches(schema, rows, min(ARROW_BATCH_SIZE, row_group_size)):
            group.append(batch)
            count += batch.num_rows
            if sum(part.num_rows for part in group) >= row_group_size:
                writer.write_table(pa.Table.from_batches(group, schema=schema), row_group_size=row_group_size)
                group = []
        if group:
            writer.write_table(pa.Table.from_batches(group, schema=schema), row_group_size=row_group_size)
    _fsync(path)
    return count


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


WRITERS: dict[str, Callable[[Fact, Iterable[Sequence], Path], int]] = {
    ExtractFormat.CSV: write_csv,
    ExtractFormat.PARQUET: write_parquet,
}


# --- files -------------------------------------------------------------------------------------------------------


def file_name(fact: Fact, fmt: str, until: datetime) -> str:
    """`claims-20261122T101500.123456Z.parquet`: the fact, the exact `until` of the run (UTC) and the format.

    Down to the microsecond, so the name matches the run's `until` exactly and two runs never share a file.
    """
    instant = until.astimezone(UTC)
    return f"{fact.name}-{instant:%Y%m%dT%H%M%S}.{instant:%f}Z.{fmt}"


def write_file(fact: Fact, fmt: str, rows: Iterable[Sequence], path: Path) -> int:
    """Write the extract under a hidden temporary name next to `path` and rename it when complete, so a reader
    (who ignores dot files) sees the whole file or none. Returns the number of rows."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        count = WRITERS[fmt](fact, rows, temporary)
        os.replace(temporary, path)  # atomic on one file system; the temporary file sits in the same directory
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return count
