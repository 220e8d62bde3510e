"""Celery tasks of etl: thin, each takes an id and calls one service."""

from celery import shared_task

from insurance.core.tasks import RETRY_ON_DATABASE_ERRORS

from . import services
from .choices import BatchStatus
from .models import ImportBatch


@shared_task(acks_late=True, **RETRY_ON_DATABASE_ERRORS)
def run_import_batch(batch_id: int) -> str | None:
    """Run an import uploaded through the admin, as the person who uploaded it. A second delivery finds it done."""
    batch = ImportBatch.objects.select_related("actor").filter(pk=batch_id).first()
    if batch is None or batch.status not in services.RUNNABLE:
        return None
    try:
        return services.import_run(actor=batch.actor, batch=batch).status
    except services.ServiceError:
        return BatchStatus.FAILED
