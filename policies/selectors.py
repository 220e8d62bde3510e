"""Every read in policies, always given the user it is for."""

from django.db.models import QuerySet

from .choices import PolicyStatus
from .models import Policy, Product, Referral


def product_list(*, user, active_only: bool = True) -> QuerySet[Product]:
    queryset = Product.objects.restrict(user, "view").prefetch_related("coverages")
    return queryset.filter(is_active=True) if active_only else queryset


def policy_list(*, user) -> QuerySet[Policy]:
    return (
        Policy.objects.restrict(user, "view")
        .select_related("product", "holder", "agent__user", "vehicle", "property", "insured_person")
        .prefetch_related("coverage_lines__coverage")
    )


def referral_queue(*, user) -> QuerySet[Policy]:
    """Referred quotes waiting for an underwriter, oldest first."""
    return policy_list(user=user).filter(status=PolicyStatus.REFERRED).order_by("created_at")


def pending_referrals(*, user) -> QuerySet[Referral]:
    return Referral.objects.restrict(user, "view").filter(status="pending").select_related("policy")
