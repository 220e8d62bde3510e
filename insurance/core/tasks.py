"""The base class of every Celery task (it runs as the Celery system account, so its writes are audited), and the
outbox sweep that Celery beat runs every minute."""

from celery import Task, shared_task

from .audit import acting_as, system_account


class AuditedTask(Task):
    def __call__(self, *args, **kwargs):
        with acting_as(system_account("celery")):
            return super().__call__(*args, **kwargs)


@shared_task
def sweep_outbox() -> int:
    """Send the outbox rows that were not sent at commit (the broker was down). Safe to run in parallel: each row is
    claimed with SKIP LOCKED."""
    from . import outbox  # not at import: this module is loaded with the Celery app, before Django's models

    return outbox.sweep()
