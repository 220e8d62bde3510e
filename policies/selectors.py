"""Every read in policies, always given the user it is for."""

from django.db.models import QuerySet

from .choices import PolicyStatus
from .models import Policy

# What a policy's API representation reads: fetched in a fixed number of queries for any page of policies.
POLICY_DETAIL_RELATED = ("product", "renewal_of", "vehicle", "property", "insured_person")
POLICY_DETAIL_PREFETCH = ("coverage_lines__coverage", "instalments", "endorsements", "events__actor")


def policy_list(*, user) -> QuerySet[Policy]:
    return (
        Policy.objects.restrict(user, "view")
        .select_related(*POLICY_DETAIL_RELATED)
        .prefetch_related(*POLICY_DETAIL_PREFETCH)
    )


def referral_queue(*, user) -> QuerySet[Policy]:
    """Referred quotes waiting for an underwriter, oldest first."""
    return policy_list(user=user).filter(status=PolicyStatus.REFERRED).order_by("created_at")
