"""The base class of every Celery task (it runs as the Celery system account, so its writes are audited), and the
outbox sweep that Celery beat runs every minute."""

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from .audit import acting_as, system_account

# A task that meets the database restarting or a dropped connection is retried, with backoff, not dropped: with late
# acknowledgement a task that fails is acknowledged all the same, and its outbox row is already marked sent.
# `@shared_task(**RETRY_ON_DATABASE_ERRORS)` on every task whose work would otherwise be lost; all are idempotent.
RETRY_ON_DATABASE_ERRORS = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": True,
    "max_retries": 5,
}
# The same for tasks that send mail: a mail server away (an OSError, as every smtplib error is) is retried too.
RETRY_ON_MAIL_OR_DATABASE_ERRORS = {
    **RETRY_ON_DATABASE_ERRORS,
    "autoretry_for": (OSError, OperationalError, InterfaceError),
}


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
