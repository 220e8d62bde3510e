"""Every read of reports, always given the user: the rows of each analytics feed that the user may see.

The feeds read other apps' models under those apps' rules: `restrict(user, "view")` gives an agent their book, and
underwriters, admins and analytics readers the whole book. Customers get no analytics at all
(`may_use_analytics`).
"""

from django.db.models import QuerySet
from django.db.models.functions import Coalesce, Greatest

from accounts.models import User
from claims.models import Claim, Payment, ReserveChange
from claims.selectors import can_handle
from fraud.models import FraudScore
from insurance.core.roles import Role, has_role, holds_role
from policies.models import Instalment, Policy

from .models import AnalyticsToken, token_hash

ANALYTICS_ROLES = frozenset({Role.AGENT, Role.UNDERWRITER, Role.ADMIN, Role.ANALYTICS_READER})


def may_use_analytics(user) -> bool:
    """Agents (their book), underwriters, admins and analytics readers. Customers and users without a role: no."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return holds_role(user, *ANALYTICS_ROLES)


def sees_handler_columns(user) -> bool:
    """Reserves, priority, fraud findings and investigations: claim handlers and analytics readers (who read the
    reserve and fraud score feeds anyway), never agents, as in the claims API. System accounts (the commands that
    export the book) see them too."""
    return getattr(user, "is_system", False) or can_handle(user) or has_role(user, Role.ANALYTICS_READER)


def customer_facts(*, user) -> QuerySet[User]:
    """Customers the user may see, each with `row_updated_at`: the later of the customer's and the profile's change
    and the segment's, so a new segmentation reaches an incremental refresh."""
    return (
        User.objects.restrict(user, "view")
        .filter(customer_profile__isnull=False)
        .annotate(
            row_updated_at=Greatest(
                "updated_at",
                "customer_profile__updated_at",
                Coalesce("customer_segment__updated_at", "updated_at"),
            )
        )
    )


def claim_facts(*, user) -> QuerySet[Claim]:
    return Claim.objects.restrict(user, "view")


def policy_facts(*, user) -> QuerySet[Policy]:
    return Policy.objects.restrict(user, "view")


def instalment_facts(*, user) -> QuerySet[Instalment]:
    return Instalment.objects.restrict(user, "view")


def payment_facts(*, user) -> QuerySet[Payment]:
    return Payment.objects.restrict(user, "view")


def reserve_facts(*, user) -> QuerySet[ReserveChange]:
    return ReserveChange.objects.restrict(user, "view")


def fraud_score_facts(*, user) -> QuerySet[FraudScore]:
    return FraudScore.objects.restrict(user, "view")


def analytics_token_for_key(*, key: str) -> AnalyticsToken | None:
    """The token a request presents, revoked or expired ones included (the caller says which it was). No user is
    given: this is how the user is found."""
    return AnalyticsToken.objects.select_related("user").filter(key_hash=token_hash(key)).first()
