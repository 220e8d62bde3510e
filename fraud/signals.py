"""Wiring only: a saved claim is scored after commit, and a model put into production rescores the open claims.

Nothing here decides anything: each receiver hands an id to a task once the transaction commits, so a worker never
reads a rolled-back claim, and a rolled-back save enqueues nothing. Fixture loads (`raw`) are left alone.
"""

from django.db import transaction

from .choices import ModelStage


def claim_saved(sender, instance, raw=False, **kwargs) -> None:
    if raw:
        return
    from .tasks import score_claim_task

    claim_id = instance.pk
    transaction.on_commit(lambda: score_claim_task.delay(claim_id), robust=True)


def model_version_saved(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    if raw or instance.stage != ModelStage.PRODUCTION:
        return
    if update_fields is not None and "stage" not in update_fields:
        return
    from .tasks import rescore_open_claims_task

    transaction.on_commit(rescore_open_claims_task.delay, robust=True)
