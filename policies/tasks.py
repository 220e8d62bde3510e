"""Scheduled policy work (Celery beat): thin, idempotent tasks that call one service each."""

from celery import shared_task

from insurance.core import outbox
from insurance.core.audit import current_actor
from insurance.core.tasks import RETRY_ON_MAIL_OR_DATABASE_ERRORS

from . import notifications, services
from .models import Policy


@shared_task
def expire_stale_quotes() -> int:
    return services.expire_stale_quotes(actor=current_actor())


@shared_task
def lapse_unpaid_policies() -> int:
    return services.lapse_unpaid_policies(actor=current_actor())


@shared_task
def offer_renewals() -> int:
    return services.offer_renewals(actor=current_actor())


@shared_task
def expire_ended_policies() -> int:
    return services.expire_ended_policies(actor=current_actor())


@shared_task(bind=True, **RETRY_ON_MAIL_OR_DATABASE_ERRORS)
def send_policy_email_task(self, policy_id: int, kind: str) -> bool:
    """Mail the holder. An email cannot be taken back, so a redelivery of the same outbox message sends nothing."""
    with outbox.consume_once(self.request.id) as first:
        policy = Policy.objects.select_related("holder", "product").filter(pk=policy_id).first()
        if not first or policy is None:
            return False
        return notifications.send_policy_email(policy=policy, kind=kind)
