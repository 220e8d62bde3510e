"""Scheduled reports work (Celery beat): thin tasks that call one service each."""

from celery import shared_task

from insurance.core.audit import current_actor

from . import services


# A refresh of a million-claim book takes minutes; the default 300-second limit would stop it.
@shared_task(acks_late=True, soft_time_limit=1800, time_limit=1900)
def refresh_kpi_rollup() -> str:
    """Recompute the book-wide KPI rollup (idempotent: a second delivery writes one more, equal, rollup)."""
    rollup = services.kpi_rollup_refresh(actor=current_actor())
    return f"rollup #{rollup.pk}: {rollup.part_count} parts in {rollup.seconds:.1f} s"
