"""Scoring: every saved claim is scored once per (features, model) after commit, the decision engine hears of a new
score, the rules stand in for a missing model, and the backfill scores in batches and skips what is done."""

import threading
from contextlib import suppress
from datetime import date, timedelta
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.db import OperationalError, connection, transaction
from django.db.models.signals import post_save
from django.utils import timezone

from claims import services as claim_services
from claims.choices import ClaimStatus
from claims.fraud import FraudAssessment
from claims.models import Claim, ClaimDecision
from fraud import assessor, features, rules, tasks
from fraud.choices import ModelStage, RiskBand, ScoreMethod
from fraud.models import FraudScore, ModelVersion
from fraud.services import registry, scoring
from insurance.core.audit import system_account
from policies import services as policy_services
from tests.claims.conftest import submit
from tests.policies.factories import make_test_product, quote, set_holder


def alice_auto_policy(personas):
    """Alice's auto policy with collision cover (limit 20,000, deductible 500), in force since 60 days ago (as in
    tests/claims/conftest.py)."""
    product = make_test_product()
    product.claim_required_documents = ["invoice"]
    product.save()
    set_holder(personas.alice, born=date(1980, 5, 17), region="OH")
    start = timezone.localdate() - timedelta(days=60)
    quoted = quote(
        actor=personas.alice,
        holder=personas.alice,
        product=product,
        effective_date=start,
        today=start,
        coverages=[{"coverage": "collision"}],
    )
    return policy_services.policy_bind(actor=personas.alice, policy=quoted, today=start)


@pytest.fixture
def policy(personas):
    return alice_auto_policy(personas)


@pytest.fixture
def deliveries(monkeypatch):
    """Every delivery of `score_claim_task` as (claim id, the score id it returned): the outbox runs the task with
    `apply` after commit when there is no broker, as in the test settings."""
    calls: list[tuple[int, int | None]] = []
    original = tasks.score_claim_task.apply

    def apply(args=None, kwargs=None, **options):
        result = original(args=args, kwargs=kwargs, **options)
        calls.append((*args, result.get()))
        return result

    monkeypatch.setattr(tasks.score_claim_task, "apply", apply)
    return calls


def current_fingerprint(claim) -> str:
    return features.fingerprint(features.features(features.gather(claim)))


def celery():
    return system_account("celery")


# --- after commit --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_submitted_claim_is_scored_after_commit(personas, policy, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        claim = submit(actor=personas.alice, policy=policy)
    score = FraudScore.objects.get(claim=claim)
    assert score.feature_fingerprint == current_fingerprint(claim)
    assert score.feature_schema_version == features.SCHEMA_VERSION
    assert score.history.get().history_user.username == "system-celery"


@pytest.mark.django_db
def test_a_rolled_back_save_enqueues_nothing(personas, policy, django_capture_on_commit_callbacks, deliveries):
    claim = submit(actor=personas.alice, policy=policy)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        suppress(RuntimeError),
        transaction.atomic(),
    ):
        claim.witness_count = 3
        claim.save()
        raise RuntimeError("the request failed after saving")
    assert callbacks == []
    assert deliveries == []
    assert not FraudScore.objects.exists()


@pytest.mark.django_db
def test_a_fixture_load_is_not_scored(personas, policy, django_capture_on_commit_callbacks):
    claim = submit(actor=personas.alice, policy=policy)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post_save.send(Claim, instance=claim, created=False, raw=True, using="default", update_fields=None)
    assert callbacks == []


# --- idempotent ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_task_delivered_twice_stores_one_score(personas, policy):
    claim = submit(actor=personas.alice, policy=policy)
    first = tasks.score_claim_task.delay(claim.pk).get()
    second = tasks.score_claim_task.delay(claim.pk).get()
    assert first == second
    assert FraudScore.objects.filter(claim=claim).count() == 1


def test_the_task_is_acknowledged_late_and_retried_when_the_database_blinks():
    task = tasks.score_claim_task
    assert task.acks_late is True
    assert OperationalError in task.autoretry_for
    assert task.max_retries == 5
    assert task.retry_backoff


@pytest.mark.django_db
def test_a_score_for_a_claim_that_is_gone_is_nothing(personas):
    assert tasks.score_claim_task.delay(987654).get() is None


@pytest.mark.django_db
def test_a_concurrent_duplicate_returns_the_row_the_other_delivery_stored(personas, policy, monkeypatch):
    """The other delivery committed between this one's check and its insert: the unique constraint refuses the
    second row, and this delivery returns the first without re-evaluating the claim again."""
    claim = submit(actor=personas.alice, policy=policy)
    stored = scoring.score_claim(actor=celery(), claim_id=claim.pk)
    decisions = ClaimDecision.objects.filter(claim=claim).count()
    monkeypatch.setattr(scoring, "_existing", _none_then_real(scoring._existing))
    again = scoring.score_claim(actor=celery(), claim_id=claim.pk)
    assert again == stored
    assert FraudScore.objects.filter(claim=claim).count() == 1
    assert ClaimDecision.objects.filter(claim=claim).count() == decisions


def _none_then_real(real):
    calls = []

    def existing(*args):
        calls.append(args)
        return None if len(calls) == 1 else real(*args)

    return existing


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_scoring_the_same_claim_at_once_store_one_row(personas, policy, monkeypatch):
    claim = submit(actor=personas.alice, policy=policy)  # scored already (on_commit runs at once here)
    FraudScore.objects.all().delete()
    barrier = threading.Barrier(2)
    real = scoring._existing

    def existing(*args):
        if threading.current_thread() is not threading.main_thread() and not getattr(local, "passed", False):
            local.passed = True
            barrier.wait(timeout=20)  # both have checked and found nothing; both insert
            return None
        return real(*args)

    local = threading.local()
    monkeypatch.setattr(scoring, "_existing", existing)
    results, errors = [], []

    def work():
        try:
            results.append(scoring.score_claim(actor=celery(), claim_id=claim.pk).pk)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == 2
    assert len(set(results)) == 1
    assert FraudScore.objects.filter(claim=claim).count() == 1


# --- the decision engine hears of the score ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_score_re_evaluates_the_claim_and_the_loop_stops(
    personas, policy, django_capture_on_commit_callbacks, deliveries
):
    with django_capture_on_commit_callbacks(execute=True):
        claim = submit(actor=personas.alice, policy=policy)
    score = FraudScore.objects.get(claim=claim)
    decision = ClaimDecision.objects.get(claim=claim)  # one decision: the engine waited for the score
    fraud_reason = next(reason for reason in decision.reasons if reason["check"] == "fraud")
    assert fraud_reason["code"] in {"FRAUD_SCORE_LOW", "FRAUD_SCORE_HIGH"}
    assert decision.inputs["fraud_checked"] is True
    assert decision.inputs["fraud_probability"] == score.probability
    # One delivery for the creation, one for each save of the engine's decision (status, reserve): every later
    # delivery finds the same features already scored, stores nothing and re-evaluates nothing, so it ends there.
    assert deliveries == [(claim.pk, score.pk)] * 3
    assert FraudScore.objects.count() == 1
    assert ClaimDecision.objects.count() == 1


@pytest.mark.django_db
def test_without_a_score_the_engine_waits_and_asks_for_one(personas, policy, django_capture_on_commit_callbacks):
    claim = submit(actor=personas.alice, policy=policy)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        decision = claim_services.claim_evaluate(actor=personas.underwriter, claim=claim)
    assert "FRAUD_SCORE_PENDING" in {reason["code"] for reason in decision.reasons}
    assert callbacks, "the assessor queued a score"
    for callback in callbacks:
        callback()
    claim.refresh_from_db()
    assert claim.fraud_risk in {"low", "high"}
    assert claim.decisions.count() == 2


@pytest.mark.django_db
def test_a_claim_a_person_took_over_is_scored_but_not_re_decided(personas, policy):
    claim = submit(actor=personas.alice, policy=policy)
    claim_services.claim_investigate(actor=personas.underwriter, claim=claim, reason="Known garage")
    decisions = claim.decisions.count()
    Claim.objects.filter(pk=claim.pk).update(witness_count=4)  # the features change
    score = scoring.score_claim(actor=celery(), claim_id=claim.pk)
    assert score.features["witness_count"] == 4
    assert claim.decisions.count() == decisions


@pytest.mark.django_db
def test_the_assessment_is_the_score_of_the_current_features_under_the_current_model(personas, policy):
    claim = submit(actor=personas.alice, policy=policy)
    assert assessor.latest_assessment(claim) is None
    score = scoring.score_claim(actor=celery(), claim_id=claim.pk)
    assessment = assessor.latest_assessment(claim)
    assert assessment == FraudAssessment(
        probability=score.probability,
        risk_band=score.risk_band,
        model_version=rules.RULES_VERSION,
        rule_based=True,
        reasons=[item["reason"] for item in score.contributions],
    )
    Claim.objects.filter(pk=claim.pk).update(witness_count=5)
    claim.refresh_from_db()
    assert assessor.latest_assessment(claim) is None, "a score of older features does not count"


# --- rules without a model ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_without_a_production_model_the_rules_score_and_say_so(personas, policy):
    claim = submit(actor=personas.alice, policy=policy)
    score = scoring.score_claim(actor=celery(), claim_id=claim.pk)
    assert registry.production_model() is None
    assert (score.method, score.model_key, score.model_version) == (ScoreMethod.RULES, rules.RULES_VERSION, None)
    probability, contributions = rules.rule_score(score.features)
    assert score.probability == pytest.approx(probability)
    assert score.contributions == contributions
    assert score.risk_band == scoring.rule_band(score.probability)


@pytest.mark.parametrize(
    ("probability", "band"),
    [(0.0, "low"), (0.29, "low"), (0.3, "medium"), (0.69, "medium"), (0.7, "high"), (1.0, "high")],
)
def test_rule_bands_are_fixed_cut_offs(probability, band):
    assert scoring.rule_band(probability) == band


# --- with a production model ----------------------------------------------------------------------------------------


def register_tiny_model(
    *, claims: list[Claim], labels: list[int], actor, version: int = 1, stage: str = ModelStage.PRODUCTION
) -> ModelVersion:
    """A real (tiny) xgboost model on these claims' features, registered in production as training would store it."""
    import hashlib

    from xgboost import XGBClassifier

    from fraud.encoding import FeatureEncoder

    rows = [features.features(features.gather(claim)) for claim in claims]
    encoder = FeatureEncoder(min_category_count=1).fit(rows)
    model = XGBClassifier(
        n_estimators=5, max_depth=2, learning_rate=0.5, min_child_weight=0, base_score=0.5, eval_metric="logloss"
    )
    model.fit(encoder.transform(rows), np.asarray(labels))
    artifact = bytes(model.get_booster().save_raw("json"))
    return ModelVersion.objects.create(
        version=version,
        algorithm="xgboost",
        stage=stage,
        artifact=artifact,
        artifact_format="xgboost-json",
        artifact_sha256=hashlib.sha256(artifact).hexdigest(),
        preprocessing=encoder.to_json(),
        feature_schema_version=features.SCHEMA_VERSION,
        training_fingerprint="0" * 64,
        training_rows=len(rows),
        metrics={"holdout": {"roc_auc": 0.9, "average_precision": 0.5}},
        threshold=0.5,
        review_budget=0.1,
        trained_by=actor,
    )


@pytest.fixture
def claims_with_a_model(personas, policy):
    """Six claims, the larger amounts labelled fraud, and a tiny production model trained on them."""
    claims = [
        submit(actor=personas.alice, policy=policy, amount_claimed=amount, witness_count=witnesses)
        for amount, witnesses in [("900", 2), ("1100", 2), ("1300", 1), ("9000", 0), ("12000", 0), ("15000", 0)]
    ]
    registry_cache_clear()
    model = register_tiny_model(claims=claims, labels=[0, 0, 0, 1, 1, 1], actor=personas.admin)
    yield claims, model
    registry_cache_clear()


def registry_cache_clear() -> None:
    registry.clear_cache()


@pytest.mark.django_db
def test_with_a_production_model_the_score_names_the_model_and_explains_with_real_features(claims_with_a_model):
    claims, model = claims_with_a_model
    score = scoring.score_claim(actor=celery(), claim_id=claims[-1].pk)
    assert (score.method, score.model_key, score.model_version) == (ScoreMethod.MODEL, "v1", model)
    assert 0 <= score.probability <= 1
    assert score.risk_band in RiskBand.values
    assert score.contributions, "an explanation"
    for item in score.contributions:
        assert set(item) >= {"feature", "value", "contribution", "direction", "reason"}
        assert item["feature"] in score.features, item
        assert item["reason"] == features.describe(item["feature"], score.features[item["feature"]])
    assert score.probability > 0.5, "the largest amount looks like the fraud it was trained on"
    assessment = assessor.latest_assessment(claims[-1])
    assert (assessment.model_version, assessment.rule_based) == ("v1", False)


@pytest.mark.django_db
def test_a_new_model_scores_again_and_old_scores_stay(personas, policy):
    claim = submit(actor=personas.alice, policy=policy)
    rules_score = scoring.score_claim(actor=celery(), claim_id=claim.pk)
    others = [submit(actor=personas.alice, policy=policy, amount_claimed=a) for a in ("700", "14000", "16000")]
    registry_cache_clear()
    register_tiny_model(claims=[claim, *others], labels=[0, 0, 1, 1], actor=personas.admin)
    try:
        model_score = scoring.score_claim(actor=celery(), claim_id=claim.pk)
    finally:
        registry_cache_clear()
    assert model_score.pk != rules_score.pk
    assert model_score.feature_fingerprint == rules_score.feature_fingerprint
    assert list(FraudScore.objects.filter(claim=claim).values_list("model_key", flat=True).order_by("pk")) == [
        rules.RULES_VERSION,
        "v1",
    ]
    assert scoring.latest_score(claim) == model_score


@pytest.mark.django_db
def test_promoting_a_model_rescores_the_open_claims(personas, policy, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        claims = [submit(actor=personas.alice, policy=policy, amount_claimed=a) for a in ("800", "13000", "15000")]
    closed = claims[0]
    claim_services.claim_deny(actor=personas.underwriter, claim=closed, reason="Duplicate")
    claim_services.claim_close(actor=personas.underwriter, claim=closed)
    candidate = register_tiny_model(claims=claims, labels=[0, 1, 1], actor=personas.admin, stage=ModelStage.STAGING)
    registry_cache_clear()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            registry.promote(actor=personas.admin, version=candidate, force=True)
    finally:
        registry_cache_clear()
    assert set(FraudScore.objects.filter(model_key="v1").values_list("claim_id", flat=True)) == {
        claim.pk for claim in claims[1:]
    }
    for claim in claims[1:]:
        claim.refresh_from_db()
        assert (
            claim.decisions.latest("created_at").inputs["fraud_probability"] == scoring.latest_score(claim).probability
        )


# --- the backfill -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rescore_scores_in_batches_and_skips_what_is_scored(personas, policy):
    claims = [submit(actor=personas.alice, policy=policy, amount_claimed=str(800 + 100 * n)) for n in range(5)]
    scoring.score_claim(actor=celery(), claim_id=claims[0].pk)
    progress: list[int] = []
    summary = scoring.rescore(actor=celery(), claims=Claim.objects.all(), batch_size=2, progress=progress.append)
    assert progress == [2, 2, 1]
    assert summary == {
        "model_key": rules.RULES_VERSION,
        "method": ScoreMethod.RULES,
        "claims": 5,
        "scored": 4,
        "skipped": 1,
        "reevaluated": 4,
    }
    assert FraudScore.objects.count() == 5
    by_claim = {score.claim_id: score for score in FraudScore.objects.all()}
    for claim in claims:
        assert by_claim[claim.pk].feature_fingerprint == current_fingerprint(claim)
    assert all(score.history.get().history_user.username == "system-celery" for score in by_claim.values())
    again = scoring.rescore(actor=celery(), claims=Claim.objects.all(), batch_size=2)
    assert (again["scored"], again["skipped"], again["reevaluated"]) == (0, 5, 0)


@pytest.mark.django_db
def test_rescore_never_re_decides_closed_claims(personas, policy):
    claim = submit(actor=personas.alice, policy=policy)
    claim_services.claim_deny(actor=personas.underwriter, claim=claim, reason="Not covered")
    claim_services.claim_close(actor=personas.underwriter, claim=claim)
    decisions = claim.decisions.count()
    summary = scoring.rescore(actor=celery(), claims=Claim.objects.all())
    assert (summary["scored"], summary["reevaluated"]) == (1, 0)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.CLOSED
    assert claim.decisions.count() == decisions


@pytest.mark.django_db
@pytest.mark.usefixtures("claims_with_a_model")
def test_rescore_with_a_model_predicts_whole_batches(monkeypatch):
    loaded = registry.production_model()
    batches = []
    original = type(loaded).predict_proba

    def predict_proba(self, rows):
        batches.append(len(rows))
        return original(self, rows)

    monkeypatch.setattr(type(loaded), "predict_proba", predict_proba)
    summary = scoring.rescore(actor=celery(), claims=Claim.objects.all(), batch_size=4)
    assert batches == [4, 2]
    assert summary["scored"] == 6
    assert set(FraudScore.objects.values_list("model_key", flat=True)) == {"v1"}
    for score in FraudScore.objects.all():  # a batch scores each claim as it would be scored alone
        assert score.probability == pytest.approx(float(original(loaded, [score.features])[0]))
        assert scoring.score_claim(actor=celery(), claim_id=score.claim_id) == score


@pytest.mark.django_db
def test_the_rescore_command_reports_what_it_did(personas, policy):
    open_claim = submit(actor=personas.alice, policy=policy)
    closed = submit(actor=personas.alice, policy=policy, amount_claimed="900")
    claim_services.claim_deny(actor=personas.underwriter, claim=closed, reason="Duplicate")
    claim_services.claim_close(actor=personas.underwriter, claim=closed)
    out = StringIO()
    call_command("rescore", "--batch-size", "1", stdout=out)
    assert "1 claim(s) under rules-1 (rule-based scores (no production model)): 1 scored" in out.getvalue()
    assert list(FraudScore.objects.values_list("claim_id", flat=True)) == [open_claim.pk]
    out = StringIO()
    call_command("rescore", "--all", stdout=out)
    assert "2 claim(s)" in out.getvalue()
    assert "1 scored, 1 already scored" in out.getvalue()
    assert FraudScore.objects.get(claim=closed).history.get().history_user.username == "system-command"
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    out = StringIO()
    call_command("rescore", "--all", "--since", tomorrow, stdout=out)
    assert "0 claim(s)" in out.getvalue()
