"""The abstract base model of every project model, and the task outbox (infrastructure, not a project model)."""

import uuid

from django.db import models
from simple_history.models import HistoricalRecords

from .audit import history_user
from .scoping import RestrictedQuerySet


class AuditHistory(HistoricalRecords):
    """simple-history, with fields a model lists in `history_excluded_fields` (secrets) left out of its history."""

    def fields_included(self, model):
        excluded = set(getattr(model, "history_excluded_fields", ()))
        return [field for field in super().fields_included(model) if field.name not in excluded]


class BaseModel(models.Model):
    """Timestamps, an audited history (who changed what, when) and a permission-aware queryset.

    Subclasses declare their owner for row-level scope (see `insurance.core.scoping`). A subclass with its own
    manager must build it from `RestrictedQuerySet` so `restrict()` stays available.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    history = AuditHistory(inherit=True, get_user=history_user)
    objects = RestrictedQuerySet.as_manager()

    scope_owner_field: str | None = None
    scope_agent_field: str | None = None
    scope_public: bool = False
    history_excluded_fields: tuple[str, ...] = ()

    class Meta:
        abstract = True


class OutboxMessage(models.Model):
    """A Celery task to send, written in the same transaction as the change that asks for it (see `outbox`).

    Infrastructure, not business data: no history, no scope and no `BaseModel`. A row says only "run this task with
    these ids"; the business effect is audited by the task's own writes (as the Celery system account), and a row's
    life (written, sent, perhaps consumed) is in its timestamps. History would double every hand-off's writes for
    nothing anyone reads. Sent rows are deleted by the sweep after `RETENTION`.

    The id is also the Celery task id, so every delivery of one message carries it: a consumer whose effect cannot
    be made idempotent by its own data (an email) records `consumed_at` and ignores a redelivery.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.CharField(max_length=200, help_text="The task's registered name.")
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True, help_text="Handed to the broker (or run, if eager).")
    consumed_at = models.DateTimeField(null=True, blank=True, help_text="Done, for consumers that record it.")
    attempts = models.PositiveIntegerField(default=0, help_text="Sends tried, failed ones included.")
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            # The sweep's read: unsent rows, oldest first; sent rows (nearly all) stay out of the index.
            models.Index(
                fields=["created_at"], condition=models.Q(published_at__isnull=True), name="outbox_unpublished"
            ),
            models.Index(fields=["published_at"], name="outbox_published"),
        ]

    def __str__(self) -> str:
        state = "sent" if self.published_at else "waiting"
        return f"{self.task}{tuple(self.args)} {state}"
