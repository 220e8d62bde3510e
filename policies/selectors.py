"""Every read in policies, always given the user it is for."""

from datetime import date

from django.db.models import Case, CharField, F, Min, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value, When

from .choices import InstalmentStatus, PolicyStatus, ReferralStatus
from .models import Instalment, Policy, Product, Referral

# What a policy's API representation reads: fetched in a fixed number of queries for any page of policies.
POLICY_DETAIL_RELATED = ("product", "renewal_of", "vehicle", "property", "insured_person")
POLICY_DETAIL_PREFETCH = ("coverage_lines__coverage", "instalments", "endorsements", "events__actor")
# Renewal quotes that no longer count as an offer (the same set `services.DEAD_QUOTES` skips).
DEAD_RENEWALS = (PolicyStatus.QUOTE_EXPIRED, PolicyStatus.DECLINED)


def policy_list(*, user) -> QuerySet[Policy]:
    return (
        Policy.objects.restrict(user, "view")
        .select_related(*POLICY_DETAIL_RELATED)
        .prefetch_related(*POLICY_DETAIL_PREFETCH)
    )


def referral_queue(*, user) -> QuerySet[Policy]:
    """Referred quotes waiting for an underwriter, oldest first."""
    return policy_list(user=user).filter(status=PolicyStatus.REFERRED).order_by("created_at")


# --- portal reads ------------------------------------------------------------------------------------------------


def policy_summaries(*, user) -> QuerySet[Policy]:
    """Policies and quotes for a list page: only what a row shows (product and holder), newest first."""
    return Policy.objects.restrict(user, "view").select_related("product", "holder").order_by("-created_at", "-pk")


def _overdue(today: date, prefix: str = "") -> Q:
    """An instalment owed and unpaid after its due date (credits are never overdue)."""
    return Q(
        **{
            f"{prefix}status": InstalmentStatus.DUE,
            f"{prefix}amount__gt": 0,
            f"{prefix}due_date__lt": today,
        }
    )


def instalments_with_state(*, today: date) -> QuerySet[Instalment]:
    """Instalments with `state`: paid, due, void, or overdue (due and past its due date on `today`)."""
    return Instalment.objects.annotate(
        state=Case(
            When(_overdue(today), then=Value("overdue")),
            default=F("status"),
            output_field=CharField(),
        )
    ).order_by("sequence")


def policy_detail(*, user, today: date) -> QuerySet[Policy]:
    """One policy page's reads: its risk, lines, instalments (with their state on `today`), endorsements,
    referrals and timeline, each in one query."""
    return (
        Policy.objects.restrict(user, "view")
        .select_related(*POLICY_DETAIL_RELATED, "holder__customer_profile", "agent__user")
        .prefetch_related(
            "coverage_lines__coverage",
            Prefetch("instalments", queryset=instalments_with_state(today=today)),
            "endorsements",
            Prefetch("referrals", queryset=Referral.objects.select_related("decided_by").order_by("created_at")),
            "events__actor",
        )
    )


def products_on_sale(*, user) -> QuerySet[Product]:
    """Products a quote may be asked for, with their coverages."""
    return Product.objects.restrict(user, "view").filter(is_active=True).prefetch_related("coverages").order_by("name")


def renewals_due(*, user, today: date, until: date) -> QuerySet[Policy]:
    """Policies in force whose term ends between `today` and `until`, soonest first, with the renewal offered
    for them, if any (`renewal_number`, `renewal_status`)."""
    offered = Policy.objects.filter(renewal_of=OuterRef("pk")).exclude(status__in=DEAD_RENEWALS).order_by("-created_at")
    return (
        Policy.objects.restrict(user, "view")
        .filter(status=PolicyStatus.IN_FORCE, expiry_date__gte=today, expiry_date__lte=until)
        .select_related("product", "holder")
        .annotate(
            renewal_number=Subquery(offered.values("number")[:1]),
            renewal_status=Subquery(offered.values("status")[:1]),
        )
        .order_by("expiry_date", "pk")
    )


def policies_in_arrears(*, user, today: date) -> QuerySet[Policy]:
    """Policies in force with an instalment overdue on `today` (they lapse once the grace period runs out), the
    oldest arrears first, with `oldest_overdue` and `overdue_amount`."""
    overdue = _overdue(today, prefix="instalments__")
    return (
        Policy.objects.restrict(user, "view")
        .filter(status=PolicyStatus.IN_FORCE)
        .annotate(
            oldest_overdue=Min("instalments__due_date", filter=overdue),
            overdue_amount=Sum("instalments__amount", filter=overdue),
        )
        .filter(oldest_overdue__isnull=False)
        .select_related("product", "holder")
        .order_by("oldest_overdue", "pk")
    )


def lapsed_since(*, user, since: date) -> QuerySet[Policy]:
    """Policies that lapsed on or after `since`, the latest first."""
    return (
        Policy.objects.restrict(user, "view")
        .filter(status=PolicyStatus.LAPSED, lapsed_on__gte=since)
        .select_related("product", "holder")
        .order_by("-lapsed_on", "-pk")
    )


def pending_referrals(*, user) -> QuerySet[Referral]:
    """Referrals still waiting for an underwriter, on quotes still referred, oldest first."""
    return (
        Referral.objects.restrict(user, "view")
        .filter(status=ReferralStatus.PENDING, policy__status=PolicyStatus.REFERRED)
        .select_related("policy__product", "policy__holder", "policy__agent__user")
        .order_by("created_at", "pk")
    )
