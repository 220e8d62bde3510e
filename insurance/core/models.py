"""The abstract base model of every project model."""

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
