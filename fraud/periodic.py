"""Scheduled fraud work (Celery beat): retrain weekly when the labels changed, take a monitoring snapshot daily.

Thin and idempotent: a second delivery of `weekly_retrain` finds the labels unchanged since the model it just
promoted, or (when promotion was refused) `train` finds candidates already trained on these labels and skips; a
second `daily_monitoring` adds one more snapshot of the same window.
"""

from celery import shared_task

from insurance.core.audit import current_actor

from .services import monitoring


# Training a large book takes minutes, past the project's default 300-second limit for a task.
@shared_task(acks_late=True, soft_time_limit=3600, time_limit=3900)
def weekly_retrain() -> str:
    """Retrain on new labels and promote a better model (`training.retrain_on_new_labels`)."""
    from .services import training  # here: xgboost and the training code load only in the worker that trains

    return training.retrain_on_new_labels(actor=current_actor())


@shared_task(acks_late=True, soft_time_limit=1800, time_limit=1900)
def daily_monitoring() -> str:
    """A snapshot of the production model's last 30 days (nothing to do under the rules)."""
    if monitoring.production_version() is None:
        return "skipped: no production model"
    snapshot = monitoring.snapshot(actor=current_actor())
    return f"v{snapshot.model_version.version}: {snapshot.status}, score PSI {snapshot.score_psi}"
