"""Celery tasks of claims: thin, idempotent, acting as the Celery system account."""

from celery import shared_task

from insurance.core import outbox
from insurance.core.audit import current_actor
from insurance.core.tasks import RETRY_ON_DATABASE_ERRORS, RETRY_ON_MAIL_OR_DATABASE_ERRORS

from . import notifications, services
from .models import Claim


@shared_task(**RETRY_ON_DATABASE_ERRORS)
def process_document(document_id: int) -> str:
    """OCR one document (a second delivery finds it done and does nothing)."""
    return services.document_process(actor=current_actor(), document_id=document_id).status


@shared_task(**RETRY_ON_DATABASE_ERRORS)
def evaluate_claim(claim_id: int) -> str | None:
    claim = Claim.objects.filter(pk=claim_id).first()
    if claim is None:
        return None
    decision = services.claim_evaluate(actor=current_actor(), claim=claim)
    return decision.outcome if decision else None


@shared_task(bind=True, **RETRY_ON_MAIL_OR_DATABASE_ERRORS)
def send_claim_email_task(self, claim_id: int, kind: str, message: str = "") -> bool:
    """Mail the claimant. An email cannot be taken back, so a redelivery of the same outbox message sends nothing."""
    with outbox.consume_once(self.request.id) as first:
        claim = Claim.objects.select_related("claimant").filter(pk=claim_id).first()
        if not first or claim is None:
            return False
        return notifications.send_claim_email(claim=claim, kind=kind, message=message)
