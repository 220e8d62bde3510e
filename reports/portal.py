"""Reads for the role home pages and the customer 360 view, always given the user they are for.

These pages read across accounts, policies, claims and reports' own customer segments, so they live in reports,
the one layer allowed to. Each read goes through the owning app's selector (which applies the row scope) and is
bounded: a count, and at most `LIST_LIMIT` rows fetched with what the row shows (`select_related`), never a query
per row. Policies come from `policy_summaries` (a row's product and holder); the prefetches the claims selectors add
for their API detail views are dropped (`prefetch_related(None)`): a home page shows a row, not a claim's every
document.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet

from accounts.models import CustomerProfile
from accounts.selectors import customer_profile_list
from claims.choices import ClaimStatus
from claims.lifecycle import OPEN as CLAIM_OPEN_FOR_DECISION
from claims.models import Claim
from claims.selectors import claim_list, review_queue
from insurance.core.roles import BOOK_WIDE_ROLES, Role, user_roles
from policies.choices import InstalmentStatus, PolicyStatus
from policies.models import Instalment, Policy
from policies.selectors import DEAD_RENEWALS, policy_summaries, referral_queue

from .models import CustomerSegment
from .selectors import instalment_facts

LIST_LIMIT = 10
RENEWAL_HORIZON_DAYS = 60
# Open for the customer: waiting for a decision, or approved and waiting for its payment.
OPEN_CLAIM_STATUSES = (*sorted(CLAIM_OPEN_FOR_DECISION), ClaimStatus.APPROVED, ClaimStatus.PARTIALLY_APPROVED)


@dataclass
class Listing:
    """A count and the first rows of a list, for a card on a home page."""

    count: int
    rows: list = field(default_factory=list)

    @property
    def more(self) -> int:
        return max(self.count - len(self.rows), 0)


def listing(queryset: QuerySet, limit: int = LIST_LIMIT) -> Listing:
    return Listing(count=queryset.count(), rows=list(queryset[:limit]))


def home_kind(user) -> str:
    """Which home page a user gets: "staff" (underwriters, admins, superusers), "agent", "customer" or "none"."""
    roles = user_roles(user)
    if user.is_superuser or roles & BOOK_WIDE_ROLES:
        return "staff"
    if Role.AGENT in roles:
        return "agent"
    if Role.CUSTOMER in roles:
        return "customer"
    return "none"


def _policies(user) -> QuerySet[Policy]:
    return policy_summaries(user=user)  # a row's product and holder, nothing else


def _claims(user) -> QuerySet[Claim]:
    return claim_list(user=user).prefetch_related(None)


def open_claims(*, user) -> QuerySet[Claim]:
    """Claims the user may see that wait for a decision or a payment, newest first."""
    return _claims(user).filter(status__in=OPEN_CLAIM_STATUSES).order_by("-reported_at", "-pk")


def premiums_due(*, user, today: date) -> QuerySet[Instalment]:
    """Unpaid instalments (credits excluded) the user may see, soonest first, each with `overdue`."""
    return (
        instalment_facts(user=user)
        .filter(status=InstalmentStatus.DUE, amount__gt=0)
        .select_related("policy__product")
        .annotate(overdue=ExpressionWrapper(Q(due_date__lt=today), output_field=BooleanField()))
        .order_by("due_date", "policy__number", "sequence")
    )


def renewals_due(*, user, today: date, days: int = RENEWAL_HORIZON_DAYS) -> QuerySet[Policy]:
    """Policies in force that end within `days`, soonest first, each with `renewal_offered` (a live renewal quote
    or policy exists)."""
    offered = Policy.objects.filter(renewal_of=OuterRef("pk")).exclude(status__in=DEAD_RENEWALS)
    return (
        _policies(user)
        .filter(status=PolicyStatus.IN_FORCE, expiry_date__gt=today, expiry_date__lte=today + timedelta(days=days))
        .annotate(renewal_offered=Exists(offered))
        .order_by("expiry_date", "number")
    )


def customer_home(*, user, today: date) -> dict:
    """A customer's policies and quotes (not dead quotes), open claims and premiums due."""
    policies = _policies(user).exclude(status=PolicyStatus.QUOTE_EXPIRED).order_by("-created_at", "-pk")
    due = premiums_due(user=user, today=today)
    return {
        "policies": listing(policies),
        "open_claims": listing(open_claims(user=user)),
        "premiums_due": listing(due, limit=12),
        "overdue_count": due.filter(due_date__lt=today).count(),
    }


def agent_home(*, user, today: date) -> dict:
    """An agent's book: customers, open and referred quotes, renewals due soon, open claims of their customers."""
    policies = _policies(user)
    return {
        "customers": listing(customer_profile_list(user=user)),
        "open_quotes": listing(
            policies.filter(status=PolicyStatus.QUOTE)
            .filter(Q(quote_expires_on__isnull=True) | Q(quote_expires_on__gte=today))
            .order_by("quote_expires_on", "-created_at")
        ),
        "referred_quotes": listing(policies.filter(status=PolicyStatus.REFERRED).order_by("created_at")),
        "renewals_due": listing(renewals_due(user=user, today=today)),
        "open_claims": listing(open_claims(user=user).select_related("policy__holder")),
    }


def staff_home(*, user) -> dict:
    """The queues an underwriter works: referred quotes (oldest first) and claims waiting for a person."""
    return {
        "referrals": listing(referral_queue(user=user).prefetch_related(None).select_related("holder"), limit=5),
        "review_queue": listing(
            review_queue(user=user).prefetch_related(None).select_related("policy__holder"), limit=5
        ),
    }


def customer_for_360(*, user, pk: int) -> CustomerProfile:
    """The customer profile `pk` if the user may see it (CustomerProfile.DoesNotExist otherwise: a 404)."""
    return customer_profile_list(user=user).get(pk=pk)


def customer_segment(*, user, customer) -> CustomerSegment | None:
    """The customer's segment from the latest segmentation that placed them, if the user may see it."""
    return (
        CustomerSegment.objects.restrict(user, "view")
        .filter(customer=customer)
        .select_related("run")
        .order_by("-run__created_at")
        .first()
    )


def customer_360(*, user, profile: CustomerProfile, today: date) -> dict:
    """Everything about one customer the user may see: policies, claims, payments, premiums due, segment and
    renewals due, each bounded."""
    customer = profile.user
    paid = (
        instalment_facts(user=user)
        .filter(policy__holder=customer, status=InstalmentStatus.PAID)
        .select_related("policy")
        .order_by("-paid_at", "-pk")
    )
    return {
        "customer": customer,
        "policies": listing(_policies(user).filter(holder=customer).order_by("-created_at", "-pk"), limit=25),
        "claims": listing(_claims(user).filter(policy__holder=customer).order_by("-reported_at", "-pk"), limit=25),
        "payments": listing(paid, limit=12),
        "premiums_due": listing(premiums_due(user=user, today=today).filter(policy__holder=customer), limit=12),
        "segment": customer_segment(user=user, customer=customer),
        "renewals_due": listing(renewals_due(user=user, today=today).filter(holder=customer)),
    }
