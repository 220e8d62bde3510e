"""The book-wide KPI rollup: how its parts are stored and read back, and who it serves.

A refresh (`services.kpi_rollup_refresh`) runs the live KPI cell functions of `reports.kpis` over the whole book,
month by month, and stores each family's sums per month as a `KpiRollupPart`. A KPI asked by someone who reads the
whole book with a handler's view (underwriters, admins, analytics readers) for months inside the latest finished
rollup is then answered from those sums: a dozen small rows instead of a million claims. Everyone else, and any
period outside the rollup, is computed live; an agent's book is small and indexed, so their figures stay live.

Parts hold JSON: decimals as strings (exact), counts as integers. Keys are lists, so a product code may hold any
character.
"""

from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Sum

from insurance.core.roles import Role, user_roles
from insurance.core.scoping import is_unrestricted

from .models import KpiRollup, KpiRollupAgentMonth, KpiRollupPart
from .selectors import sees_handler_columns

Family = KpiRollupPart.Family


def encode_sums(sums: dict) -> dict:
    return {name: str(value) if isinstance(value, Decimal) else value for name, value in sums.items()}


def decode_sums(sums: dict) -> dict:
    return {name: Decimal(value) if isinstance(value, str) else value for name, value in sums.items()}


def reads_whole_book(user) -> bool:
    """The users the rollup may answer: their scope is every row and they see the handler columns, so the live
    figures they would get are exactly the whole book's."""
    if user is None or not user.is_authenticated:
        return False
    whole = is_unrestricted(user) or Role.ANALYTICS_READER in user_roles(user)
    return whole and sees_handler_columns(user)


class ServedRollup:
    """A finished rollup, read for one period: each method answers as the live function of `reports.kpis` that
    the refresh ran, summed over the period's months and filtered on its product."""

    def __init__(self, rollup: KpiRollup, query) -> None:
        self.rollup = rollup
        self.finished_at = rollup.finished_at
        self.months = [f"{month:%Y-%m}" for month in query.months]
        self.product = query.product

    def _parts(self, family: str) -> Iterable[tuple[str, object]]:
        return (
            KpiRollupPart.objects.filter(rollup=self.rollup, family=family, month__in=self.months)
            .order_by("month")
            .values_list("month", "sums")
        )

    def _wanted(self, product: str) -> bool:
        return self.product is None or product == self.product

    def cells(self, family: str) -> dict[tuple[str, str, str], dict]:
        """(product, currency, month) -> sums, as `kpis.LIVE_CELLS[family]` returns them."""
        cells = {}
        for month, entries in self._parts(family):
            for product, currency, sums in entries:
                if self._wanted(product):
                    cells[product, currency, month] = decode_sums(sums)
        return cells

    def agent_cells(self) -> tuple[dict[tuple, dict], dict]:
        """(agent id, currency) -> sums and agent id -> agency, as `kpis._agent_cells` returns them, summed over the
        period's months by the database, from the product's rows or the every-product ones ("")."""
        rows = KpiRollupAgentMonth.objects.filter(
            rollup=self.rollup, month__in=self.months, product_code=self.product or ""
        )
        sums: dict[tuple, dict] = {}
        agencies: dict = {}
        for row in (
            rows.order_by()
            .values("agent_id", "agency", "currency")
            .annotate(**{name: Sum(name) for name in KpiRollupAgentMonth.SUMS})
        ):
            agent_id, currency = row.pop("agent_id"), row.pop("currency")
            agencies[agent_id] = row.pop("agency")
            sums[agent_id, currency] = row
        return sums, agencies

    def stay_histograms(self) -> dict[tuple[str, str], dict]:
        """(status, month) -> stays, seconds and bucket counts, over the period's products."""
        histograms: dict[tuple[str, str], dict] = {}
        for month, entries in self._parts(Family.STAYS):
            for state, product, stays, seconds, buckets in entries:
                if not self._wanted(product):
                    continue
                histogram = histograms.setdefault((state, month), {"stays": 0, "seconds": 0.0, "buckets": {}})
                histogram["stays"] += stays
                histogram["seconds"] += seconds
                for bucket, count in buckets:
                    histogram["buckets"][bucket] = histogram["buckets"].get(bucket, 0) + count
        return histograms


def latest_rollup() -> KpiRollup | None:
    return KpiRollup.objects.filter(finished_at__isnull=False).order_by("-finished_at").first()


def serving_rollup(user, query) -> ServedRollup | None:
    """The latest finished rollup when it may answer `user` for every month of `query`, else None (compute live)."""
    if not reads_whole_book(user):
        return None
    rollup = latest_rollup()
    if rollup is None or not (rollup.first_month <= query.first_month and query.last_month <= rollup.last_month):
        return None
    return ServedRollup(rollup, query)
