"""Every write in claims: first notice of loss, documents and OCR results, decisions, reserves and payments.

Each workflow step locks the claim row, checks `claims.lifecycle`, writes with its actor and a timeline event in one
transaction. Celery work (OCR, evaluation, emails) goes through the outbox (`insurance.core.outbox`): written in the
same transaction and sent after commit, so a worker never sees a rolled-back claim and a broker outage loses none.
Money is `Decimal`; payments never exceed the approved amount or the reserve, even when concurrent.
"""

import hashlib
import logging
import re
import statistics
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from insurance.core import outbox
from insurance.core.audit import acting_as
from insurance.core.exceptions import ConflictError, ServiceError, field_error, required_text
from policies.lifecycle import in_force_on
from policies.models import Policy
from policies.numbering import next_number

from . import events, fraud, lifecycle
from .choices import (
    COSTED_DOCUMENT_TYPES,
    ClaimStatus,
    DecisionOutcome,
    DocumentStatus,
    FraudRisk,
    InvestigationOutcome,
)
from .decisions import RULE_VERSION, DecisionInputs, Thresholds, as_json, decide
from .models import Claim, ClaimDecision, ClaimDocument, ClaimNote, ExtractedField, Payment, ReserveChange
from .notifications import notify_after_commit
from .ocr import DocumentRejected, ExtractionFailed, FileInfo, OcrUnavailable, extract_document, inspect_upload
from .ocr.isolation import run_isolated

logger = logging.getLogger(__name__)

MANUAL_RULE_VERSION = "manual"
FRAUD_RISK_OF_REASON = {
    "FRAUD_NOT_CHECKED": FraudRisk.NOT_CHECKED,
    "FRAUD_SCORE_PENDING": FraudRisk.PENDING,
    "FRAUD_SCORE_LOW": FraudRisk.LOW,
    "FRAUD_SCORE_HIGH": FraudRisk.HIGH,
}
OUTCOME_ACTION = {
    DecisionOutcome.APPROVE: "approve",
    DecisionOutcome.DENY: "deny",
    DecisionOutcome.INVESTIGATE: "investigate",
    DecisionOutcome.REVIEW: "route_to_review",
}


def _lock(claim: Claim, action: str) -> tuple[Claim, str]:
    locked = (
        Claim.objects.select_for_update(of=("self",)).select_related("policy__product", "claimant").get(pk=claim.pk)
    )
    return locked, lifecycle.check(locked.status, action)


def _transition(claim: Claim, target: str, *, actor, kind: str, message: str, **data) -> None:
    previous = claim.status
    claim.status = target
    claim.save()
    events.record(claim=claim, kind=kind, actor=actor, message=message, from_status=previous, to_status=target, **data)


# --- documents -------------------------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^\w.\- ()]+")


def safe_display_name(name: str) -> str:
    """The client's file name, reduced to something safe to show: no path parts, control characters or oddities."""
    name = unicodedata.normalize("NFKC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if unicodedata.category(char)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")
    return (name or "document")[:150]


@dataclass(frozen=True)
class PreparedDocument:
    """An upload that passed inspection: its bytes, what they are, and its hash."""

    display_name: str
    data: bytes
    info: FileInfo
    sha256: str


def document_prepare(*, name: str, data: bytes, field: str = "documents") -> PreparedDocument:
    """Inspect an upload from its bytes alone; a rejection names the field and the file."""
    display_name = safe_display_name(name)
    try:
        info = run_isolated(inspect_upload, data, timeout=settings.DOCUMENT_INSPECT_TIMEOUT_SECONDS)
    except DocumentRejected as rejection:
        raise ServiceError(
            f"{field}: {display_name}: {rejection.message}",
            fields={field: [rejection.message]},
            code=f"document_{rejection.code}",
        ) from None
    return PreparedDocument(display_name=display_name, data=data, info=info, sha256=hashlib.sha256(data).hexdigest())


def _store(*, claim: Claim, actor, prepared: PreparedDocument, stored: list[str]) -> ClaimDocument:
    today = timezone.now()
    path = default_storage.save(
        f"claims/{today:%Y/%m}/{uuid.uuid4().hex}.{prepared.info.kind}", ContentFile(prepared.data)
    )
    stored.append(path)
    document = ClaimDocument(
        claim=claim,
        uploaded_by=actor,
        original_name=prepared.display_name,
        kind=prepared.info.kind,
        mime=prepared.info.mime,
        size=prepared.info.size,
        pages=prepared.info.pages,
        sha256=prepared.sha256,
    )
    document.file.name = path
    document.save()
    return document


def _discard(paths: list[str]) -> None:
    for path in paths:
        default_storage.delete(path)


def _queue_processing(documents: list[ClaimDocument]) -> None:
    from .tasks import process_document

    for document in documents:
        outbox.enqueue(process_document, document.pk)


def _queue_evaluation(claim: Claim) -> None:
    from .tasks import evaluate_claim

    outbox.enqueue(evaluate_claim, claim.pk)


# --- first notice of loss -----------------------------------------------------------------------------------------


def covering_line(policy: Policy, loss_type: str):
    """The coverage line that covers `loss_type` (the one with the highest limit), or None."""
    lines = [
        line
        for line in policy.coverage_lines.select_related("coverage")
        if loss_type in (line.coverage.covered_loss_types or [])
    ]
    return max(lines, key=lambda line: line.limit, default=None)


def claim_submit(
    *,
    actor,
    policy: Policy,
    incident_at: datetime,
    incident_place: str,
    loss_type: str,
    description: str,
    amount_claimed: Decimal,
    police_report_filed: bool = False,
    police_report_reference: str = "",
    witness_count: int = 0,
    witness_details: str = "",
    documents: list[PreparedDocument] = (),
) -> Claim:
    """Record a first notice of loss with its documents; OCR and the decision follow after commit."""
    if incident_at > timezone.now():
        raise field_error("incident_at", "is in the future")
    try:
        amount = Decimal(str(amount_claimed))
    except InvalidOperation:
        raise field_error("amount_claimed", "must be a number") from None
    if not amount.is_finite() or amount <= 0:
        raise field_error("amount_claimed", "must be positive")
    covered, reason = in_force_on(policy, timezone.localtime(incident_at).date())
    if not covered:
        message = {"POLICY_NEVER_ISSUED": "the policy was never issued"}.get(
            reason, f"the policy was not in force on {incident_at:%Y-%m-%d} ({reason})"
        )
        raise field_error("incident_at", message)
    if covering_line(policy, loss_type) is None:
        raise field_error("loss_type", f"policy {policy.number} does not cover {loss_type}")

    stored: list[str] = []
    try:
        with transaction.atomic(), acting_as(actor):
            claim = Claim.objects.create(
                number=next_number("CLM"),
                policy=policy,
                claimant=policy.holder,
                reported_by=actor,
                incident_at=incident_at,
                incident_place=incident_place,
                loss_type=loss_type,
                description=description,
                amount_claimed=amount,
                currency=policy.currency,
                police_report_filed=police_report_filed,
                police_report_reference=police_report_reference,
                witness_count=witness_count,
                witness_details=witness_details,
            )
            saved = [_store(claim=claim, actor=actor, prepared=prepared, stored=stored) for prepared in documents]
            events.record(
                claim=claim,
                kind="submitted",
                actor=actor,
                to_status=claim.status,
                message=f"Claim submitted for {amount} {claim.currency} with {len(saved)} document(s)",
            )
            _queue_processing(saved)
            _queue_evaluation(claim)
    except Exception:
        _discard(stored)
        raise
    return claim


def document_add(*, actor, claim: Claim, documents: list[PreparedDocument]) -> list[ClaimDocument]:
    """Add documents to a claim (answering a request, or later evidence); each is read after commit."""
    if not documents:
        raise field_error("documents", "send at least one file")
    stored: list[str] = []
    try:
        with transaction.atomic(), acting_as(actor):
            claim = Claim.objects.select_for_update().get(pk=claim.pk)
            if claim.status == ClaimStatus.CLOSED:
                raise ConflictError("The claim is closed; ask for it to be reopened first.", code="claim_closed")
            saved = [_store(claim=claim, actor=actor, prepared=prepared, stored=stored) for prepared in documents]
            events.record(
                claim=claim,
                kind="documents_added",
                actor=actor,
                message=f"{len(saved)} document(s) added: {', '.join(d.original_name for d in saved)}",
            )
            _queue_processing(saved)
    except Exception:
        _discard(stored)
        raise
    return saved


def document_process(*, actor, document_id: int) -> ClaimDocument:
    """Read a document (text layer or OCR) and store its type and fields. Idempotent; a failure marks the document
    failed with the reason and never blocks the claim. The claim is evaluated again afterwards."""
    document = ClaimDocument.objects.select_related("claim").get(pk=document_id)
    if document.status in {DocumentStatus.DONE, DocumentStatus.FAILED}:
        return document
    failure = ""
    result = None
    try:
        with document.file.open("rb") as handle:
            data = handle.read()
        deadline = settings.DOCUMENT_INSPECT_TIMEOUT_SECONDS + document.pages * settings.OCR_PAGE_TIMEOUT_SECONDS
        result = run_isolated(extract_document, data, timeout=deadline)
    except OcrUnavailable as error:
        failure = str(error) or "tesseract is not installed (apt-get install tesseract-ocr)"
    except (ExtractionFailed, DocumentRejected) as error:
        failure = error.message
    except Exception as error:  # a broken document must never break the claim
        logger.exception("document %s could not be read", document_id)
        failure = f"unexpected error: {type(error).__name__}"

    with transaction.atomic(), acting_as(actor):
        document = ClaimDocument.objects.select_for_update().get(pk=document_id)
        if document.status in {DocumentStatus.DONE, DocumentStatus.FAILED}:
            return document  # another delivery of the same task got here first
        document.processed_at = timezone.now()
        if result is None:
            document.status = DocumentStatus.FAILED
            document.failure_reason = failure[:255]
            message = f"Document {document.original_name} could not be read: {document.failure_reason}"
        else:
            document.status = DocumentStatus.DONE
            document.document_type = result.document_type
            document.method = result.method
            document.text = result.text
            document.ocr_confidence = result.ocr_confidence
            ExtractedField.objects.bulk_create(
                [
                    ExtractedField(
                        document=document,
                        name=item.name,
                        value=item.value[:255],
                        confidence=item.confidence,
                        page=item.page,
                        box=list(item.box) if item.box else None,
                        needs_review=item.needs_review,
                    )
                    for item in result.fields
                ]
            )
            message = f"Document {document.original_name} read as {result.document_type} ({len(result.fields)} fields)"
        document.save()
        events.record(
            claim=document.claim,
            kind="document_processed",
            actor=actor,
            message=message,
            # A failure's reason is the reader's own message (it may name server files): handlers only. Claimants
            # see the document as "could not be read automatically" in its list.
            customer_visible=result is not None,
            document=document.pk,
            status=document.status,
        )
        _queue_evaluation(document.claim)
    return document


def document_retry(*, actor, document: ClaimDocument) -> ClaimDocument:
    """Read a failed document again (after tesseract was installed, say): back to pending, queued after commit."""
    with transaction.atomic(), acting_as(actor):
        document = ClaimDocument.objects.select_for_update().select_related("claim").get(pk=document.pk)
        if document.status != DocumentStatus.FAILED:
            raise ConflictError(f"Document {document.pk} is {document.status}, not failed.", code="not_failed")
        document.status = DocumentStatus.PENDING
        document.failure_reason = ""
        document.save()
        events.record(
            claim=document.claim,
            kind="document_retried",
            actor=actor,
            customer_visible=False,
            message=f"Document {document.original_name} queued to be read again",
        )
        _queue_processing([document])
    return document


def field_verify(*, actor, field: ExtractedField, value: str) -> ExtractedField:
    """A person confirms or corrects an extracted value; the claim is evaluated again."""
    with transaction.atomic(), acting_as(actor):
        field = ExtractedField.objects.select_for_update().select_related("document__claim").get(pk=field.pk)
        field.verified_value = value.strip()[:255]
        field.verified_by = actor
        field.verified_at = timezone.now()
        field.needs_review = False
        field.save()
        events.record(
            claim=field.document.claim,
            kind="field_verified",
            actor=actor,
            customer_visible=False,
            message=f"{field.name} confirmed as {field.verified_value}",
        )
        _queue_evaluation(field.document.claim)
    return field


# --- the decision engine ----------------------------------------------------------------------------------------


def _money(value: str) -> Decimal | None:
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError):
        return None
    return amount if amount.is_finite() and amount > 0 else None


def decision_inputs(claim: Claim) -> tuple[DecisionInputs, Thresholds]:
    """Everything the engine reads about a claim, in bounded queries (no scan of the claims table)."""
    policy = claim.policy
    product = policy.product
    in_force, in_force_reason = in_force_on(policy, timezone.localtime(claim.incident_at).date())
    line = covering_line(policy, claim.loss_type)
    fraud_checked, assessment = fraud.assess(claim)

    documents = list(claim.documents.prefetch_related("fields"))
    totals: dict[str, Decimal] = {}  # one total per distinct file, so a duplicate upload is not counted twice
    for document in documents:
        if document.status != DocumentStatus.DONE or document.document_type not in COSTED_DOCUMENT_TYPES:
            continue
        candidates = [field for field in document.fields.all() if field.name == "total_amount"]
        usable = [field for field in candidates if field.verified_value or not field.needs_review]
        if usable:
            amount = _money(max(usable, key=lambda field: field.confidence).effective_value)
            if amount is not None:
                totals[document.sha256] = amount
    comparable = list(
        Claim.objects.filter(
            policy__product=product,
            loss_type=claim.loss_type,
            status__in=[ClaimStatus.APPROVED, ClaimStatus.PARTIALLY_APPROVED, ClaimStatus.PAID, ClaimStatus.CLOSED],
        )
        .exclude(pk=claim.pk)
        .order_by("-created_at")
        .values_list("amount_claimed", flat=True)[:200]
    )
    inputs = DecisionInputs(
        amount_claimed=claim.amount_claimed,
        loss_type=claim.loss_type,
        in_force=in_force,
        in_force_reason=in_force_reason,
        covered=line is not None,
        limit=line.limit if line else None,
        deductible=line.deductible if line else None,
        fraud_checked=fraud_checked,
        fraud_probability=assessment.probability if assessment else None,
        fraud_model=assessment.model_version if assessment else "",
        documented_total=sum(totals.values()) if totals else None,
        document_types=sorted({d.document_type for d in documents if d.status == DocumentStatus.DONE}),
        documents_pending=sum(d.status in {DocumentStatus.PENDING, DocumentStatus.PROCESSING} for d in documents),
        documents_failed=sum(d.status == DocumentStatus.FAILED for d in documents),
        comparable_median=statistics.median(comparable) if comparable else None,
        comparable_count=len(comparable),
    )
    thresholds = Thresholds(
        auto_approve_limit=product.claim_auto_approve_limit,
        fraud_referral_score=product.claim_fraud_referral_score,
        cost_tolerance_pct=product.claim_cost_tolerance_pct,
        required_documents=list(product.claim_required_documents or []),
        comparable_factor=Decimal(str(settings.CLAIMS_COMPARABLE_FACTOR)),
        comparable_min_count=settings.CLAIMS_COMPARABLE_MIN_COUNT,
        auto_approve_without_fraud_check=settings.CLAIMS_AUTO_APPROVE_WITHOUT_FRAUD_CHECK,
    )
    return inputs, thresholds


@transaction.atomic
def claim_evaluate(*, actor, claim: Claim) -> ClaimDecision | None:
    """Run the engine on a claim a person has not taken over yet; store the decision when it changed, and act on it.

    Returns the new decision, or None when the claim is no longer decided automatically or nothing changed.
    """
    claim = Claim.objects.select_for_update(of=("self",)).select_related("policy__product", "claimant").get(pk=claim.pk)
    if claim.status not in lifecycle.AUTOMATIC or claim.decided_by_person or claim.assigned_handler_id:
        return None  # a person has taken it over
    inputs, thresholds = decision_inputs(claim)
    result = decide(inputs, thresholds)
    latest = claim.decisions.order_by("-created_at", "-pk").first()
    recorded_inputs, recorded_thresholds = as_json(inputs), as_json(thresholds)
    if latest and (latest.outcome, latest.reasons, latest.inputs) == (
        result.outcome,
        result.reasons_json(),
        recorded_inputs,
    ):
        return None
    with acting_as(actor):
        decision = ClaimDecision.objects.create(
            claim=claim,
            rule_version=RULE_VERSION,
            outcome=result.outcome,
            reasons=result.reasons_json(),
            inputs=recorded_inputs,
            thresholds=recorded_thresholds,
            priority=result.priority,
            payable_amount=result.payable,
        )
        claim.decision_outcome = result.outcome
        claim.decision_reasons = result.reasons_json()
        claim.priority = result.priority
        claim.fraud_risk = FRAUD_RISK_OF_REASON.get(
            next((reason.code for reason in result.reasons if reason.check == "fraud"), ""), claim.fraud_risk
        )
        codes = ", ".join(reason.code for reason in result.reasons)
        target = lifecycle.check(claim.status, OUTCOME_ACTION[result.outcome])
        if result.outcome == DecisionOutcome.APPROVE:
            claim.approved_amount = result.payable
        if result.outcome == DecisionOutcome.DENY and claim.reserve_amount:
            _reserve_to(claim, Decimal("0"), actor=actor, reason="Released: claim denied")
        if result.outcome != DecisionOutcome.DENY and not claim.reserve_changes.exists():
            _reserve_to(
                claim, result.payable or claim.amount_claimed, actor=actor, reason="Initial reserve on acceptance"
            )
        if target != claim.status:
            # The timeline says what happened; the reasons (fraud among them) are in the decision, shown by role.
            _transition(
                claim,
                target,
                actor=actor,
                kind="decided",
                message=f"Decision: {DecisionOutcome(result.outcome).label.lower()}",
                customer_visible=result.outcome != DecisionOutcome.INVESTIGATE,
                decision=decision.pk,
                codes=codes,
            )
        else:
            claim.save()
            events.record(
                claim=claim,
                kind="re_evaluated",
                actor=actor,
                customer_visible=False,
                message=f"Decision engine re-evaluated: {result.outcome} ({codes})",
                decision=decision.pk,
            )
    if result.outcome in {DecisionOutcome.APPROVE, DecisionOutcome.DENY}:
        notify_after_commit(claim, "decision")
    return decision


# --- decisions by people -----------------------------------------------------------------------------------------


def _record_manual(claim: Claim, *, actor, outcome: str, reason: str, payable: Decimal | None = None) -> None:
    ClaimDecision.objects.create(
        claim=claim,
        rule_version=MANUAL_RULE_VERSION,
        outcome=outcome,
        priority=claim.priority,
        reasons=[{"check": "person", "code": "MANUAL_DECISION", "message": reason, "blocks_auto_approval": False}],
        payable_amount=payable,
        decided_by=actor,
    )


@transaction.atomic
def claim_approve(*, actor, claim: Claim, reason: str, amount: Decimal | None = None) -> Claim:
    """Approve in full (the amount claimed, or the engine's payable amount when lower) or for `amount`; an amount
    below what was claimed is a partial approval."""
    reason = required_text(reason)
    claim, _ = _lock(claim, "approve")
    latest_payable = (
        claim.decisions.exclude(payable_amount=None)
        .order_by("-created_at", "-pk")
        .values_list("payable_amount", flat=True)
        .first()
    )
    amount = Decimal(str(amount)) if amount is not None else (latest_payable or claim.amount_claimed)
    if not amount.is_finite() or amount <= 0 or amount > claim.amount_claimed:
        raise field_error("amount", f"must be more than 0 and at most the amount claimed ({claim.amount_claimed})")
    if amount < claim.paid_amount:
        raise field_error("amount", f"cannot be below what was already paid ({claim.paid_amount})")
    action = "approve" if amount == claim.amount_claimed or amount == latest_payable else "partially_approve"
    target = lifecycle.check(claim.status, action)
    with acting_as(actor):
        claim.approved_amount = amount
        claim.decided_by_person = True
        claim.decision_outcome = DecisionOutcome.APPROVE
        _record_manual(claim, actor=actor, outcome=DecisionOutcome.APPROVE, reason=reason, payable=amount)
        _reserve_to(claim, amount - claim.paid_amount, actor=actor, reason=f"Approved for {amount}")
        _transition(
            claim,
            target,
            actor=actor,
            kind="approved" if action == "approve" else "partially_approved",
            message=f"{'Approved' if action == 'approve' else 'Partially approved'} for {amount}: {reason}",
        )
    notify_after_commit(claim, "decision", reason)
    return claim


@transaction.atomic
def claim_deny(*, actor, claim: Claim, reason: str) -> Claim:
    reason = required_text(reason)
    claim, target = _lock(claim, "deny")
    with acting_as(actor):
        claim.decided_by_person = True
        claim.decision_outcome = DecisionOutcome.DENY
        claim.approved_amount = None
        _record_manual(claim, actor=actor, outcome=DecisionOutcome.DENY, reason=reason)
        _reserve_to(claim, Decimal("0"), actor=actor, reason="Released: claim denied")
        _transition(claim, target, actor=actor, kind="denied", message=f"Denied: {reason}")
    notify_after_commit(claim, "decision", reason)
    return claim


@transaction.atomic
def claim_investigate(*, actor, claim: Claim, reason: str) -> Claim:
    reason = required_text(reason)
    claim, target = _lock(claim, "investigate")
    with acting_as(actor):
        claim.decided_by_person = True
        _record_manual(claim, actor=actor, outcome=DecisionOutcome.INVESTIGATE, reason=reason)
        _transition(
            claim,
            target,
            actor=actor,
            kind="investigation",
            message=f"Sent to investigation: {reason}",
            customer_visible=False,
        )
    return claim


@transaction.atomic
def claim_request_documents(*, actor, claim: Claim, message: str) -> Claim:
    message = required_text(message, "message")
    claim, _ = _lock(claim, "request_documents")
    with acting_as(actor):
        events.record(claim=claim, kind="documents_requested", actor=actor, message=f"More documents needed: {message}")
    notify_after_commit(claim, "documents_requested", message)
    return claim


@transaction.atomic
def claim_close(*, actor, claim: Claim, reason: str = "") -> Claim:
    claim, target = _lock(claim, "close")
    with acting_as(actor):
        claim.closed_at = timezone.now()
        if claim.reserve_amount:
            _reserve_to(claim, Decimal("0"), actor=actor, reason="Released on closing")
        _transition(claim, target, actor=actor, kind="closed", message=f"Closed{': ' + reason if reason else ''}")
    return claim


@transaction.atomic
def claim_reopen(*, actor, claim: Claim, reason: str) -> Claim:
    reason = required_text(reason)
    claim, target = _lock(claim, "reopen")
    with acting_as(actor):
        claim.closed_at = None
        _transition(claim, target, actor=actor, kind="reopened", message=f"Reopened: {reason}")
    return claim


@transaction.atomic
def claim_assign(*, actor, claim: Claim, handler) -> Claim:
    if handler is not None and not handler.has_perm("claims.decide_claim"):
        raise field_error("handler", f"{handler.username} cannot handle claims")
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    with acting_as(actor):
        claim.assigned_handler = handler
        claim.save()
        events.record(
            claim=claim,
            kind="assigned",
            actor=actor,
            customer_visible=False,
            message=f"Assigned to {handler.username}" if handler else "Unassigned",
        )
    return claim


def note_add(*, actor, claim: Claim, text: str) -> ClaimNote:
    with acting_as(actor):
        return ClaimNote.objects.create(claim=claim, author=actor, text=required_text(text, "text"))


@transaction.atomic
def investigation_outcome_set(*, actor, claim: Claim, outcome: str, reason: str = "") -> Claim:
    """Record what an investigation found; the fraud model learns from it."""
    if outcome not in InvestigationOutcome.values:
        raise field_error("outcome", f"must be one of {', '.join(InvestigationOutcome.values)}")
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    with acting_as(actor):
        claim.investigation_outcome = outcome
        claim.save()
        events.record(
            claim=claim,
            kind="investigation_outcome",
            actor=actor,
            customer_visible=False,
            message=f"Investigation outcome: {outcome}{': ' + reason if reason else ''}",
        )
    return claim


# --- reserves and payments -----------------------------------------------------------------------------------------


def _reserve_to(claim: Claim, target: Decimal, *, actor, reason: str) -> None:
    """Move the (locked) claim's reserve to `target`, recording the movement."""
    target = max(Decimal(target), Decimal("0"))
    delta = target - claim.reserve_amount
    if delta == 0 and claim.reserve_changes.exists():
        return
    claim.reserve_amount = target
    claim.save()
    ReserveChange.objects.create(claim=claim, amount=delta, balance_after=target, reason=reason, actor=actor)


@transaction.atomic
def reserve_set(*, actor, claim: Claim, amount: Decimal, reason: str) -> Claim:
    reason = required_text(reason)
    amount = Decimal(str(amount))
    if not amount.is_finite() or amount < 0:
        raise field_error("amount", "must be zero or more")
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    if claim.status in {ClaimStatus.CLOSED, ClaimStatus.DENIED}:
        raise ConflictError(f"A {claim.status} claim holds no reserve.", code="no_reserve")
    with acting_as(actor):
        _reserve_to(claim, amount, actor=actor, reason=reason)
        events.record(
            claim=claim,
            kind="reserve_set",
            actor=actor,
            customer_visible=False,
            message=f"Reserve set to {amount}: {reason}",
        )
    return claim


@transaction.atomic
def payment_create(*, actor, claim: Claim, amount: Decimal, reference: str = "") -> Payment:
    """Pay against the reserve. Under the claim's row lock, so concurrent payments can never together exceed the
    approved amount or the reserve."""
    amount = Decimal(str(amount))
    if not amount.is_finite() or amount <= 0:
        raise field_error("amount", "must be positive")
    claim, _ = _lock(claim, "pay")
    outstanding = (claim.approved_amount or Decimal("0")) - claim.paid_amount
    if amount > outstanding:
        raise ConflictError(
            f"{amount} is more than the {outstanding} still payable on the approved amount.", code="over_approved"
        )
    if amount > claim.reserve_amount:
        raise ConflictError(
            f"{amount} is more than the reserve of {claim.reserve_amount}; raise the reserve first.",
            code="over_reserve",
        )
    with acting_as(actor):
        payment = Payment.objects.create(
            claim=claim, amount=amount, currency=claim.currency, reference=reference, paid_by=actor
        )
        claim.paid_amount += amount
        _reserve_to(claim, claim.reserve_amount - amount, actor=actor, reason=f"Payment {payment.pk}")
        if claim.paid_amount == claim.approved_amount:
            _transition(claim, ClaimStatus.PAID, actor=actor, kind="paid", message=f"Paid in full: {claim.paid_amount}")
        else:
            claim.save()
            events.record(claim=claim, kind="payment", actor=actor, message=f"Payment of {amount}")
    return payment
