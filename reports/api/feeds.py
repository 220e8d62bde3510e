"""The analytics feeds: for each, its rows (a selector), filters, row serializer and the model whose view
permission it needs. Views, URLs and the data dictionary are all built from this one list."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Model, QuerySet

from accounts.models import User
from claims.models import Claim, Payment, ReserveChange
from fraud.models import FraudScore
from policies.models import Instalment, Policy

from .. import filters, selectors
from . import serializers


@dataclass(frozen=True)
class Feed:
    name: str  # the URL segment, the route name and the CSV file name
    model: type[Model]
    rows: Callable[..., QuerySet]
    filterset: type[filters.FactFilter]
    serializer: type[serializers.FeedSerializer]
    append_only: bool = False
    # The permission to read the feed, when it is not the view permission of its model: the customers feed needs
    # `view_customersegment`, not `view_user` (which would open personal data to analytics readers).
    permission: str | None = None

    @property
    def view_permission(self) -> str:
        return self.permission or f"{self.model._meta.app_label}.view_{self.model._meta.model_name}"

    @property
    def description(self) -> str:
        return (self.serializer.__doc__ or "").strip()

    @property
    def key(self) -> str:
        return next(iter(self.serializer().fields))


CLAIMS = Feed("claims", Claim, selectors.claim_facts, filters.ClaimFactFilter, serializers.ClaimRowSerializer)
POLICIES = Feed("policies", Policy, selectors.policy_facts, filters.PolicyFactFilter, serializers.PolicyRowSerializer)
INSTALMENTS = Feed(
    "instalments",
    Instalment,
    selectors.instalment_facts,
    filters.InstalmentFactFilter,
    serializers.InstalmentRowSerializer,
)
PAYMENTS = Feed(
    "payments",
    Payment,
    selectors.payment_facts,
    filters.PaymentFactFilter,
    serializers.PaymentRowSerializer,
    append_only=True,
)
RESERVES = Feed(
    "reserves",
    ReserveChange,
    selectors.reserve_facts,
    filters.ReserveFactFilter,
    serializers.ReserveRowSerializer,
    append_only=True,
)
FRAUD_SCORES = Feed(
    "fraud-scores",
    FraudScore,
    selectors.fraud_score_facts,
    filters.FraudScoreFactFilter,
    serializers.FraudScoreRowSerializer,
    append_only=True,
)
CUSTOMERS = Feed(
    "customers",
    User,
    selectors.customer_facts,
    filters.CustomerFactFilter,
    serializers.CustomerRowSerializer,
    permission="reports.view_customersegment",
)

FEEDS: tuple[Feed, ...] = (CLAIMS, POLICIES, INSTALMENTS, PAYMENTS, RESERVES, FRAUD_SCORES, CUSTOMERS)


def readable_feeds(user) -> list[Feed]:
    """The feeds `user` may read: analytics access and the feed's view permission. System accounts (commands that
    export the book, such as `export_tableau`) read every feed."""
    if getattr(user, "is_system", False):
        return list(FEEDS)
    if not selectors.may_use_analytics(user):
        return []
    return [feed for feed in FEEDS if user.has_perm(feed.view_permission)]
