"""Every read in claims, always given the user it is for."""

from django.db.models import QuerySet

from insurance.core.scoping import restrict_queryset

from .choices import ClaimStatus
from .models import Claim, ClaimDocument, ClaimEvent


def can_handle(user) -> bool:
    """Handlers see notes, fraud details and decision inputs; customers and agents never do."""
    return user.has_perm("claims.handle_claim")


def claim_list(*, user) -> QuerySet[Claim]:
    return Claim.objects.restrict(user, "view").select_related("policy__product", "claimant", "assigned_handler")


def review_queue(*, user) -> QuerySet[Claim]:
    """Claims waiting for a person, most urgent first."""
    order = ["urgent", "high", "normal", "low"]
    from django.db.models import Case, IntegerField, Value, When

    rank = Case(
        *[When(priority=name, then=Value(index)) for index, name in enumerate(order)], output_field=IntegerField()
    )
    return (
        claim_list(user=user)
        .filter(status__in=[ClaimStatus.UNDER_REVIEW, ClaimStatus.INVESTIGATION, ClaimStatus.REOPENED])
        .annotate(priority_rank=rank)
        .order_by("priority_rank", "created_at")
    )


def claim_timeline(*, user, claim: Claim) -> QuerySet[ClaimEvent]:
    events = claim.events.select_related("actor")
    return events if can_handle(user) else events.filter(customer_visible=True)


def document_for_download(*, user, claim_pk: int, document_pk: int) -> ClaimDocument:
    """A document of a claim the user may see (404 otherwise)."""
    claims = restrict_queryset(Claim.objects.all(), user, "view")
    return ClaimDocument.objects.select_related("claim").get(pk=document_pk, claim_id=claim_pk, claim__in=claims)
