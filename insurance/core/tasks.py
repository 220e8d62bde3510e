"""The base class of every Celery task: the task runs as the Celery system account, so its writes are audited."""

from celery import Task

from .audit import acting_as, system_account


class AuditedTask(Task):
    def __call__(self, *args, **kwargs):
        with acting_as(system_account("celery")):
            return super().__call__(*args, **kwargs)
