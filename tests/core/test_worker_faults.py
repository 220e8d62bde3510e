"""A worker killed with SIGKILL in the middle of a task: the message was not acknowledged (acks late), so after the
broker's visibility timeout another worker gets it, runs the task again, and its effect happens once."""

import signal
import time

import pytest
from django.db import connection, transaction

from claims.models import Claim
from fraud.models import FraudScore
from fraud.tasks import score_claim_task
from insurance.core import outbox
from tests.claims.conftest import claim_product, policy, submit  # noqa: F401  (fixtures)
from tests.core.workers import (
    broker_or_skip,
    client_app,
    drop_queue,
    new_queue,
    queue_is_empty,
    start_worker,
    stop,
    wait_for,
)

VISIBILITY_TIMEOUT = 3  # seconds: how long Redis keeps a delivered, unacknowledged message from other workers


def backends_waiting_for_a_lock() -> list[int]:
    """Server process ids of the other sessions on the test database that wait for a lock."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # statistics views are a snapshot per transaction
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND pid <> pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.postgres
@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_a_task_whose_worker_is_killed_mid_task_runs_again_and_scores_once(
    personas,
    policy,  # noqa: F811
    settings,
    monkeypatch,
):
    broker_url = settings.CELERY_TEST_BROKER_URL
    broker_or_skip(broker_url)
    claim = submit(actor=personas.alice, policy=policy)  # scored in process (eager): start again without a score
    FraudScore.objects.filter(claim=claim).delete()
    queue = new_queue()
    client = client_app(broker_url, queue)
    monkeypatch.setattr(outbox, "publishing_app", lambda: client)
    outbox.enqueue(score_claim_task, claim.pk)  # sent now (autocommit): one message, sent once
    assert not outbox.waiting().exists()

    # Mid-task, deterministically: this session holds the claim's row, so the task, once it has stored its score
    # (not yet committed), waits for the row (the engine's lock, or the score's foreign key check at commit).
    environment = {"CELERY_BROKER_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)}
    first = start_worker(broker_url, queue, **environment)
    try:
        with transaction.atomic():
            Claim.objects.select_for_update().get(pk=claim.pk)
            assert wait_for(backends_waiting_for_a_lock, timeout=60, workers=(first,)), stop(first)
            delivered_at = time.monotonic()
            waiting = backends_waiting_for_a_lock()
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            # The worker's machine is gone, and with it its database session (PostgreSQL would notice the closed
            # socket only when it next writes to it): its open transaction is rolled back.
            with connection.cursor() as cursor:
                for pid in waiting:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        output = stop(first)
    assert first.returncode == -signal.SIGKILL, output
    assert not FraudScore.objects.filter(claim=claim).exists(), "the killed task's score must not have committed"

    # Another worker, once the visibility timeout has passed, gets the unacknowledged message back and runs it.
    time.sleep(max(0.0, delivered_at + VISIBILITY_TIMEOUT + 0.5 - time.monotonic()))
    second = start_worker(broker_url, queue, **environment)
    try:
        assert wait_for(lambda: FraudScore.objects.filter(claim=claim).exists(), timeout=60, workers=(second,)), stop(
            second
        )
        # Its re-evaluation queues more scoring of the same claim (idempotent): let the queue drain.
        assert wait_for(lambda: queue_is_empty(broker_url, queue), timeout=30, workers=(second,)), stop(second)
        time.sleep(1)
    finally:
        output = stop(second)
        drop_queue(broker_url, queue)
    assert FraudScore.objects.filter(claim=claim).count() == 1, output
