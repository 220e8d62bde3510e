"""Imports: run a file through its mapping into the book, recording the run as an import batch."""

from __future__ import annotations

import csv
import tempfile
import uuid
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import suppress
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import connection, transaction
from django.utils import timezone

from insurance.core import outbox
from insurance.core.audit import acting_as
from insurance.core.exceptions import ServiceError

from ..choices import BatchStatus
from ..loading import BatchLoader, BatchOutcome
from ..mapping import Mapping, MappingError, RowIssue, RowParser, RowRejected, load_mapping
from ..models import ImportBatch
from ..reading import SourceError, file_sha256, open_source
from ..records import NATURAL_KEYS, RecordBuilder, RowRecords, batches_write_disjoint_rows, check_mapping

REJECT_SAMPLE_SIZE = 20
# A batch left RUNNING by a worker that died may run again: its upserts repeat without changing anything twice.
RUNNABLE = (BatchStatus.PENDING, BatchStatus.RUNNING, BatchStatus.FAILED)
PARALLEL_WRITERS = 2  # batches written at once on PostgreSQL, when no two can touch the same row


def mapping_path(name: str) -> Path:
    """A mapping by file path, or by name from `settings.IMPORT_MAPPINGS_DIR` (fixtures/mappings)."""
    path = Path(name)
    if path.suffix and path.exists():
        return path
    for suffix in (".yaml", ".yml", ".json"):
        candidate = Path(settings.IMPORT_MAPPINGS_DIR) / f"{name}{suffix}"
        if candidate.exists():
            return candidate
    raise ServiceError(f"No mapping {name!r}: give a file path or one of {', '.join(available_mappings()) or 'none'}")


def available_mappings() -> list[str]:
    directory = Path(settings.IMPORT_MAPPINGS_DIR)
    return sorted(p.stem for p in directory.glob("*") if p.suffix in (".yaml", ".yml", ".json"))


def import_batch_create(
    *, actor, file_name: str, upload, mapping_name: str, dry_run: bool = False, reject_threshold: float = 0.05
) -> ImportBatch:
    """An import waiting for a worker (the admin's upload): the file is stored and the run (`import_run`, in a
    worker) queued through the outbox in the same transaction, so an accepted upload is never left without its run."""
    from ..tasks import run_import_batch  # not at import: the tasks module imports the services

    mapping = _load(mapping_name)
    _check_threshold(reject_threshold)
    batch = ImportBatch(
        file_name=file_name[:255],
        mapping_name=mapping_name,
        mapping=mapping.raw,
        dry_run=dry_run,
        reject_threshold=reject_threshold,
        actor=actor,
    )
    batch.upload.save(f"{uuid.uuid4().hex}{Path(file_name).suffix.lower()[:6]}", upload, save=False)
    with transaction.atomic():
        _save(batch, actor)
        outbox.enqueue(run_import_batch, batch.pk)
    return batch


def import_run(
    *,
    actor,
    path: Path | None = None,
    mapping_name: str = "",
    batch: ImportBatch | None = None,
    dry_run: bool = False,
    reject_threshold: float = 0.05,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> ImportBatch:
    """Read the file, load accepted rows batch by batch and write rejected rows to a reject file.

    Either give `path` and `mapping_name` (the command), or an `ImportBatch` made by `import_batch_create`
    (the Celery task). A whole-file problem (unreadable file, bad mapping, header without a required column)
    fails the run before any row is written; a row problem rejects that row only.
    """
    if batch_size < 1:
        raise ServiceError("batch size must be at least 1")
    if batch is None:
        _check_threshold(reject_threshold)
        if path is None or not Path(path).is_file():
            raise ServiceError(f"No file at {path}")
        mapping = _load(mapping_name)
        batch = ImportBatch(
            file_name=Path(path).name,
            mapping_name=mapping_name,
            mapping=mapping.raw,
            dry_run=dry_run,
            reject_threshold=reject_threshold,
            actor=actor,
        )
    else:
        if batch.status not in RUNNABLE:
            raise ServiceError(f"Import #{batch.pk} has already run ({batch.get_status_display()}).")
        mapping = load_mapping(batch.mapping)
        path = Path(batch.upload.path)
        batch.rows_read = batch.rows_loaded = batch.rows_rejected = (
            0  # a redelivered run starts over; upserts repeat safely
        )
    batch.status, batch.started_at = BatchStatus.RUNNING, timezone.now()
    batch.sha256 = file_sha256(path)
    _save(batch, actor)
    try:
        with open_source(path, mapping.source) as source:
            parser = RowParser(mapping, source.header)
            run = _Run(batch=batch, mapping=mapping, header=source.header, actor=actor, batch_size=batch_size)
            try:
                for row in source:
                    run.take(row, parser)
                    if progress is not None:
                        progress(1)
                run.flush()
                run.finish()
            finally:
                run.close()
    except (SourceError, MappingError) as error:
        batch.status, batch.error, batch.finished_at = BatchStatus.FAILED, str(error), timezone.now()
        _save(batch, actor)
        raise ServiceError(f"Import #{batch.pk} failed: {error}") from error
    except Exception as error:  # a crash (database gone, disk full): batches already written stay, the run is FAILED
        batch.status, batch.error, batch.finished_at = BatchStatus.FAILED, repr(error)[:2000], timezone.now()
        with suppress(Exception):
            _save(batch, actor)
        raise
    _save(batch, actor)
    return batch


class _Run:
    """The state of one run: the current batch, the reject file and the natural keys already read."""

    def __init__(self, *, batch: ImportBatch, mapping: Mapping, header: list[str], actor, batch_size: int) -> None:
        self.batch = batch
        self.mapping = mapping
        self.header = header
        self.batch_size = batch_size
        self.today = timezone.localdate()
        self.sources = check_mapping(mapping)
        self.builder = RecordBuilder(record=mapping.record, sources=self.sources, today=self.today)
        self.loader = BatchLoader(
            actor=actor,
            reason=batch.change_reason,
            dry_run=batch.dry_run,
            today=self.today,
            source_name=batch.file_name,
            sources=self.sources,
        )
        self.pending: list[RowRecords] = []
        self.pending_keys: dict[str, int] = {}  # natural key -> row, for the batch being gathered
        self.raw: dict[int, list[str]] = {}
        self.counts: Counter = Counter()
        self.sample: list[dict] = []
        self.rejects = tempfile.NamedTemporaryFile("w+", encoding="utf-8", newline="", suffix=".csv", delete=False)  # noqa: SIM115
        self.writer = csv.writer(self.rejects)
        self.writer.writerow(["row", "column", "reason", *header])
        self.seen = SeenKeys()
        self.key_name = NATURAL_KEYS[mapping.record]
        # On PostgreSQL batches are written by other threads, each on its own connection, while this one reads and
        # checks the next: psycopg2 releases the GIL while the server works. The database does most of the work of
        # an import (four rows and their indexes per claim), so when no two batches can write the same row, two
        # writers keep two server processes busy. Inside a transaction (tests, callers with their own atomic block)
        # everything stays on the caller's connection.
        self.writers: list[ThreadPoolExecutor] = []
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            count = PARALLEL_WRITERS if batches_write_disjoint_rows(mapping) else 1
            self.writers = [
                ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"import-writer-{number}")
                for number in range(count)
            ]
        self.in_flight: deque[tuple[Future, dict[int, list[str]]]] = deque()  # oldest first, one per writer at most
        self.sent = 0

    def take(self, row, parser: RowParser) -> None:
        self.batch.rows_read += 1
        if row.problem:
            self.reject(row.number, [RowIssue("(row)", row.problem)], row.values or [])
            return
        try:
            parsed = parser.parse(row)
        except RowRejected as rejected:
            self.reject(row.number, rejected.issues, row.values)
            return
        records, issues = self.builder.build(parsed)
        if issues:
            self.reject(row.number, issues, row.values)
            return
        key = getattr(records, self.mapping.record)[self.key_name]
        first = self.pending_keys.get(key)
        if first is not None:
            self.reject(row.number, [self._duplicate(key, first)], row.values)
            return
        self.pending_keys[key] = row.number
        self.pending.append(records)
        self.raw[row.number] = row.values
        if len(self.pending) >= self.batch_size:
            self.flush()

    def _duplicate(self, key: str, first: int) -> RowIssue:
        column = self.sources.get(f"{self.mapping.record}.{self.key_name}", self.key_name)
        return RowIssue(column, f"{key!r} already appears in row {first}; each {self.mapping.record} once per file")

    def flush(self) -> None:
        if not self.pending:
            return
        earlier = self.seen.check_and_add(self.pending_keys)
        rows = []
        for records in self.pending:
            key = getattr(records, self.mapping.record)[self.key_name]
            if key in earlier:
                self.reject(records.number, [self._duplicate(key, earlier[key])], self.raw[records.number])
            else:
                rows.append(records)
        if not self.writers:
            self._apply(self.loader.load(rows), self.raw)
        else:
            if len(self.in_flight) >= len(self.writers):
                self._collect_oldest()  # batches go round the writers, so this frees the next one
            writer = self.writers[self.sent % len(self.writers)]
            self.in_flight.append((writer.submit(self.loader.load, rows), self.raw))
            self.sent += 1
        self.pending, self.pending_keys, self.raw = [], {}, {}

    def _collect_oldest(self) -> None:
        """Wait for the oldest batch being written in the background and record its outcome (in file order)."""
        future, raw = self.in_flight.popleft()
        self._apply(future.result(), raw)

    def _apply(self, outcome: BatchOutcome, raw: dict[int, list[str]]) -> None:
        for number, issues in outcome.rejected:
            self.reject(number, issues, raw.get(number, []))
        self.batch.rows_loaded += outcome.loaded
        self.counts.update(outcome.counts)

    def reject(self, number: int, issues: list[RowIssue], values: list[str]) -> None:
        self.batch.rows_rejected += 1
        column = "; ".join(dict.fromkeys(issue.column for issue in issues))
        reason = "; ".join(f"{issue.column}: {issue.reason}" if len(issues) > 1 else issue.reason for issue in issues)
        self.writer.writerow([number, column, reason, *values])
        if len(self.sample) < REJECT_SAMPLE_SIZE:
            self.sample.append({"row": number, "column": column, "reason": reason})

    def finish(self) -> None:
        while self.in_flight:
            self._collect_oldest()
        batch = self.batch
        batch.counts = dict(sorted(self.counts.items()))
        batch.reject_sample = self.sample
        batch.finished_at = timezone.now()
        rate = batch.rows_rejected / batch.rows_read if batch.rows_read else 0.0
        batch.status = BatchStatus.REJECTED if rate > batch.reject_threshold else BatchStatus.DONE
        if batch.rows_rejected:
            self.rejects.seek(0)
            batch.rejects.save(f"import-{batch.pk}-rejects.csv", File(self.rejects), save=False)

    def close(self) -> None:
        if self.in_flight:
            futures = [future for future, _ in self.in_flight]
            for future in futures:
                future.cancel()
            wait(futures)
        for writer in self.writers:
            writer.submit(_close_connection).result()  # the writer thread's own connection
            writer.shutdown()
        self.seen.close()
        self.rejects.close()
        Path(self.rejects.name).unlink(missing_ok=True)


class SeenKeys:
    """Natural keys already read in this run, kept in a temporary table so that memory stays flat on any file."""

    def __init__(self) -> None:
        self.table = f"etl_seen_{uuid.uuid4().hex[:12]}"
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE {self.table} (k varchar(255) PRIMARY KEY, row_number integer)")

    def check_and_add(self, keys: dict[str, int]) -> dict[str, int]:
        """Of `keys` (key -> row), those read before, with the row they were first read in; remembers the rest."""
        if connection.vendor == "postgresql":
            return self._check_and_add_postgresql(keys)
        found: dict[str, int] = {}
        items = list(keys.items())
        with connection.cursor() as cursor:
            for start in range(0, len(items), 500):
                chunk = [key for key, _ in items[start : start + 500]]
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(f"SELECT k, row_number FROM {self.table} WHERE k IN ({marks})", chunk)  # noqa: S608
                found.update(cursor.fetchall())
            new = [(key, number) for key, number in items if key not in found]
            for start in range(0, len(new), 500):
                chunk = new[start : start + 500]
                marks = ", ".join(["(%s, %s)"] * len(chunk))
                params = [value for pair in chunk for value in pair]
                cursor.execute(f"INSERT INTO {self.table} (k, row_number) VALUES {marks}", params)  # noqa: S608
        return found

    def _check_and_add_postgresql(self, keys: dict[str, int]) -> dict[str, int]:
        """One statement a batch: its query sees the table as it was before the insert beside it, so it returns
        exactly the keys of earlier batches."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                WITH given AS (SELECT * FROM unnest(%s::text[], %s::integer[]) AS g (k, row_number)),
                added AS (
                    INSERT INTO {self.table} (k, row_number) SELECT k, row_number FROM given ON CONFLICT DO NOTHING
                )
                SELECT t.k, t.row_number FROM {self.table} t JOIN given ON given.k = t.k
                """,  # noqa: S608 (the table name is ours)
                [list(keys), list(keys.values())],
            )
            return dict(cursor.fetchall())

    def close(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")


def _close_connection() -> None:
    connection.close()  # `connection` is per thread: this closes the calling thread's


def _load(mapping_name: str) -> Mapping:
    try:
        mapping = load_mapping(mapping_path(mapping_name))
        check_mapping(mapping)
        return mapping
    except MappingError as error:
        raise ServiceError(f"The mapping {mapping_name!r} is not valid: {error}") from error


def _check_threshold(value: float) -> None:
    if not 0 <= value <= 1:
        raise ServiceError(f"The reject threshold is a share between 0 and 1, not {value}")


def _save(batch: ImportBatch, actor) -> None:
    with acting_as(actor), transaction.atomic():
        batch.save()
