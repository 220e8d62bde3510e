"""Every read in claims, always given the user it is for."""

from django.db.models import Case, IntegerField, QuerySet, Value, When

from insurance.core.scoping import restrict_queryset

from .choices import ClaimStatus, Priority
from .models import Claim, ClaimDocument

# What a claim's API representation reads: fetched in a fixed number of queries for any page of claims.
CLAIM_DETAIL_PREFETCH = ("documents__fields", "decisions__decided_by", "events__actor", "notes__author")


def can_handle(user) -> bool:
    """Handlers see notes, fraud details and decision inputs; customers and agents never do."""
    return user.has_perm("claims.handle_claim")


def claim_list(*, user) -> QuerySet[Claim]:
    return (
        Claim.objects.restrict(user, "view")
        .select_related("policy__product", "claimant", "assigned_handler")
        .prefetch_related(*CLAIM_DETAIL_PREFETCH)
    )


def review_queue(*, user) -> QuerySet[Claim]:
    """Claims waiting for a person, most urgent first."""
    order = [Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW]
    rank = Case(
        *[When(priority=name, then=Value(index)) for index, name in enumerate(order)], output_field=IntegerField()
    )
    return (
        claim_list(user=user)
        .filter(status__in=[ClaimStatus.UNDER_REVIEW, ClaimStatus.INVESTIGATION, ClaimStatus.REOPENED])
        .annotate(priority_rank=rank)
        .order_by("priority_rank", "created_at")
    )


def document_for_download(*, user, claim_pk: int, document_pk: int) -> ClaimDocument:
    """A document of a claim the user may see (404 otherwise)."""
    claims = restrict_queryset(Claim.objects.all(), user, "view")
    return ClaimDocument.objects.select_related("claim").get(pk=document_pk, claim_id=claim_pk, claim__in=claims)
