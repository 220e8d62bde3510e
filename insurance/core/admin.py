"""The admin base class: history view on every model, actor taken from the request by simple-history."""

from simple_history.admin import SimpleHistoryAdmin


class AuditedModelAdmin(SimpleHistoryAdmin):
    """Every project model's admin: shows history, and timestamps read-only."""

    readonly_fields: tuple[str, ...] = ("created_at", "updated_at")
