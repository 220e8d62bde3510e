"""The KPI dashboard's charts: each KPI's totals rows turned into a chart spec (labels, series) with the same figures
as a table, so every chart has a data table for screen readers and for browsers without JavaScript."""

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from . import kpis

Number = float | int | Decimal | None


@dataclass
class Series:
    label: str
    values: list[float | None]


@dataclass
class Chart:
    id: str
    title: str
    definition: str
    kind: str  # Chart.js type: "line" or "bar"
    unit: str  # "money", "percent", "number", "hours"
    labels: list[str]
    series: list[Series] = field(default_factory=list)

    def as_json(self) -> dict:
        return asdict(self)

    @property
    def table(self) -> list[list[str]]:
        """One row per label: the label, then each series' value as people read it."""
        return [
            [label, *(display(series.values[index], self.unit) for series in self.series)]
            for index, label in enumerate(self.labels)
        ]


def display(value: Number, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "percent":
        return f"{float(value) * 100:.1f} %"
    if unit == "money":
        return f"{float(value):,.2f}"
    if unit == "hours":
        return f"{float(value):,.1f} h"
    return f"{float(value):,.4g}" if isinstance(value, float) else f"{value:,}"


def _number(value: Number) -> float | None:
    return None if value is None else float(value)


def _series(rows: Iterable[dict], months: list[str], columns: dict[str, str], *, per_currency: bool) -> list[Series]:
    """One series per column (and per currency when the rows have one), valued per month."""
    rows = list(rows)
    groups = sorted({row.get("currency") for row in rows}) if per_currency else [None]
    series = []
    for currency in groups:
        by_month = {row["month"]: row for row in rows if not per_currency or row.get("currency") == currency}
        suffix = f" ({currency})" if per_currency and len(groups) > 1 else ""
        for column, label in columns.items():
            values = [_number(by_month.get(month, {}).get(column)) for month in months]
            series.append(Series(label=f"{label}{suffix}", values=values))
    return series


MonthlyKpi = Callable[..., dict[str, list[dict]]]
# id, title, definition, chart type, unit, KPI, {column: series label}, rows carry a currency
MONTHLY_CHARTS: tuple[tuple[str, str, str, str, str, MonthlyKpi, dict[str, str], bool], ...] = (
    (
        "premium",
        "Premium written and earned",
        "Written: premium of policies whose cover starts in the month. Earned: premium pro rata for the days "
        "covered in the month.",
        "bar",
        "money",
        kpis.premium_by_month,
        {"written_premium": "Written", "earned_premium": "Earned"},
        True,
    ),
    (
        "loss-ratio",
        "Loss ratio",
        "Paid plus outstanding reserves of the claims that happened in the month, over the premium earned in it.",
        "line",
        "percent",
        kpis.loss_ratio_by_month,
        {"loss_ratio": "Loss ratio", "paid_loss_ratio": "Paid loss ratio"},
        True,
    ),
    (
        "frequency",
        "Claim frequency",
        "Claims that happened in the month per policy-year of cover given in it.",
        "line",
        "number",
        kpis.frequency_severity_by_month,
        {"frequency": "Claims per policy-year"},
        True,
    ),
    (
        "severity",
        "Claim severity",
        "Mean paid per paid claim, and mean incurred (paid plus reserve) per claim with a loss, by accident month.",
        "line",
        "money",
        kpis.frequency_severity_by_month,
        {"paid_severity": "Paid per paid claim", "incurred_severity": "Incurred per claim with a loss"},
        True,
    ),
    (
        "straight-through",
        "Straight-through rate",
        "Of the claims reported in the month with a final decision, the share the engine decided without a person.",
        "line",
        "percent",
        kpis.straight_through_by_month,
        {"straight_through_rate": "Straight-through rate"},
        False,
    ),
    (
        "fraud",
        "Fraud referral and hit rates",
        "Referral: claims reported in the month sent to investigation. Hit: confirmed fraud among concluded "
        "investigations.",
        "line",
        "percent",
        kpis.fraud_by_month,
        {"referral_rate": "Referral rate", "hit_rate": "Hit rate"},
        False,
    ),
    (
        "renewals",
        "Renewal retention",
        "Of the policies whose term ended in the month (not cancelled or lapsed), the share renewed.",
        "line",
        "percent",
        kpis.renewal_retention_by_month,
        {"retention_rate": "Retention"},
        False,
    ),
)


def charts(*, user, query: kpis.KpiQuery) -> list[Chart]:
    """Every KPI over the period as a chart of its totals (every product in scope, or the one filtered on)."""
    months = [kpis.month_key(month) for month in query.months]
    computed: dict[MonthlyKpi, dict] = {}
    result = []
    for chart_id, title, definition, kind, unit, kpi, columns, per_currency in MONTHLY_CHARTS:
        if kpi not in computed:
            computed[kpi] = kpi(user=user, query=query)
        series = _series(computed[kpi]["totals"], months, columns, per_currency=per_currency)
        result.append(Chart(chart_id, title, definition, kind, unit, months, series))
    cycle = kpis.cycle_times(user=user, query=query)["states"]
    result.append(
        Chart(
            "cycle-time",
            "Cycle time per claim status",
            "Hours a claim stayed in each status, for the stays that ended in the period (from the claim timeline).",
            "bar",
            "hours",
            [row["state"].replace("_", " ") for row in cycle],
            [
                Series("Mean hours", [row["mean_hours"] for row in cycle]),
                Series("Median hours", [row["median_hours"] for row in cycle]),
            ],
        )
    )
    return result
