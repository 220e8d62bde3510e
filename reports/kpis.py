"""The KPIs that run an insurance book, computed in the database over the caller's scope.

Every function takes the user and a `KpiQuery` (months and an optional product) and starts from the scoped
selectors (`claim_facts`, `policy_facts`), so an agent's figures cover their book and nothing else. The database
does the counting and summing (conditional aggregates, sums by the day a policy's cover starts and stops for what
spans months, and window functions for the timeline); Python only walks those day sums through the period, pivots the
few aggregated rows into months and divides sums into ratios. Each KPI runs in one transaction without PostgreSQL's
JIT (`in_database`), and an agent's scope is restated on indexed columns (`_narrowed`) so only their book is read.

Months are UTC calendar months. Money is summed per currency, never across currencies: each row names its product
and currency, and the totals rows (product null) are per currency. Ratios are null where their denominator is 0.

Agents see what the claims API shows them: no reserves and no fraud findings. Their loss ratios are on paid
losses only (the incurred figures are null), their cycle times show an investigation as a review, and the
straight-through and fraud KPIs need a claim handler (`straight_through_by_month` and `fraud_by_month` are for
`sees_handler_columns` users; the API answers agents 403).
"""

import functools
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    TextField,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Greatest, Lead, Least

from accounts.models import CustomerProfile
from claims.choices import ClaimStatus, DecisionOutcome, InvestigationOutcome
from claims.models import Claim, ClaimEvent
from insurance.core.roles import Role, user_roles
from insurance.core.scoping import active_grants, is_unrestricted
from policies.choices import PolicyStatus
from policies.models import Policy, Product

from .rollup import serving_rollup
from .selectors import claim_facts, policy_facts, sees_handler_columns

# A policy that was issued (bound), whatever became of it since.
ISSUED = (
    PolicyStatus.IN_FORCE,
    PolicyStatus.CANCELLED,
    PolicyStatus.LAPSED,
    PolicyStatus.EXPIRED,
    PolicyStatus.RENEWED,
)
# Issued and not ended early: such a policy reaches its expiry date and is due for renewal there.
RAN_TO_EXPIRY = (PolicyStatus.IN_FORCE, PolicyStatus.EXPIRED, PolicyStatus.RENEWED)
FINAL_DECISIONS = (DecisionOutcome.APPROVE, DecisionOutcome.DENY)
CONCLUDED = (InvestigationOutcome.CONFIRMED_FRAUD, InvestigationOutcome.LEGITIMATE)
DAYS_PER_YEAR = 365
MAX_MONTHS = 60
CENT = Decimal("0.01")
ZERO = Decimal("0")
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


# --- SQL that PostgreSQL and SQLite agree on ------------------------------------------------------------------


class EpochDay(Func):
    """Whole days since 1970-01-01 of a date, so date spans are integer arithmetic on both databases."""

    output_field = IntegerField()
    template = "(%(expressions)s - DATE '1970-01-01')"

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="CAST(julianday(%(expressions)s) - 2440587.5 AS INTEGER)")


class EpochSeconds(Func):
    """Seconds since 1970-01-01 UTC of a timestamp."""

    output_field = FloatField()
    template = "CAST(EXTRACT(EPOCH FROM %(expressions)s) AS DOUBLE PRECISION)"

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)")


class MonthKey(Func):
    """'YYYY-MM' of a date or a UTC timestamp: a text key that groups and compares the same on both databases."""

    output_field = TextField()
    template = "to_char(%(expressions)s, 'YYYY-MM')"

    def as_postgresql(self, compiler, connection, **extra):
        source = self.source_expressions[0]
        if source.output_field.get_internal_type() == "DateTimeField":
            return self.as_sql(compiler, connection, template="to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM')")
        return self.as_sql(compiler, connection)

    def as_sqlite(self, compiler, connection, **extra):
        # SQLite keeps dates and UTC timestamps as ISO text: the month is the first seven characters.
        return self.as_sql(compiler, connection, template="substr(%(expressions)s, 1, 7)")


class Ratio(Func):
    """numerator / denominator as a decimal, null for 0. SQLite divides two integers as integers: it divides reals."""

    arity = 2
    output_field = DecimalField()
    arg_joiner = " / NULLIF("
    template = "(%(expressions)s, 0))"

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="(CAST(%(expressions)s, 0))", arg_joiner=" AS REAL) / NULLIF("
        )


# --- the query ------------------------------------------------------------------------------------------------


def month_key(month: date) -> str:
    return f"{month:%Y-%m}"


@dataclass(frozen=True)
class KpiQuery:
    """Whole UTC months from `first_month` to `last_month` (both the 1st of their month, inclusive), and optionally
    one product (its code)."""

    first_month: date
    last_month: date
    product: str | None = None

    @property
    def months(self) -> list[date]:
        count = (self.last_month.year - self.first_month.year) * 12 + self.last_month.month - self.first_month.month
        return [self.first_month + relativedelta(months=index) for index in range(count + 1)]

    @property
    def start(self) -> date:
        return self.first_month

    @property
    def end(self) -> date:
        """The day after the period (exclusive)."""
        return self.last_month + relativedelta(months=1)

    @property
    def start_at(self) -> datetime:
        return datetime(self.start.year, self.start.month, 1, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        return datetime(self.end.year, self.end.month, 1, tzinfo=UTC)


def default_query(today: date, *, product: str | None = None) -> KpiQuery:
    """The twelve months up to and including the current one."""
    last = today.replace(day=1)
    return KpiQuery(first_month=last - relativedelta(months=11), last_month=last, product=product)


def in_database(function):
    """Run a KPI in one transaction without PostgreSQL's JIT compilation. The KPI queries are aggregates with many
    expressions, so their estimated cost passes `jit_above_cost` and PostgreSQL spent seconds (3 to 7 s on the bench
    book, more than the queries themselves) compiling them on every call."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL jit = off")
                    # Sorts and hashes of a few hundred thousand rows (the claims whose timelines the cycle times
                    # read, the policy groups) stay in memory rather than going to temporary files.
                    cursor.execute("SET LOCAL work_mem = '64MB'")
            return function(*args, **kwargs)

    return wrapper


def _narrowed(queryset: QuerySet, user, holder: str) -> QuerySet:
    """The scoped queryset with the same scope restated on indexed columns, for a user whose scope is not the whole
    book: the customers they are or serve (`holder`, the path to the policy holder's id) and the rows granted to
    them, as id lists. The scope (`restrict`) joins every row to its holder's profile and agent before it can tell,
    so an agent's KPIs read the whole book; with these lists the database reads only the agent's rows. The scope's
    own filter stays: these lists only narrow, never widen, what it allows."""
    if user is None or not user.is_authenticated or is_unrestricted(user):
        return queryset
    roles = user_roles(user)
    if Role.ANALYTICS_READER in roles:
        return queryset  # the whole book: nothing to narrow
    holders = {user.pk} if roles & {Role.CUSTOMER, Role.AGENT} else set()
    if Role.AGENT in roles:
        holders.update(CustomerProfile.objects.filter(agent__user=user).values_list("user_id", flat=True))
    granted = [int(pk) for pk in active_grants(user, queryset.model, "view").values_list("object_pk", flat=True)]
    narrow = Q(**{f"{holder}__in": sorted(holders)})
    return queryset.filter(narrow | Q(pk__in=granted) if granted else narrow)


def _policies(user, query: KpiQuery) -> QuerySet[Policy]:
    policies = _narrowed(policy_facts(user=user), user, "holder_id").filter(status__in=ISSUED)
    return policies.filter(product__code=query.product) if query.product else policies


def _claims(user, query: KpiQuery) -> QuerySet[Claim]:
    claims = _narrowed(claim_facts(user=user), user, "policy__holder_id")
    return claims.filter(policy__product__code=query.product) if query.product else claims


# --- arithmetic on aggregated rows ----------------------------------------------------------------------------


def money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def ratio(numerator, denominator, places: int = 4) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(float(numerator) / float(denominator), places)


def years(days) -> float:
    return round(float(days or 0) / DAYS_PER_YEAR, 4)


Cells = dict[tuple[str, str, str], dict[str, Decimal | int]]  # (product, currency, month) -> sums


def _add(cells: Cells, key: tuple[str, str, str], values: dict) -> None:
    cell = cells.setdefault(key, {})
    for name, value in values.items():
        cell[name] = cell.get(name, 0) + (value or 0)


def _rows(query: KpiQuery, cells: Cells, finish, *, by_currency: bool = True) -> dict[str, list[dict]]:
    """Dense rows, one per product (and currency) per month of the period, and per-currency totals per month; each
    row's figures derived from its sums by `finish`."""
    groups = sorted({(product, currency) for product, currency, _ in cells})
    totals: Cells = {}
    for (_product, currency, month), sums in cells.items():
        _add(totals, ("", currency, month), sums)
    results, total_rows = [], []
    for product, currency in groups:
        for month in map(month_key, query.months):
            row = {"month": month, "product_code": product, **finish(cells.get((product, currency, month), {}))}
            results.append({**row, "currency": currency} if by_currency else row)
    for currency in sorted({currency for _, currency in groups}):
        for month in map(month_key, query.months):
            row = {"month": month, "product_code": None, **finish(totals.get(("", currency, month), {}))}
            total_rows.append({**row, "currency": currency} if by_currency else row)
    return {"results": results, "totals": total_rows}


# --- premium and exposure -------------------------------------------------------------------------------------


def _cover_end():
    """The day cover stopped: expiry, or cancellation or lapse when earlier."""
    expiry = EpochDay("expiry_date")
    return Least(
        expiry,
        EpochDay(Coalesce("cancelled_on", "expiry_date")),
        EpochDay(Coalesce("lapsed_on", "expiry_date")),
    )


def _covered_days(start: date, end: date):
    """Days of cover a policy gave within [start, end)."""
    first, after = (start - date(1970, 1, 1)).days, (end - date(1970, 1, 1)).days
    return Greatest(
        Value(0),
        Least(_cover_end(), Value(after)) - Greatest(EpochDay("effective_date"), Value(first)),
        output_field=IntegerField(),
    )


def _earned(covered):
    """Premium pro rata for the days covered, over the whole term (as a cancellation earns it)."""
    term = EpochDay("expiry_date") - EpochDay("effective_date")
    return Ratio(ExpressionWrapper(F("premium") * covered, output_field=DecimalField()), term)


def _policy_cells(user, query: KpiQuery) -> Cells:
    """Written premium, earned premium and exposure days per product, currency and month.

    A policy earns premium / term a day over the days it covers, so the earned premium of a day is the sum of that
    daily rate over the policies covering it, and its exposure their count. One query reads the policies once and
    sums rate and count by the days their cover starts and stops within the period (policies written in the period
    start on their effective date, so it counts them too); Python walks the days of the period, adding what starts
    and taking off what stops. Summing each policy's share month by month in the database instead (twelve sets of
    aggregates over every policy) took seconds on a million policies."""
    start, end = (query.start - date(1970, 1, 1)).days, (query.end - date(1970, 1, 1)).days
    covers = Q(cover_to__gt=F("cover_from"))
    written = Q(effective_date__gte=query.start)
    rows = (
        _policies(user, query)
        .filter(effective_date__lt=query.end, expiry_date__gt=query.start)
        .annotate(
            cover_from=Greatest(EpochDay("effective_date"), Value(start), output_field=IntegerField()),
            cover_to=Least(_cover_end(), Value(end), output_field=IntegerField()),
        )
        .order_by()
        .values("product__code", "currency", "cover_from", "cover_to")
        .annotate(
            rate=Sum(Ratio("premium", EpochDay("expiry_date") - EpochDay("effective_date")), filter=covers),
            covering=Count("pk", filter=covers),
            policies_written=Count("pk", filter=written),
            written_premium=Sum("premium", filter=written),
        )
    )
    cells: Cells = {}
    changes: dict[tuple[str, str], dict[int, list]] = defaultdict(lambda: defaultdict(lambda: [ZERO, 0]))
    for row in rows:
        group = (row["product__code"], row["currency"])
        # Every group gets its rows, even one whose policies covered no day of the period.
        _add(cells, (*group, month_key(_day(max(row["cover_from"], start)))), {})
        if row["policies_written"]:
            _add(
                cells,
                (*group, month_key(_day(row["cover_from"]))),
                {"policies_written": row["policies_written"], "written_premium": row["written_premium"]},
            )
        if row["covering"]:
            rate = _decimal(row["rate"])
            for day, sign in ((row["cover_from"], 1), (row["cover_to"], -1)):
                change = changes[group][day]
                change[0] += sign * rate
                change[1] += sign * row["covering"]
    for group, by_day in changes.items():
        rate_now, covering = ZERO, 0
        for day in range(start, end):
            if day in by_day:
                rate_now, covering = rate_now + by_day[day][0], covering + by_day[day][1]
            if covering:
                _add(cells, (*group, month_key(_day(day))), {"earned_premium": rate_now, "exposure_days": covering})
    return cells


def _day(epoch_day: int) -> date:
    return date.fromordinal(EPOCH_ORDINAL + epoch_day)


def _decimal(value) -> Decimal:
    """A sum as a Decimal: SQLite sums reals into a float."""
    return value if isinstance(value, Decimal) else Decimal(str(value or 0))


@in_database
def premium_by_month(*, user, query: KpiQuery) -> dict[str, list[dict]]:
    """Premium written (policies whose cover starts in the month) and earned (pro rata for the days covered in the
    month), per product and month."""

    def finish(sums: dict) -> dict:
        return {
            "policies_written": sums.get("policies_written", 0),
            "written_premium": money(sums.get("written_premium")),
            "earned_premium": money(sums.get("earned_premium")),
            "exposure_policy_years": years(sums.get("exposure_days")),
        }

    return _rows(query, _cells(user, query, "policies"), finish)


# --- losses ---------------------------------------------------------------------------------------------------


def _loss_cells(user, query: KpiQuery) -> Cells:
    """Claims by accident month (the month of the incident): count, paid to date and outstanding reserve now."""
    incurred = F("paid_amount") + F("reserve_amount")
    rows = (
        _claims(user, query)
        .filter(incident_at__gte=query.start_at, incident_at__lt=query.end_at)
        .annotate(month=MonthKey("incident_at"))
        .order_by()
        .values("policy__product__code", "currency", "month")
        .annotate(
            claims=Count("pk"),
            paid=Sum("paid_amount"),
            reserves=Sum("reserve_amount"),
            claims_with_payment=Count("pk", filter=Q(paid_amount__gt=0)),
            claims_with_loss=Count("pk", filter=Q(paid_amount__gt=0) | Q(reserve_amount__gt=0)),
            incurred=Sum(incurred),
        )
    )
    cells: Cells = {}
    for row in rows:
        key = (row.pop("policy__product__code"), row.pop("currency"), row.pop("month"))
        _add(cells, key, row)
    return cells


def _cells(user, query: KpiQuery, family: str) -> Cells:
    """A KPI family's cells: from the book-wide rollup when it serves this user and period, else computed live."""
    rollup = serving_rollup(user, query)
    if rollup is not None:
        return rollup.cells(family)
    return LIVE_CELLS[family](user, query)


def _merge(*sources: Cells) -> Cells:
    merged: Cells = {}
    for cells in sources:
        for key, sums in cells.items():
            _add(merged, key, sums)
    return merged


@in_database
def loss_ratio_by_month(*, user, query: KpiQuery) -> dict[str, list[dict]]:
    """Incurred losses (paid plus outstanding reserves) of the claims that happened in the month over the premium
    earned in the month; agents get the paid loss ratio only."""
    full = sees_handler_columns(user)

    def finish(sums: dict) -> dict:
        earned = money(sums.get("earned_premium"))
        paid = money(sums.get("paid"))
        incurred = money(sums.get("incurred"))
        return {
            "earned_premium": earned,
            "claims": sums.get("claims", 0),
            "paid": paid,
            "outstanding_reserves": money(sums.get("reserves")) if full else None,
            "incurred": incurred if full else None,
            "loss_ratio": ratio(incurred, earned) if full else None,
            "paid_loss_ratio": ratio(paid, earned),
        }

    return _rows(query, _merge(_cells(user, query, "policies"), _cells(user, query, "losses")), finish)


@in_database
def frequency_severity_by_month(*, user, query: KpiQuery) -> dict[str, list[dict]]:
    """Claim frequency (claims that happened in the month per policy-year of cover given in the month) and severity
    (paid per claim with a payment; incurred per claim with a loss), per product and month."""
    full = sees_handler_columns(user)

    def finish(sums: dict) -> dict:
        claims, exposure_days = sums.get("claims", 0), sums.get("exposure_days", 0)
        return {
            "claims": claims,
            "exposure_policy_years": years(exposure_days),
            "frequency": ratio(claims * DAYS_PER_YEAR, exposure_days),
            "claims_with_payment": sums.get("claims_with_payment", 0),
            "paid": money(sums.get("paid")),
            "paid_severity": ratio(sums.get("paid"), sums.get("claims_with_payment"), 2),
            "claims_with_loss": sums.get("claims_with_loss", 0) if full else None,
            "incurred": money(sums.get("incurred")) if full else None,
            "incurred_severity": ratio(sums.get("incurred"), sums.get("claims_with_loss"), 2) if full else None,
        }

    return _rows(query, _merge(_cells(user, query, "policies"), _cells(user, query, "losses")), finish)


# --- handling: straight-through and fraud ---------------------------------------------------------------------


def _sent_to_investigation() -> Exists:
    return Exists(ClaimEvent.objects.filter(claim=OuterRef("pk"), to_status=ClaimStatus.INVESTIGATION))


def _referred(row: dict) -> bool:
    """Referred to investigation: the timeline shows it was sent there, or it carries an investigation's outcome
    (imported claims have the outcome without the timeline)."""
    return bool(row["sent_to_investigation"]) or row["investigation_outcome"] in CONCLUDED


def _with_referral(claims: QuerySet[Claim], *keys: str) -> QuerySet[Claim]:
    """`claims` grouped by `keys` and by what a referral depends on (whether the timeline shows a referral, and the
    investigation outcome), so the timeline is probed once per claim; `_referred` then reads each group. Counted
    in filters, the probe ran once per aggregate that used it."""
    return (
        claims.annotate(sent_to_investigation=_sent_to_investigation())
        .order_by()
        .values(*keys, "sent_to_investigation", "investigation_outcome")
    )


def _handling_cells(user, query: KpiQuery) -> Cells:
    """Claims by report month: decisions, straight-through decisions, referrals and investigation outcomes."""
    decided = Q(decision_outcome__in=FINAL_DECISIONS)
    straight = decided & Q(decided_by_person=False)
    claims = _claims(user, query).filter(reported_at__gte=query.start_at, reported_at__lt=query.end_at)
    rows = _with_referral(claims.annotate(month=MonthKey("reported_at")), "policy__product__code", "month").annotate(
        claims_reported=Count("pk"),
        claims_decided=Count("pk", filter=decided),
        straight_through=Count("pk", filter=straight),
    )
    cells: Cells = {}
    for row in rows:
        referred = _referred(row)
        fraud = row["investigation_outcome"] == InvestigationOutcome.CONFIRMED_FRAUD
        _add(
            cells,
            (row["policy__product__code"], "", row["month"]),
            {
                "claims_reported": row["claims_reported"],
                "claims_decided": row["claims_decided"],
                "straight_through": row["straight_through"],
                "straight_through_confirmed_fraud": row["straight_through"] if fraud else 0,
                "referred": row["claims_reported"] if referred else 0,
                "concluded": row["claims_reported"] if referred and row["investigation_outcome"] in CONCLUDED else 0,
                "confirmed_fraud": row["claims_reported"] if referred and fraud else 0,
            },
        )
    return cells


@in_database
def straight_through_by_month(*, user, query: KpiQuery) -> dict[str, list[dict]]:
    """Of the claims reported in the month that have a final decision (approved or denied), the share the decision
    engine decided without a person, and how many of those an investigation later found fraudulent."""

    def finish(sums: dict) -> dict:
        return {
            "claims_decided": sums.get("claims_decided", 0),
            "straight_through": sums.get("straight_through", 0),
            "straight_through_rate": ratio(sums.get("straight_through"), sums.get("claims_decided")),
            "straight_through_confirmed_fraud": sums.get("straight_through_confirmed_fraud", 0),
        }

    return _rows(query, _cells(user, query, "handling"), finish, by_currency=False)


@in_database
def fraud_by_month(*, user, query: KpiQuery) -> dict[str, list[dict]]:
    """Referral rate (claims reported in the month that were sent to investigation) and hit rate (confirmed fraud
    among the referred claims whose investigation concluded)."""

    def finish(sums: dict) -> dict:
        return {
            "claims_reported": sums.get("claims_reported", 0),
            "referred": sums.get("referred", 0),
            "referral_rate": ratio(sums.get("referred"), sums.get("claims_reported")),
            "concluded": sums.get("concluded", 0),
            "confirmed_fraud": sums.get("confirmed_fraud", 0),
            "hit_rate": ratio(sums.get("confirmed_fraud"), sums.get("concluded")),
        }

    return _rows(query, _cells(user, query, "handling"), finish, by_currency=False)


# --- renewals -------------------------------------------------------------------------------------------------


def _renewal_cells(user, query: KpiQuery) -> Cells:
    """Policies that reached their expiry date in the month (issued, not cancelled or lapsed) and how many of them
    were renewed (their renewal was bound), per product and month."""
    renewals = policy_facts(user=user).filter(renewal_of=OuterRef("pk"), status__in=ISSUED)
    rows = (
        _policies(user, query)
        .filter(status__in=RAN_TO_EXPIRY, expiry_date__gte=query.start, expiry_date__lt=query.end)
        .annotate(month=MonthKey("expiry_date"), was_renewed=Exists(renewals))
        .order_by()
        .values("product__code", "month")
        .annotate(due=Count("pk"), renewed=Count("pk", filter=Q(was_renewed=True)))
    )
    cells: Cells = {}
    for row in rows:
        _add(cells, (row.pop("product__code"), "", row.pop("month")), row)
    return cells


@in_database
def renewal_retention_by_month(*, user, query: KpiQuery) -> dict[str, list[dict]]:
    """Of the policies that reached their expiry date in the month (issued, not cancelled or lapsed), the share whose
    renewal was bound."""

    def finish(sums: dict) -> dict:
        return {
            "due_for_renewal": sums.get("due", 0),
            "renewed": sums.get("renewed", 0),
            "retention_rate": ratio(sums.get("renewed"), sums.get("due")),
        }

    return _rows(query, _cells(user, query, "renewals"), finish, by_currency=False)


# --- cycle time -----------------------------------------------------------------------------------------------


def _stays_sql(user, query: KpiQuery, *, with_product: bool = False) -> tuple[str, list]:
    """Each stay in a status from the timeline: the status, and when it was entered and left (epoch seconds). A stay
    lasts from the event that entered the status to the next status change of the claim (LEAD over the claim's
    events); the current stay of a claim has no end yet. Only claims with a status change in the period can have a
    stay that ended in it, so only their timelines are read. Agents see an investigation as a review, as the claims
    API shows it to them. `with_product` adds the claim's product code (`product`), for the rollup."""
    state = F("to_status")
    if not sees_handler_columns(user):
        state = Case(
            When(to_status=ClaimStatus.INVESTIGATION, then=Value(ClaimStatus.UNDER_REVIEW.value)),
            default=F("to_status"),
            output_field=TextField(),
        )
    timeline = Window(Lead("created_at"), partition_by=[F("claim_id")], order_by=[F("created_at").asc(), F("pk").asc()])
    changed = (
        ClaimEvent.objects.filter(created_at__gte=query.start_at, created_at__lt=query.end_at)
        .exclude(to_status="")
        .values("claim_id")
    )
    events = (
        ClaimEvent.objects.filter(claim__in=_claims(user, query).filter(pk__in=changed).values("pk"))
        .filter(created_at__lt=query.end_at)
        .exclude(to_status="")
        .annotate(state=state, entered_s=EpochSeconds("created_at"), left_s=EpochSeconds(timeline))
        .order_by()
    )
    if with_product:
        events = events.annotate(product=F("claim__policy__product__code"))
    events = events.values("state", "entered_s", "left_s", *(["product"] if with_product else []))
    sql, params = events.query.sql_with_params()
    return sql, list(params)


def _month_of_epoch(column: str) -> str:
    """SQL for the 'YYYY-MM' (UTC) of epoch seconds in `column`, on either database."""
    if connection.vendor == "postgresql":
        return f"to_char(to_timestamp({column}) AT TIME ZONE 'UTC', 'YYYY-MM')"
    return f"strftime('%%Y-%%m', {column}, 'unixepoch')"


@in_database
def cycle_times(*, user, query: KpiQuery) -> dict[str, list[dict]]:
    """Time spent in each claim status, from the timeline: stays that ended (the claim moved on) in the period,
    over the whole period (`states`) and per month they ended (`by_month`).

    Count, mean and median hours per status (and month left), in one statement that reads the timeline once for
    both. The median is the middle stay (the mean of the two middle ones for an even count) by ROW_NUMBER, which
    both databases have (SQLite has no percentile_cont)."""
    rollup = serving_rollup(user, query)
    if rollup is not None:
        return _cycle_times_from_histograms(rollup.stay_histograms())
    stays_sql, params = _stays_sql(user, query)
    start, end = (query.start_at.timestamp(), query.end_at.timestamp())

    def summary(keys: str, month: str) -> str:
        return f"""
            SELECT state, {month}, COUNT(*), AVG(seconds),
                   AVG(CASE WHEN position IN ((stays + 1) / 2, (stays + 2) / 2) THEN seconds END)
            FROM (
                SELECT state, left_month, seconds,
                       ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY seconds) AS position,
                       COUNT(*) OVER (PARTITION BY {keys}) AS stays
                FROM completed
            ) ranked
            GROUP BY {keys}
        """  # noqa: S608 (our own SQL)

    sql = f"""
        WITH completed AS (
            SELECT state, {_month_of_epoch("left_s")} AS left_month, left_s - entered_s AS seconds
            FROM ({stays_sql}) timeline
            WHERE left_s IS NOT NULL AND left_s >= %s AND left_s < %s
        )
        {summary("state", "NULL")}
        UNION ALL
        {summary("state, left_month", "left_month")}
    """  # noqa: S608 (the only interpolated text is our own SQL; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, start, end])
        fetched = cursor.fetchall()
    states, by_month = [], []
    for state, month, count, mean, median in sorted(
        fetched, key=lambda row: (row[1] is not None, row[0], row[1] or "")
    ):
        figures = {
            "state": state,
            "stays": count,
            "mean_hours": round(float(mean) / 3600, 2),
            "median_hours": round(float(median) / 3600, 2),
        }
        if month is None:
            states.append(figures)
        else:
            by_month.append({"month": month, **figures})
    return {"states": states, "by_month": by_month}


# Stay lengths in the rollup are counted in buckets 1 % wide (bucket b holds [1.01**b, 1.01**(b+1)) seconds; -1
# holds stays under a second): a month's counts add up across months, which medians do not. A median read from them
# is within half a percent of the exact one; counts and means stay exact (the seconds are summed as well).
BUCKET_GROWTH = 1.01


def stay_histograms(user, query: KpiQuery) -> dict[tuple[str, str, str], dict]:
    """For the rollup: stays that ended in the period per (status, product, month ended), each with its count, its
    total seconds and its count per length bucket."""
    stays_sql, params = _stays_sql(user, query, with_product=True)
    sql = f"""
        SELECT state, product, left_month, bucket, COUNT(*), SUM(seconds)
        FROM (
            SELECT state, product, {_month_of_epoch("left_s")} AS left_month, left_s - entered_s AS seconds,
                   CASE WHEN left_s - entered_s < 1 THEN -1
                        ELSE FLOOR(LN(left_s - entered_s) / LN({BUCKET_GROWTH})) END AS bucket
            FROM ({stays_sql}) timeline
            WHERE left_s IS NOT NULL AND left_s >= %s AND left_s < %s
        ) completed
        GROUP BY state, product, left_month, bucket
    """  # noqa: S608 (the only interpolated text is our own SQL and a constant; values are parameters)
    histograms: dict[tuple[str, str, str], dict] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, query.start_at.timestamp(), query.end_at.timestamp()])
        for state, product, month, bucket, count, seconds in cursor.fetchall():
            histogram = histograms.setdefault((state, product, month), {"stays": 0, "seconds": 0.0, "buckets": {}})
            histogram["stays"] += count
            histogram["seconds"] += float(seconds)
            histogram["buckets"][int(bucket)] = histogram["buckets"].get(int(bucket), 0) + count
    return histograms


def _bucket_median(buckets: dict[int, int], count: int) -> float:
    """The median seconds of `count` stays from their bucket counts: the middle stay's bucket (the mean of the two
    middle ones for an even count), valued at the bucket's geometric middle."""
    middle = {(count + 1) // 2, (count + 2) // 2}
    values, seen = [], 0
    for bucket in sorted(buckets):
        before, seen = seen, seen + buckets[bucket]
        for position in middle:
            if before < position <= seen:
                values.append(0.0 if bucket < 0 else BUCKET_GROWTH ** (bucket + 0.5))
    return sum(values) / len(values)


def _cycle_times_from_histograms(histograms: dict[tuple[str, str], dict]) -> dict[str, list[dict]]:
    """`cycle_times`' answer from histograms per (status, month), as the rollup holds them."""
    by_state: dict[str, dict] = {}
    for (state, _month), histogram in histograms.items():
        merged = by_state.setdefault(state, {"stays": 0, "seconds": 0.0, "buckets": {}})
        merged["stays"] += histogram["stays"]
        merged["seconds"] += histogram["seconds"]
        for bucket, count in histogram["buckets"].items():
            merged["buckets"][bucket] = merged["buckets"].get(bucket, 0) + count

    def figures(state: str, histogram: dict) -> dict:
        stays = histogram["stays"]
        return {
            "state": state,
            "stays": stays,
            "mean_hours": round(histogram["seconds"] / stays / 3600, 2),
            "median_hours": round(_bucket_median(histogram["buckets"], stays) / 3600, 2),
        }

    return {
        "states": [figures(state, by_state[state]) for state in sorted(by_state)],
        "by_month": [
            {"month": month, **figures(state, histograms[state, month])} for state, month in sorted(histograms)
        ],
    }


# --- agents ---------------------------------------------------------------------------------------------------


def _agent_cells(user, query: KpiQuery, *, by_product: bool = False) -> tuple[dict[tuple, dict], dict]:
    """Sums per selling agent and currency (and product, for the rollup) over the period, and each agent's agency.
    A concluded investigation's outcome makes the claim referred (see `_referred`): no timeline probe needed."""
    covered = _covered_days(query.start, query.end)
    written = Q(effective_date__gte=query.start, effective_date__lt=query.end)
    policy_keys = ["agent_id", "agent__agency", "currency", *(["product__code"] if by_product else [])]
    claim_keys = [
        "policy__agent_id",
        "policy__agent__agency",
        "currency",
        *(["policy__product__code"] if by_product else []),
    ]
    policies = (
        _policies(user, query)
        .filter(effective_date__lt=query.end, expiry_date__gt=query.start)
        .order_by()
        .values(*policy_keys)
        .annotate(
            policies_written=Count("pk", filter=written),
            written_premium=Sum("premium", filter=written),
            earned_premium=Sum(_earned(covered)),
        )
    )
    claims = (
        _claims(user, query)
        .filter(incident_at__gte=query.start_at, incident_at__lt=query.end_at)
        .order_by()
        .values(*claim_keys)
        .annotate(
            claims=Count("pk"),
            paid=Sum("paid_amount"),
            incurred=Sum(F("paid_amount") + F("reserve_amount")),
            concluded=Count("pk", filter=Q(investigation_outcome__in=CONCLUDED)),
            confirmed_fraud=Count("pk", filter=Q(investigation_outcome=InvestigationOutcome.CONFIRMED_FRAUD)),
        )
    )
    sums: dict[tuple, dict] = {}
    agencies: dict = {}
    for rows, keys in ((policies, policy_keys), (claims, claim_keys)):
        for row in rows:
            agent_id, agency, *key = (row.pop(name) for name in keys)
            agencies[agent_id] = agency
            _add(sums, (agent_id, *key), row)
    return sums, agencies


def _agent_rows(sums: dict[tuple, dict], agencies: dict, *, full: bool) -> list[dict]:
    rows = []
    for (agent_id, currency), figures in sorted(sums.items(), key=lambda item: (item[0][0] is None, item[0])):
        earned, paid, incurred = (money(figures.get(name)) for name in ("earned_premium", "paid", "incurred"))
        rows.append(
            {
                "agent_id": agent_id,
                "agency": agencies.get(agent_id),
                "currency": currency,
                "policies_written": figures.get("policies_written", 0),
                "written_premium": money(figures.get("written_premium")),
                "earned_premium": earned,
                "claims": figures.get("claims", 0),
                "paid": paid,
                "incurred": incurred if full else None,
                "loss_ratio": ratio(incurred, earned) if full else None,
                "paid_loss_ratio": ratio(paid, earned),
                "investigations_concluded": figures.get("concluded", 0) if full else None,
                "confirmed_fraud": figures.get("confirmed_fraud", 0) if full else None,
                "fraud_hit_rate": ratio(figures.get("confirmed_fraud"), figures.get("concluded")) if full else None,
            }
        )
    return rows


@in_database
def agent_performance(*, user, query: KpiQuery) -> list[dict]:
    """Per selling agent over the period: policies written and their premium, premium earned, the claims that
    happened (count, paid, incurred, loss ratio) and the fraud hit rate of those referred. Direct business (no
    agent) is one row with a null agent."""
    rollup = serving_rollup(user, query)
    sums, agencies = rollup.agent_cells() if rollup else _agent_cells(user, query)
    return _agent_rows(sums, agencies, full=sees_handler_columns(user))


# The month-keyed cells of each family, computed live (and, month by month, by the rollup refresh).
LIVE_CELLS = {
    "policies": _policy_cells,
    "losses": _loss_cells,
    "handling": _handling_cells,
    "renewals": _renewal_cells,
}


def as_of(*, user, query: KpiQuery):
    """When the figures `user` gets for `query` were computed: the rollup's refresh time, or None (live)."""
    rollup = serving_rollup(user, query)
    return rollup.finished_at if rollup is not None else None


def kpi_products(*, user) -> QuerySet[Product]:
    """The products a user may filter KPIs on (the catalogue is readable by every role that reads KPIs)."""
    return Product.objects.restrict(user, "view").order_by("name")
