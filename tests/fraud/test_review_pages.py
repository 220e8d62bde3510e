"""The handlers' pages show the fraud app's stored scores (`settings.CLAIMS_FRAUD_SCORE_READER`): one read for a
whole page, and opening a page never computes features or queues scoring, even for a claim whose score is stale."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims.models import Claim
from fraud import assessor
from fraud.models import FraudScore
from insurance.core.models import OutboxMessage
from tests.claims.conftest import submit
from tests.fraud.test_scoring import alice_auto_policy


@pytest.fixture
def policy(personas):
    return alice_auto_policy(personas)


def waiting_claims(personas, policy, count: int) -> list[Claim]:
    """Claims scored (after commit, eagerly) and waiting for a person, as the review queue lists them."""
    return [submit(actor=personas.alice, policy=policy, amount_claimed="900.00") for _ in range(count)]


@pytest.mark.django_db(transaction=True)
def test_stored_assessments_give_each_claim_its_latest_score_under_the_current_model(personas, policy):
    first, second = waiting_claims(personas, policy, 2)
    Claim.objects.filter(pk=first.pk).update(witness_count=5)  # features change: the stored score is now stale
    latest = FraudScore.objects.filter(claim=second).latest("created_at", "pk")
    stored = assessor.stored_assessments([first.pk, second.pk, 0])
    assert set(stored) == {first.pk, second.pk}
    assert stored[second.pk].probability == latest.probability
    assert stored[second.pk].model_version == latest.model_key
    assert assessor.latest_assessment(Claim.objects.get(pk=first.pk)) is None, "the engine still waits for a new one"


@pytest.mark.django_db(transaction=True)
def test_the_review_queue_reads_scores_in_one_query_and_queues_nothing(personas, policy, client):
    client.force_login(personas.underwriter)
    url = reverse("claims:review-queue")
    counts = []
    for total in (1, 4):
        waiting_claims(personas, policy, total - Claim.objects.count())
        Claim.objects.update(witness_count=3)  # every stored score is stale now: the old page queued a rescore each
        queued = OutboxMessage.objects.count()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        assert len(response.context["claims"]) == total
        assert all(claim.fraud is not None for claim in response.context["claims"])
        assert OutboxMessage.objects.count() == queued, "a GET queued work"
        counts.append(len([query for query in queries if "fraud_fraudscore" in query["sql"]]))
    assert counts == [1, 1]


@pytest.mark.django_db(transaction=True)
def test_the_review_page_shows_the_stored_score_and_queues_nothing(personas, policy, client):
    (claim,) = waiting_claims(personas, policy, 1)
    Claim.objects.filter(pk=claim.pk).update(witness_count=2)
    queued = OutboxMessage.objects.count()
    client.force_login(personas.underwriter)
    response = client.get(reverse("claims:claim-review", args=[claim.pk]))
    assert response.status_code == 200
    assert (
        response.context["fraud"].probability == FraudScore.objects.filter(claim=claim).latest("created_at").probability
    )
    assert OutboxMessage.objects.count() == queued
