"""Celery tasks of fraud: thin and idempotent, acting as the Celery system account (see `AuditedTask`)."""

from celery import shared_task
from django.db import OperationalError

from claims import lifecycle
from claims.models import Claim
from insurance.core.audit import current_actor

from .periodic import daily_monitoring, weekly_retrain  # noqa: F401  (imported so the worker registers them)
from .services import scoring


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def score_claim_task(claim_id: int) -> int | None:
    """Score one claim (wired to the claim's save). A second delivery finds the score and does nothing."""
    score = scoring.score_claim(actor=current_actor(), claim_id=claim_id)
    return score.pk if score else None


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def rescore_open_claims_task() -> dict:
    """Score the open claims under the model now in production (after a promotion or a rollback), so the decision
    engine does not hold them as pending. Idempotent: claims already scored by that model are skipped."""
    open_claims = Claim.objects.filter(status__in=sorted(lifecycle.OPEN))
    return scoring.rescore(actor=current_actor(), claims=open_claims)
