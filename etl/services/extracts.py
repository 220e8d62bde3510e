"""Incremental warehouse extracts: write the rows of a fact that changed since the last run, and record the run.

Window. A run reads the rows with `since < updated_at <= until`. `until` is the instant the run starts; `since` is,
in order: nothing for a full extract, the `since` asked for, or the watermark of earlier runs minus an overlap.

Watermark. The `until` of the earlier runs of the same fact, format and actor, as far as they cover time without a
gap: each run whose `since` falls at or before the coverage so far extends it, a full run starts it again, and a run
asked to start later (a `--since` past the watermark) leaves it alone, so no later run skips the rows in between.
Runs are kept per actor because an actor's scope decides which rows a run saw.

Overlap. `updated_at` is stamped when a row is saved, not when its transaction commits, so a row committed after a
run may carry an `updated_at` before that run's `until`. Every incremental run therefore re-reads
`EXTRACT_OVERLAP_SECONDS` (default 300) before the watermark. Rows in the overlap are sent again: the warehouse keeps
one row per (key, updated_at), e.g. (claim_id, updated_at), and the latest `updated_at` per key is the current row.

Not captured: a change to a joined row (a product's code, a holder's region) does not touch the fact row's
`updated_at`, so the joined column is refreshed only when the row itself changes or by a `--full` extract; rows are
never deleted (claims, policies and payments are protected), so there are no deletes to send.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from insurance.core.audit import acting_as
from insurance.core.exceptions import ServiceError

from .. import extracts
from ..choices import ExtractFormat
from ..models import ExtractRun

PATH_MAX_LENGTH = ExtractRun._meta.get_field("path").max_length


def overlap() -> timedelta:
    return timedelta(seconds=getattr(settings, "EXTRACT_OVERLAP_SECONDS", 300))


def _may(actor, permission: str) -> bool:
    """System accounts read the whole book (as in `restrict`); they are inactive, so `has_perm` would say no."""
    return bool(getattr(actor, "is_system", False) or actor.has_perm(permission))


def extract_watermark(*, actor, fact: str, fmt: str) -> datetime | None:
    """The end of the unbroken coverage of earlier runs of (fact, format, actor); None when there is none."""
    runs = ExtractRun.objects.filter(fact=fact, format=fmt, actor=actor)
    last_full = runs.filter(since__isnull=True).order_by("-until").values_list("until", flat=True).first()
    if last_full is not None:
        runs = runs.filter(until__gte=last_full)  # a full run covers everything before it
    covered: datetime | None = None
    for since, until in runs.order_by("until", "pk").values_list("since", "until").iterator():
        if covered is None or since is None or since <= covered:
            covered = until if covered is None else max(covered, until)
    return covered


def _fact(name: str) -> extracts.Fact:
    try:
        return extracts.FACTS[name]
    except KeyError:
        raise ServiceError(f"Unknown fact {name!r}: one of {', '.join(extracts.FACTS)}.") from None


def extract_write(
    *,
    actor,
    fact: str,
    fmt: str,
    out_dir: Path,
    since: datetime | None = None,
    full: bool = False,
    chunk_size: int = extracts.CHUNK_SIZE,
) -> ExtractRun:
    """Write the rows of `fact` that `actor` may see and that changed in the window to one `fmt` file in `out_dir`,
    and record the run (its `until` is the next run's watermark)."""
    definition = _fact(fact)
    if fmt not in ExtractFormat.values:
        raise ServiceError(f"Unknown format {fmt!r}: one of {', '.join(ExtractFormat.values)}.")
    if full and since is not None:
        raise ServiceError("A full extract has no since: give one or the other.")
    if since is not None and timezone.is_naive(since):
        raise ServiceError("since needs a time zone (e.g. 2026-11-22T10:15:00Z).")
    if not _may(actor, definition.view_permission):
        raise ServiceError(f"{actor.username} may not read {fact} ({definition.view_permission}).", code="forbidden")

    until = timezone.now()
    if since is not None and since >= until:
        raise ServiceError(f"since {since.isoformat()} is not in the past.")
    if not full and since is None:
        watermark = extract_watermark(actor=actor, fact=fact, fmt=fmt)
        since = None if watermark is None else watermark - overlap()

    out_dir = Path(out_dir).resolve()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ServiceError(f"Cannot write to {out_dir}: {error.strerror or error}") from error
    path = out_dir / extracts.file_name(definition, fmt, until)
    if len(str(path)) > PATH_MAX_LENGTH:
        raise ServiceError(f"The output path is longer than {PATH_MAX_LENGTH} characters: {path}")
    if path.exists():
        raise ServiceError(f"{path} exists already; it is never overwritten.", code="conflict")

    queryset = definition.model.objects.restrict(actor, "view").filter(updated_at__lte=until)
    if since is not None:
        queryset = queryset.filter(updated_at__gt=since)
    hidden = [c.name for c in definition.columns if c.permission and not _may(actor, c.permission)]
    rows = extracts.fact_rows(definition, queryset, hidden=hidden, chunk_size=chunk_size)
    try:
        count = extracts.write_file(definition, fmt, rows, path)
    except OSError as error:
        raise ServiceError(f"Cannot write {path}: {error.strerror or error}") from error

    # Recorded after the file is in place: a run that fails in between leaves a file and no watermark, and the next
    # run sends the same rows again, which the warehouse's (key, updated_at) deduplication absorbs.
    with acting_as(actor):
        return ExtractRun.objects.create(
            fact=fact, format=fmt, since=since, until=until, rows=count, path=str(path), actor=actor
        )
