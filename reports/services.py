"""Every write in reports: issuing and revoking the analytics tokens of BI service accounts, and refreshing the
book-wide KPI rollup, each with an actor."""

import secrets
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from insurance.core.audit import acting_as, system_account
from insurance.core.exceptions import ServiceError, field_error, required_text
from insurance.core.roles import Role, has_role

from . import kpis
from .models import AnalyticsToken, KpiRollup, KpiRollupAgentMonth, KpiRollupPart, token_hash
from .rollup import Family, encode_sums, reads_whole_book

# Recognisable in logs and secret scanners, and never taken for one of DRF's 40-hex-digit tokens.
TOKEN_PREFIX = "bi_"  # noqa: S105 (a prefix, not a secret)


@dataclass(frozen=True)
class IssuedToken:
    """The stored token and, once only, its secret."""

    token: AnalyticsToken
    secret: str


@transaction.atomic
def analytics_token_issue(*, actor, user, days: int | None = None, name: str = "") -> IssuedToken:
    """A new token for an analytics reader, valid `days` days (`ANALYTICS_TOKEN_DEFAULT_DAYS` by default, at most
    `ANALYTICS_TOKEN_MAX_DAYS`). The secret is returned here and never again."""
    if not has_role(user, Role.ANALYTICS_READER):
        raise field_error("user", f"{user.username} is not an analytics reader; only they get analytics tokens")
    if not user.is_active:
        raise field_error("user", f"{user.username} is inactive")
    days = settings.ANALYTICS_TOKEN_DEFAULT_DAYS if days is None else days
    if not 1 <= days <= settings.ANALYTICS_TOKEN_MAX_DAYS:
        raise field_error("days", f"must be between 1 and {settings.ANALYTICS_TOKEN_MAX_DAYS}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with acting_as(actor):
        token = AnalyticsToken.objects.create(
            user=user,
            name=name.strip(),
            prefix=secret[:10],
            key_hash=token_hash(secret),
            expires_at=timezone.now() + timedelta(days=days),
            issued_by=actor,
        )
    return IssuedToken(token=token, secret=secret)


@transaction.atomic
def analytics_token_revoke(*, actor, token: AnalyticsToken, reason: str) -> AnalyticsToken:
    """Stop a token at once. Revoking a revoked token is refused, so the first revocation's who and why stay."""
    reason = required_text(reason)
    token = AnalyticsToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise ServiceError(f"Token {token.prefix}… was revoked already.", code="conflict")
    token.revoked_at = timezone.now()
    token.revoked_by = actor
    token.revoke_reason = reason
    with acting_as(actor):
        token.save(update_fields=["revoked_at", "revoked_by", "revoke_reason", "updated_at"])
    return token


# Rollups kept after a refresh: the new one and the one before it (which a request may be reading right now).
ROLLUPS_KEPT = 2


def _by_month(cells: kpis.Cells) -> dict[str, list]:
    entries: dict[str, list] = defaultdict(list)
    for (product, currency, month), sums in sorted(cells.items()):
        entries[month].append([product, currency, encode_sums(sums)])
    return entries


def _write_agent_months(rollup: KpiRollup, month: date, *, reader) -> None:
    """One month's sums per agent, currency and product, and per agent and currency over every product
    (`product_code` ""), so a period without a product filter adds a third as many rows."""
    one = kpis.KpiQuery(first_month=month, last_month=month)
    sums, agencies = kpis._agent_cells(reader, one, by_product=True)
    every_product: dict[tuple, dict] = {}
    for (agent, currency, _product), values in sums.items():
        kpis._add(every_product, (agent, currency, ""), values)
    KpiRollupAgentMonth.objects.bulk_create(
        (
            KpiRollupAgentMonth(
                rollup=rollup,
                month=kpis.month_key(month),
                agent_id=agent,
                agency=agencies[agent],
                currency=currency,
                product_code=product,
                **values,
            )
            for (agent, currency, product), values in (*sums.items(), *every_product.items())
        ),
        batch_size=5000,
    )


def _rollup_parts(reader, first: date, last: date) -> dict[tuple[str, str], object]:
    """(family, month) -> the part's JSON, computed by the live KPI functions as `reader` (the whole book).

    Premium and exposure depend on the period they are asked for (which policies it overlaps), so they are
    computed one month at a time and summed when read; the others are keyed by month already."""
    whole = kpis.KpiQuery(first_month=first, last_month=last)
    parts: dict[tuple[str, str], object] = {}
    for family in (Family.LOSSES, Family.HANDLING, Family.RENEWALS):
        for month, entries in _by_month(kpis.LIVE_CELLS[family](reader, whole)).items():
            parts[family, month] = entries
    stays: dict[str, list] = defaultdict(list)
    for (state, product, month), histogram in sorted(kpis.stay_histograms(reader, whole).items()):
        buckets = sorted(histogram["buckets"].items())
        stays[month].append([state, product, histogram["stays"], histogram["seconds"], buckets])
    parts.update(((Family.STAYS, month), entries) for month, entries in stays.items())
    for month in whole.months:
        one = kpis.KpiQuery(first_month=month, last_month=month)
        for key, entries in _by_month(kpis.LIVE_CELLS[Family.POLICIES](reader, one)).items():
            parts[Family.POLICIES, key] = entries
    return parts


def kpi_rollup_refresh(*, actor, today: date | None = None) -> KpiRollup:
    """Recompute the book-wide KPI rollup for the `kpis.MAX_MONTHS` months up to this one, then drop all but the
    last `ROLLUPS_KEPT` rollups.

    Everything is read and written in one repeatable-read transaction, so every family describes the same moment of
    the book and a failed refresh leaves nothing behind (but its unfinished rollup row, dropped a day later);
    requests keep reading the previous rollup until this one is finished. Agents' sums (thousands of agents a
    month) are written month by month (`KpiRollupAgentMonth`, summed by the database when read), the rest as one
    JSON part per family and month."""
    reader = actor if reads_whole_book(actor) else system_account("command")
    last = (today or timezone.now().date()).replace(day=1)
    first = last - relativedelta(months=kpis.MAX_MONTHS - 1)
    started = time.perf_counter()
    with acting_as(actor):
        rollup = KpiRollup.objects.create(refreshed_by=actor, first_month=first, last_month=last)
    outermost = not connection.in_atomic_block  # a caller's transaction (a test's) keeps its own isolation
    with transaction.atomic(), acting_as(actor):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                if outermost:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cursor.execute("SET LOCAL jit = off")
                cursor.execute("SET LOCAL work_mem = '64MB'")
        parts = _rollup_parts(reader, first, last)
        for month in kpis.KpiQuery(first_month=first, last_month=last).months:
            _write_agent_months(rollup, month, reader=reader)
        # Derived rows, written in bulk: the rollup row and its history are their audit.
        KpiRollupPart.objects.bulk_create(
            [
                KpiRollupPart(rollup=rollup, family=family, month=month, sums=sums)
                for (family, month), sums in sorted(parts.items())
            ],
            batch_size=500,
        )
        rollup.finished_at = timezone.now()
        rollup.seconds = round(time.perf_counter() - started, 3)
        rollup.part_count = len(parts)
        rollup.save(update_fields=["finished_at", "seconds", "part_count", "updated_at"])
        _drop_old_rollups(actor=actor, keep=ROLLUPS_KEPT)
    return rollup


def _drop_old_rollups(*, actor, keep: int) -> None:
    """Delete rollups older than the newest `keep` finished ones, and unfinished ones left by a failed refresh.
    Their parts go first, in one statement (derived data; the rollup rows' history records the deletion)."""
    kept = list(
        KpiRollup.objects.filter(finished_at__isnull=False).order_by("-finished_at").values_list("pk", flat=True)[:keep]
    )
    stale = KpiRollup.objects.exclude(pk__in=kept).filter(
        Q(finished_at__isnull=False) | Q(created_at__lt=timezone.now() - timedelta(days=1))
    )
    stale_ids = list(stale.values_list("pk", flat=True))
    if not stale_ids:
        return
    for derived in (KpiRollupPart, KpiRollupAgentMonth):
        derived.objects.filter(rollup_id__in=stale_ids)._raw_delete(derived.objects.db)
    with acting_as(actor):
        for old in KpiRollup.objects.filter(pk__in=stale_ids):
            old.delete()
