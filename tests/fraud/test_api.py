"""`/api/fraud/`: scores and the model registry, for staff only. Customers and agents find nothing there (an empty
list, 404 on any detail), and the claims API never shows them a score."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from fraud.choices import ModelStage
from fraud.models import FraudScore
from fraud.services import scoring
from insurance.core.audit import system_account
from insurance.core.testing import DEFAULT_DETAIL_STATUS, ScopedEndpointTests
from tests.api_schema import call_and_validate, token_headers
from tests.claims.conftest import fnol, submit
from tests.fraud.factories import model_version
from tests.fraud.test_scoring import alice_auto_policy

STAFF_ONLY = {
    **DEFAULT_DETAIL_STATUS,
    "alice": 404,
    "bob": 404,
    "alice_agent": 404,
    "other_agent": 404,
}
SCORES_URL = reverse("fraud-api:score-list")
MODELS_URL = reverse("fraud-api:model-list")


@pytest.fixture
def policy(personas):
    return alice_auto_policy(personas)


def score_of(claim) -> FraudScore:
    return scoring.score_claim(actor=system_account("celery"), claim_id=claim.pk)


class TestFraudScoreEndpoint(ScopedEndpointTests):
    basename = "fraud-api:score"
    detail_status = STAFF_ONLY  # analytics readers read scores only through /api/analytics/fraud-scores/

    @pytest.fixture(autouse=True)
    def _policy(self, policy):
        self.policy = policy

    def make_object(self, personas):
        return score_of(submit(actor=personas.alice, policy=self.policy))


class TestModelVersionEndpoint(ScopedEndpointTests):
    basename = "fraud-api:model"
    detail_status = STAFF_ONLY  # analytics readers see scores, not the registry: 403

    def make_object(self, personas):
        return model_version(actor=personas.admin)


@pytest.mark.django_db
def test_a_score_reads_with_its_model_reasons_and_features(personas, policy, api_client):
    claim = submit(actor=personas.alice, policy=policy)
    score = score_of(claim)
    body = api_client(personas.underwriter).get(reverse("fraud-api:score-detail", args=[score.pk])).json()
    assert body["claim"] == claim.number
    assert (body["model_key"], body["method"], body["rule_based"], body["model_version"]) == (
        "rules-1",
        "rules",
        True,
        None,
    )
    assert body["probability"] == score.probability
    assert body["reasons"] == [item["reason"] for item in score.contributions]
    assert body["features"]["witness_count"] == 1


@pytest.mark.django_db
def test_scores_filter_by_claim_model_band_and_time(personas, policy, api_client):
    first = score_of(submit(actor=personas.alice, policy=policy))
    second = score_of(submit(actor=personas.alice, policy=policy, amount_claimed="900"))
    FraudScore.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(days=10))
    client = api_client(personas.underwriter)

    def ids(query: dict) -> set[int]:
        response = client.get(SCORES_URL, query)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids({"claim": first.claim.number}) == {first.pk}
    assert ids({"model_key": "rules-1"}) == {first.pk, second.pk}
    assert ids({"model_key": "v9"}) == set()
    assert ids({"risk_band": second.risk_band}) >= {second.pk}
    assert ids({"created_after": (timezone.now() - timedelta(days=1)).isoformat()}) == {second.pk}
    assert ids({"created_before": (timezone.now() - timedelta(days=1)).isoformat()}) == {first.pk}
    assert client.get(SCORES_URL, {"risk_band": "extreme"}).status_code == 400
    # An offset beyond PostgreSQL's ±15:59 is read in UTC (it was a 500); one that leaves the calendar is a 400.
    assert ids({"created_after": "2000-01-01T00:00:00-22:58"}) == {first.pk, second.pk}
    assert client.get(SCORES_URL, {"created_after": "0001-01-01T00:00:00+05:00"}).status_code == 400


@pytest.mark.django_db
def test_a_model_reads_without_its_artifact(personas, api_client):
    version = model_version(actor=personas.admin, stage=ModelStage.PRODUCTION)
    response = api_client(personas.underwriter).get(reverse("fraud-api:model-detail", args=[version.pk]))
    body = response.json()
    assert body["version"] == 1
    assert body["metrics"]["holdout"]["roc_auc"] == 0.91
    assert body["trained_by"] == personas.admin.username
    for hidden in ("artifact", "plot", "preprocessing", "reference", "holdout"):
        assert hidden not in body
    assert [
        row["id"] for row in api_client(personas.admin).get(MODELS_URL, {"stage": "production"}).json()["results"]
    ] == [version.pk]
    assert api_client(personas.admin).get(MODELS_URL, {"stage": "staging"}).json()["results"] == []


@pytest.mark.django_db
def test_a_rule_based_score_and_a_model_never_promoted_read_within_the_schema(personas, policy):
    """Their model version and promoter are null: found by tests/core/test_api_fuzz.py, the schema now allows it."""
    score = score_of(submit(actor=personas.alice, policy=policy))
    version = model_version(actor=personas.admin)
    headers = token_headers(personas.underwriter)
    body = call_and_validate("GET", "/api/fraud/scores/{id}/", headers=headers, id=score.pk).json()
    assert (body["rule_based"], body["model_version"]) == (True, None)
    body = call_and_validate("GET", "/api/fraud/models/{id}/", headers=headers, id=version.pk).json()
    assert body["promoted_by"] is None


@pytest.mark.django_db
def test_the_api_is_read_only(personas, policy, api_client):
    score = score_of(submit(actor=personas.alice, policy=policy))
    client = api_client(personas.admin)
    assert client.post(SCORES_URL, {}, format="json").status_code == 405
    detail = reverse("fraud-api:score-detail", args=[score.pk])
    assert client.patch(detail, {"probability": 0.0}, format="json").status_code == 405
    assert client.delete(detail).status_code == 405
    assert api_client(personas.alice).post(SCORES_URL, {}, format="json").status_code == 403


@pytest.mark.django_db
def test_a_reported_claim_is_scored_and_only_handlers_see_it(
    personas,
    policy,
    api_client,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(personas.alice).post("/api/claims/", {**fnol(), "policy": policy.number}, format="json")
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    claim_url = reverse("claims-api:claim-detail", args=[response.json()["id"]])
    handler = api_client(personas.underwriter).get(claim_url).json()
    fraud = [reason for reason in handler["decision_reasons"] if reason["check"] == "fraud"]
    assert [reason["code"] for reason in fraud] in (["FRAUD_SCORE_LOW"], ["FRAUD_SCORE_HIGH"])
    scores = api_client(personas.underwriter).get(SCORES_URL, {"claim": number}).json()["results"]
    assert len(scores) == 1
    for persona in ("alice", "alice_agent"):
        client = api_client(getattr(personas, persona))
        body = client.get(claim_url).json()
        assert "fraud_risk" not in body
        assert all(reason["check"] != "fraud" for reason in body["decision_reasons"])
        assert all("inputs" not in decision for decision in body["decisions"])
        assert "probability" not in str(body)
        assert client.get(SCORES_URL, {"claim": number}).json()["results"] == []
        assert client.get(reverse("fraud-api:score-detail", args=[scores[0]["id"]])).status_code == 404
