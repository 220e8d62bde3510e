"""Every read in claims, always given the user it is for."""

from collections.abc import Sequence

from django.db.models import Case, IntegerField, Prefetch, QuerySet, Value, When

from insurance.core.scoping import restrict_queryset
from policies.choices import PolicyStatus
from policies.models import Policy

from . import fraud
from .choices import ClaimStatus, Priority
from .fraud import FraudAssessment
from .models import Claim, ClaimDocument, ClaimEvent, ExtractedField

# What a claim's API representation reads: fetched in a fixed number of queries for any page of claims.
CLAIM_DETAIL_PREFETCH = ("documents__fields", "decisions__decided_by", "events__actor", "notes__author")
# Timeline kinds written by `services.claim_request_documents` and `services.document_add`.
DOCUMENTS_REQUESTED = "documents_requested"
DOCUMENTS_ADDED = "documents_added"


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


def fileable_policies(*, user) -> QuerySet[Policy]:
    """Policies the user may report a loss on from the portal: in force and in their scope (a customer's own, an
    agent's customers'); `claim_submit` still checks the incident date against the term."""
    return (
        Policy.objects.restrict(user, "view")
        .filter(status=PolicyStatus.IN_FORCE)
        .select_related("holder", "product")
        .order_by("holder__last_name", "holder__first_name", "number")
    )


def claim_timeline(*, user, claim: Claim) -> list[ClaimEvent]:
    """The claim's events as `user` may read them: handlers see everything, claimants and agents only the events
    marked `customer_visible` (no investigation, assignment or field checks)."""
    events = claim.events.select_related("actor").order_by("created_at", "pk")
    if not can_handle(user):
        events = events.filter(customer_visible=True)
    return list(events)


def open_document_request(*, user, claim: Claim) -> ClaimEvent | None:
    """The latest request for more documents that no upload has answered yet, or None. Both events are customer
    visible, so every user who may see the claim may see the request."""
    latest = (
        ClaimEvent.objects.restrict(user, "view")
        .filter(claim=claim, kind__in=[DOCUMENTS_REQUESTED, DOCUMENTS_ADDED])
        .order_by("-created_at", "-pk")
        .first()
    )
    return latest if latest is not None and latest.kind == DOCUMENTS_REQUESTED else None


def claim_documents(*, user, claim: Claim) -> QuerySet[ClaimDocument]:
    """The claim's documents the user may see, with their extracted fields (low-confidence first)."""
    return (
        ClaimDocument.objects.restrict(user, "view")
        .filter(claim=claim)
        .prefetch_related(Prefetch("fields", queryset=ExtractedField.objects.order_by("-needs_review", "name")))
        .order_by("created_at", "pk")
    )


def claim_field(*, user, claim: Claim, field_pk: int) -> ExtractedField:
    """One extracted field of one of the claim's documents (DoesNotExist otherwise, also for another claim's)."""
    return (
        ExtractedField.objects.restrict(user, "view").select_related("document").get(pk=field_pk, document__claim=claim)
    )


def fraud_assessments(*, user, claims: Sequence[Claim]) -> tuple[bool, dict[int, FraudAssessment]]:
    """(whether fraud is checked at all, each claim's stored score by claim id), read without side effects (see
    `claims.fraud.stored_assessments`); only for handlers: claimants and agents never learn a fraud score."""
    if not can_handle(user):
        return False, {}
    return fraud.stored_assessments(claims)
