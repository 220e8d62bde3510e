"""Scheduled fraud work (Celery beat): retrain weekly when the labels changed, take a monitoring snapshot daily.

Thin and idempotent: a second delivery of `weekly_retrain` finds the labels unchanged since the model it just
promoted, or (when promotion was refused) `train` finds candidates already trained on these labels and skips; a
second `daily_monitoring` adds one more snapshot of the same window.
"""

from celery import shared_task

from insurance.core.audit import current_actor
from insurance.core.exceptions import ServiceError

from .services import monitoring


# Training a large book takes minutes, past the project's default 300-second limit for a task.
@shared_task(acks_late=True, soft_time_limit=3600, time_limit=3900)
def weekly_retrain() -> str:
    """Train candidates on the current labels and promote the best, unless the labels are those of production.

    `registry.promote` compares the candidate with production on the candidate's holdout and refuses a worse one;
    the candidate then stays in staging for a person to look at. With no model in production, the first one is
    never promoted automatically (`promote` asks for force): that is a person's decision.
    """
    from .services import registry, training  # here: xgboost and scikit-learn load only in the task that uses them

    actor = current_actor()
    production = monitoring.production_version()
    if production is not None and not monitoring.labels_changed_since(production):
        return "skipped: no new labels"
    try:
        result = training.train(actor=actor)
    except ServiceError as error:
        return f"not trained: {error.message}"
    if result.skipped:
        # Already trained on these very labels (a promotion refused last week, or a second delivery): no retry.
        return f"skipped: {result.message}"
    candidate = result.best
    try:
        registry.promote(actor=actor, version=candidate)
    except ServiceError as error:
        return f"{result.message}; v{candidate.version} left in staging: {error.message}"
    return f"{result.message}; promoted v{candidate.version} ({candidate.algorithm})"


@shared_task(acks_late=True, soft_time_limit=1800, time_limit=1900)
def daily_monitoring() -> str:
    """A snapshot of the production model's last 30 days (nothing to do under the rules)."""
    if monitoring.production_version() is None:
        return "skipped: no production model"
    snapshot = monitoring.snapshot(actor=current_actor())
    return f"v{snapshot.model_version.version}: {snapshot.status}, score PSI {snapshot.score_psi}"
