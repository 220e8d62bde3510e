"""A broker outage loses no work: claims submitted while the broker is down are all accepted, and once it is back
(the sweep sends what waited) a real worker scores every one of them exactly once."""

import json
import time

import pytest
import redis
from django.db.models import Count
from django.urls import reverse

from fraud.models import FraudScore
from insurance.core import outbox
from tests.claims.conftest import claim_product, fnol, policy  # noqa: F401  (fixtures)
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

CLAIMS = 100


def queued_task_ids(broker_url: str, queue: str) -> list[str]:
    """The task ids of the messages waiting on `queue` (kombu's Redis list of JSON envelopes), left in place."""
    client = redis.Redis.from_url(broker_url)
    try:
        return [json.loads(raw)["headers"]["id"] for raw in client.lrange(queue, 0, -1)]
    finally:
        client.close()


CLAIMS_URL = reverse("claims-api:claim-list")
DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every connection is refused at once


@pytest.mark.postgres
@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_claims_submitted_while_the_broker_is_down_are_all_scored_once_when_it_is_back(
    personas,
    policy,  # noqa: F811
    api_client,
    settings,
    monkeypatch,
):
    broker_url = settings.CELERY_TEST_BROKER_URL
    broker_or_skip(broker_url)
    assert settings.CLAIMS_FRAUD_ASSESSOR == "fraud.assessor.latest_assessment"
    queue = new_queue()

    # The broker is down: every send after commit fails (fast), and the request still succeeds.
    down = client_app(DEAD_BROKER, queue)
    monkeypatch.setattr(outbox, "publishing_app", lambda: down)
    alice = api_client(personas.alice)
    started = time.monotonic()
    ids = []
    for _ in range(CLAIMS):
        response = alice.post(CLAIMS_URL, {**fnol(), "policy": policy.number}, format="json")
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    submitting = time.monotonic() - started
    assert submitting < 60, f"{CLAIMS} submissions took {submitting:.0f}s: a failed send must not wait"
    assert not FraudScore.objects.filter(claim_id__in=ids).exists()
    waiting = outbox.waiting()
    assert set(waiting.filter(task="fraud.tasks.score_claim_task").values_list("args__0", flat=True)) == set(ids)
    assert not waiting.filter(attempts=0).exists()  # each was tried after its commit, and kept

    # The broker is back: the sweep (beat's entry, run here) sends what waited, each message once (the score's
    # uniqueness in the database would hide a message sent twice, so the queue itself is read first).
    kept = {str(pk) for pk in waiting.values_list("pk", flat=True)}
    up = client_app(broker_url, queue)
    monkeypatch.setattr(outbox, "publishing_app", lambda: up)
    assert outbox.sweep() == len(kept) >= 2 * CLAIMS  # a score and an evaluation per claim, at least
    assert not outbox.waiting().exists()
    queued = queued_task_ids(broker_url, queue)
    assert sorted(queued) == sorted(kept), "every waiting message sent exactly once"
    worker = start_worker(broker_url, queue)
    try:

        def every_claim_scored_and_the_queue_drained() -> bool:
            scored = FraudScore.objects.filter(claim_id__in=ids).values("claim_id").distinct().count()
            return scored == CLAIMS and queue_is_empty(broker_url, queue) and not outbox.waiting().exists()

        assert wait_for(every_claim_scored_and_the_queue_drained, timeout=90, workers=(worker,)), stop(worker)
        time.sleep(1)  # anything still in flight (a last re-evaluation) would show up now
        assert wait_for(every_claim_scored_and_the_queue_drained, timeout=30, workers=(worker,)), stop(worker)
    finally:
        output = stop(worker)
        drop_queue(broker_url, queue)
    per_claim = dict(FraudScore.objects.filter(claim_id__in=ids).values_list("claim_id").annotate(n=Count("id")))
    assert per_claim == dict.fromkeys(ids, 1), output
