"""`/api/fraud/`: scores and the model registry, for staff only. Customers and agents find nothing there (an empty
list, 404 on any detail), and the claims API never shows them a score."""

import hashlib
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from fraud.choices import ModelStage
from fraud.models import FraudScore, ModelVersion
from fraud.services import scoring
from insurance.core.audit import system_account
from insurance.core.testing import DEFAULT_DETAIL_STATUS, ScopedEndpointTests
from tests.claims.conftest import fnol, submit
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


def model_version(*, actor, version: int = 1, stage: str = ModelStage.STAGING) -> ModelVersion:
    artifact = b'{"learner": "not a real model"}'
    return ModelVersion.objects.create(
        version=version,
        algorithm="xgboost",
        stage=stage,
        artifact=artifact,
        artifact_format="xgboost-json",
        artifact_sha256=hashlib.sha256(artifact).hexdigest(),
        feature_schema_version="1",
        training_fingerprint="f" * 64,
        training_rows=1200,
        metrics={"holdout": {"roc_auc": 0.91, "average_precision": 0.62}},
        threshold=0.42,
        review_budget=0.1,
        plot=b"\x89PNG\r\n\x1a\n",
        trained_by=actor,
    )


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
