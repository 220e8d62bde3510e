"""Wiring only: a saved claim is scored after commit, and a model put into production rescores the open claims.

Nothing here decides anything: each receiver queues a task through the outbox (`insurance.core.outbox`), written
with the save and sent after commit, so a worker never reads a rolled-back claim, a rolled-back save enqueues
nothing, and a broker outage loses nothing. Fixture loads (`raw`) are left alone.
"""

from insurance.core import outbox

from .choices import ModelStage


def claim_saved(sender, instance, raw=False, **kwargs) -> None:
    if raw:
        return
    from .tasks import score_claim_task

    outbox.enqueue(score_claim_task, instance.pk)


def model_version_saved(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    if raw or instance.stage != ModelStage.PRODUCTION:
        return
    if update_fields is not None and "stage" not in update_fields:
        return
    from .tasks import rescore_open_claims_task

    outbox.enqueue(rescore_open_claims_task)
