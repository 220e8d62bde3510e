"""Celery tasks of accounts: thin, idempotent, acting as the Celery system account."""

from celery import shared_task

from insurance.core.audit import current_actor

from . import services


@shared_task
def revoke_expired_object_grants() -> int:
    """Delete per-object grants whose expiry passed (scheduled by Celery beat; running it twice is harmless)."""
    return services.object_access_revoke_expired(actor=current_actor())
