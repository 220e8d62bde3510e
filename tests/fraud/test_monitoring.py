"""Monitoring: drift against training (PSI), realised precision and recall on concluded investigations, the health
check, `fraud_report`, and the scheduled retrain and snapshot."""

import hashlib
import json
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO
from itertools import count

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from claims.choices import InvestigationOutcome
from claims.models import Claim
from fraud import features, health, periodic
from fraud.choices import ModelStage, MonitoringStatus, RiskBand, ScoreMethod
from fraud.encoding import FeatureEncoder
from fraud.models import FraudScore, ModelVersion, MonitoringSnapshot
from fraud.services import monitoring, registry, training
from insurance.core.audit import system_account
from insurance.core.exceptions import ServiceError
from tests.policies.factories import make_test_product, quote, set_holder

NOW = timezone.now()

# What training saw: amounts half under 100, a third to 1,000, a fifth to 10,000; collisions 60 %, thefts 30 %,
# anything else 10 %; scores 70 % under 0.1, 20 % to 0.5, 10 % above.
REFERENCE = {
    "features": {
        "amount": {"kind": "numeric", "edges": [0, 100, 1000, 10000], "proportions": [0.5, 0.3, 0.2]},
        "loss_type": {"kind": "categorical", "proportions": {"collision": 0.6, "theft": 0.3, "__other__": 0.1}},
        "retired_feature": {"kind": "numeric", "edges": [0, 1, 2], "proportions": [0.5, 0.5]},
    },
    "score": {"kind": "numeric", "edges": [0, 0.1, 0.5, 1], "proportions": [0.7, 0.2, 0.1]},
}


def like_training(n: int = 100) -> list[tuple[dict, float]]:
    """`n` (features, probability) rows distributed exactly as the reference."""
    amounts = [50] * (n // 2) + [500] * (n * 3 // 10) + [5000] * (n // 5)
    losses = ["collision"] * (n * 6 // 10) + ["theft"] * (n * 3 // 10) + ["fire"] * (n // 10)
    probabilities = [0.05] * (n * 7 // 10) + [0.3] * (n // 5) + [0.8] * (n // 10)
    return [
        ({"amount": amount, "loss_type": loss}, p)
        for amount, loss, p in zip(amounts, losses, probabilities, strict=True)
    ]


def drifted(n: int = 100) -> list[tuple[dict, float]]:
    """Large thefts, scored high: far from training."""
    return [({"amount": 5000, "loss_type": "theft"}, 0.8)] * n


# --- psi and distribution ---------------------------------------------------------------------------------------


def test_psi_of_identical_distributions_is_zero():
    assert monitoring.psi([0.5, 0.3, 0.2], [0.5, 0.3, 0.2]) == pytest.approx(0.0, abs=1e-12)


def test_psi_of_a_small_wobble_is_ok_and_of_a_shift_is_an_alert():
    wobble = monitoring.psi([0.5, 0.3, 0.2], [0.48, 0.31, 0.21])
    shifted = monitoring.psi([0.5, 0.3, 0.2], [0.1, 0.3, 0.6])
    assert wobble < monitoring.WARN_PSI
    assert shifted > monitoring.ALERT_PSI
    assert monitoring.status_of(wobble) == MonitoringStatus.OK
    assert monitoring.status_of(0.15) == MonitoringStatus.WARN
    assert monitoring.status_of(shifted) == MonitoringStatus.ALERT


def test_psi_stays_finite_when_a_bin_is_empty():
    value = monitoring.psi([0.5, 0.5, 0.0], [0.0, 0.5, 0.5])
    assert 0 < value < 100


def test_psi_refuses_bins_that_do_not_line_up():
    with pytest.raises(ValueError, match="bins"):
        monitoring.psi([0.5, 0.5], [1.0])


def test_numeric_values_are_binned_with_the_reference_edges_and_outliers_go_to_the_end_bins():
    entry = REFERENCE["features"]["amount"]
    # -5, 0 and 50 in [0, 100); 100 opens [100, 1000); 5000 and 20000 (above the last edge) in the last bin.
    shares = monitoring.distribution([-5, 0, 50, 100, 5000, 20000, None], entry)
    assert shares == pytest.approx([3 / 6, 1 / 6, 2 / 6])


def test_categories_training_never_saw_count_as_other():
    entry = REFERENCE["features"]["loss_type"]
    shares = monitoring.distribution(["collision", "fire", "theft", "storm"], entry)
    assert shares == pytest.approx([0.25, 0.25, 0.5])  # collision, theft, __other__
    assert monitoring.expected(entry) == [0.6, 0.3, 0.1]


def test_category_values_match_the_json_keys_of_the_reference():
    entry = {"kind": "categorical", "proportions": {"True": 0.2, "False": 0.8}}
    assert monitoring.distribution([True, False, False, "maybe"], entry) == pytest.approx([0.25, 0.5, 0.25])
    assert monitoring.expected(entry) == [0.2, 0.8, 0.0]  # __other__ added, empty at training


def test_missing_values_are_left_out_as_at_training():
    entry = REFERENCE["features"]["loss_type"]
    assert monitoring.distribution(["theft", "", None, float("nan")], entry) == pytest.approx([0.0, 1.0, 0.0])
    assert monitoring.distribution([1.0, float("nan"), "text"], REFERENCE["score"]) == pytest.approx([0, 0, 1])


def test_no_values_give_zero_shares():
    assert monitoring.distribution([], REFERENCE["score"]) == [0.0, 0.0, 0.0]


# --- snapshots ------------------------------------------------------------------------------------------------------

_versions = count(1)


@pytest.fixture
def policy(personas):
    product = make_test_product()
    set_holder(personas.alice, born=date(1980, 5, 17))
    start = timezone.localdate() - timedelta(days=60)
    quoted = quote(actor=personas.alice, holder=personas.alice, product=product, effective_date=start, today=start)
    from policies import services as policy_services

    return policy_services.policy_bind(actor=personas.alice, policy=quoted, today=start)


@pytest.fixture
def make_claim(policy, personas):
    numbers = count(1)

    def make(outcome: str = InvestigationOutcome.UNKNOWN, amount: str = "1000") -> Claim:
        return Claim.objects.create(
            number=f"MON-{next(numbers):05d}",
            policy=policy,
            claimant=personas.alice,
            reported_by=personas.alice,
            incident_at=NOW - timedelta(days=5),
            incident_place="Leeds",
            loss_type="collision",
            description="test",
            amount_claimed=Decimal(amount),
            currency="USD",
            investigation_outcome=outcome,
        )

    return make


def model_version(personas, *, stage=ModelStage.PRODUCTION, threshold=0.5, **fields) -> ModelVersion:
    artifact = b"not a real model"
    defaults = {
        "version": 1000 + next(_versions),
        "algorithm": "xgboost",
        "stage": stage,
        "artifact": artifact,
        "artifact_format": "xgboost-json",
        "artifact_sha256": hashlib.sha256(artifact).hexdigest(),
        "feature_schema_version": "1",
        "training_fingerprint": "f" * 64,
        "training_rows": 1200,
        "threshold": threshold,
        "review_budget": 0.1,
        "reference": REFERENCE,
        "metrics": {"holdout": {"roc_auc": 0.81234, "average_precision": 0.3}, "positives": 96},
        "trained_by": personas.admin,
    }
    return ModelVersion.objects.create(**{**defaults, **fields})


def add_scores(version, claim, rows, *, at=NOW - timedelta(days=1), band=None) -> list[FraudScore]:
    """Store scores of `claim` by `version` for each (features, probability), all created at `at`."""
    start = FraudScore.objects.count()
    scores = FraudScore.objects.bulk_create(
        FraudScore(
            claim=claim,
            model_version=version,
            model_key=f"v{version.version}",
            method=ScoreMethod.MODEL,
            feature_schema_version="1",
            feature_fingerprint=f"{start + i:064d}",
            probability=p,
            risk_band=band or (RiskBand.HIGH if p >= version.threshold else RiskBand.LOW),
            features=values,
        )
        for i, (values, p) in enumerate(rows)
    )
    FraudScore.objects.filter(pk__in=[s.pk for s in scores]).update(created_at=at)
    return scores


@pytest.mark.django_db
def test_scores_like_training_are_stable(personas, make_claim):
    version = model_version(personas)
    add_scores(version, make_claim(), like_training())
    snapshot = monitoring.snapshot(actor=personas.admin, now=NOW)
    assert snapshot.model_version == version
    assert snapshot.scored == 100
    assert snapshot.score_psi == pytest.approx(0.0, abs=1e-6)
    assert set(snapshot.feature_psi) == {"amount", "loss_type"}  # retired_feature: no score carries it
    assert all(value == pytest.approx(0.0, abs=1e-6) for value in snapshot.feature_psi.values())
    assert snapshot.status == MonitoringStatus.OK
    assert snapshot.window_end == NOW
    assert snapshot.window_start == NOW - timedelta(days=30)


@pytest.mark.django_db
def test_drifted_scores_raise_an_alert_and_name_the_drifting_features(personas, make_claim):
    model_version(personas)
    add_scores(ModelVersion.objects.get(), make_claim(), drifted())
    snapshot = monitoring.snapshot(actor=personas.admin, now=NOW)
    assert snapshot.score_psi > monitoring.ALERT_PSI
    assert snapshot.feature_psi["amount"] > monitoring.ALERT_PSI
    assert snapshot.feature_psi["loss_type"] > monitoring.ALERT_PSI
    assert snapshot.status == MonitoringStatus.ALERT


@pytest.mark.django_db
def test_drifting_features_under_a_stable_score_are_a_warning(personas, make_claim):
    version = model_version(personas)
    rows = [({**values, "amount": 5000}, p) for values, p in like_training()]
    add_scores(version, make_claim(), rows)
    snapshot = monitoring.snapshot(actor=personas.admin, now=NOW)
    assert snapshot.score_psi == pytest.approx(0.0, abs=1e-6)
    assert snapshot.feature_psi["amount"] > monitoring.ALERT_PSI
    assert snapshot.status == MonitoringStatus.WARN


def test_the_status_reads_the_score_and_the_worst_feature():
    assert monitoring.overall_status(None, {}) == MonitoringStatus.OK
    assert monitoring.overall_status(0.05, {"a": 0.2}) == MonitoringStatus.OK
    assert monitoring.overall_status(0.05, {"a": 0.3}) == MonitoringStatus.WARN
    assert monitoring.overall_status(0.2, {}) == MonitoringStatus.WARN
    assert monitoring.overall_status(0.3, {"a": 0.0}) == MonitoringStatus.ALERT


@pytest.mark.django_db
def test_only_the_models_scores_inside_the_window_count(personas, make_claim):
    version = model_version(personas)
    other = model_version(personas, stage=ModelStage.ARCHIVED)
    claim = make_claim()
    add_scores(version, claim, like_training())
    add_scores(version, claim, drifted(), at=NOW - timedelta(days=31))  # before the window
    add_scores(version, claim, drifted(), at=NOW + timedelta(minutes=1))  # after it
    add_scores(other, claim, drifted())  # another model
    snapshot = monitoring.snapshot(actor=personas.admin, now=NOW)
    assert snapshot.scored == 100
    assert snapshot.status == MonitoringStatus.OK
    week = monitoring.snapshot(actor=personas.admin, now=NOW, window_days=7, model_version=other)
    assert (week.model_version, week.scored) == (other, 100)


@pytest.mark.django_db
def test_drift_on_too_few_scores_is_stored_but_not_judged(personas, make_claim):
    version = model_version(personas)
    add_scores(version, make_claim(), drifted(monitoring.MIN_SCORES - 1))
    snapshot = monitoring.snapshot(actor=personas.admin, now=NOW)
    assert snapshot.score_psi > monitoring.ALERT_PSI
    assert snapshot.status == MonitoringStatus.OK


@pytest.mark.django_db
def test_a_snapshot_is_written_as_its_actor(personas, make_claim):
    model_version(personas)
    snapshot = monitoring.snapshot(actor=personas.underwriter, now=NOW)
    assert snapshot.scored == 0
    assert snapshot.score_psi is None
    assert snapshot.feature_psi == {}
    assert snapshot.history.get().history_user == personas.underwriter


@pytest.mark.django_db
def test_without_a_production_model_there_is_nothing_to_monitor(personas):
    model_version(personas, stage=ModelStage.STAGING)
    with pytest.raises(ServiceError, match="No production fraud model"):
        monitoring.snapshot(actor=personas.admin)


@pytest.mark.django_db
def test_realised_precision_and_recall_come_from_concluded_investigations(personas, make_claim):
    version = model_version(personas, threshold=0.6)
    caught = make_claim(InvestigationOutcome.CONFIRMED_FRAUD)
    missed = make_claim(InvestigationOutcome.CONFIRMED_FRAUD)
    false_alarm = make_claim(InvestigationOutcome.LEGITIMATE)
    cleared = make_claim(InvestigationOutcome.LEGITIMATE)
    open_claim = make_claim()  # no outcome yet: not counted
    features = {"amount": 500, "loss_type": "theft"}
    # `caught` was low at first; its latest score (after new documents) is the one that counts.
    add_scores(version, caught, [(features, 0.2)], at=NOW - timedelta(days=3))
    add_scores(version, caught, [(features, 0.9)], at=NOW - timedelta(days=2))
    add_scores(version, missed, [(features, 0.1)])
    add_scores(version, false_alarm, [(features, 0.4)], band=RiskBand.HIGH)  # high band under the threshold
    add_scores(version, cleared, [(features, 0.3)])
    add_scores(version, open_claim, [(features, 0.95)])

    realised = monitoring.snapshot(actor=personas.admin, now=NOW).realised

    assert realised == {
        "labelled": 4,
        "confirmed_fraud": 2,
        "flagged": 2,
        "true_positives": 1,
        "precision": 0.5,
        "recall": 0.5,
        "threshold": 0.6,
    }


@pytest.mark.django_db
def test_realised_ratios_are_none_without_flags_or_fraud(personas, make_claim):
    version = model_version(personas)
    add_scores(version, make_claim(InvestigationOutcome.LEGITIMATE), [({}, 0.1)])
    realised = monitoring.snapshot(actor=personas.admin, now=NOW).realised
    assert (realised["labelled"], realised["precision"], realised["recall"]) == (1, None, None)


# --- the health check -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_health_says_when_scores_are_rule_based(personas):
    model_version(personas, stage=ModelStage.STAGING)
    result = health.fraud()
    assert result["ok"] is True
    assert result["detail"] == "no production model: rule-based scores"


@pytest.mark.django_db
def test_health_names_the_model_and_its_last_snapshot(personas, make_claim):
    version = model_version(personas, version=7)
    assert health.fraud() == {"ok": True, "detail": "production model v7 (xgboost), no monitoring snapshot yet"}
    add_scores(version, make_claim(), like_training())
    monitoring.snapshot(actor=personas.admin, now=NOW)
    result = health.fraud()
    assert result["ok"] is True
    assert result["detail"] == (f"production model v7 (xgboost), last snapshot ok ({NOW:%Y-%m-%d}), PSI score 0.000")


@pytest.mark.django_db
def test_health_fails_when_the_latest_snapshot_is_an_alert(personas, make_claim, client):
    version = model_version(personas, version=8)
    add_scores(version, make_claim(), drifted())
    monitoring.snapshot(actor=personas.admin, now=NOW)
    assert health.fraud()["ok"] is False
    response = client.get("/health/")
    assert response.status_code == 503
    assert "last snapshot alert" in response.json()["checks"]["fraud"]["detail"]


# --- fraud_report -----------------------------------------------------------------------------------------------


def report(*args) -> str:
    out = StringIO()
    call_command("fraud_report", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_report_without_a_production_model():
    assert report() == "No production model: claims are scored by the rules.\n"
    assert json.loads(report("--json")) == {"production_model": None, "snapshot": None}
    with pytest.raises(CommandError, match="No production fraud model"):
        report("--snapshot")


@pytest.mark.django_db
def test_report_shows_the_model_and_a_new_snapshot(personas, make_claim):
    version = model_version(personas, version=5)
    add_scores(version, make_claim(InvestigationOutcome.CONFIRMED_FRAUD), drifted())
    text = report()
    assert "Production model v5 (xgboost)" in text
    assert "trained on 1,200 claims" in text
    assert "holdout.roc_auc 0.8123" in text
    assert "No monitoring snapshot yet" in text

    text = report("--snapshot", "--window-days", "7")
    assert "100 scores, status ALERT" in text
    assert "top drifting features" in text
    assert text.index("    amount") < text.index("    loss_type")  # most drifting first
    assert "precision 1.00 (1 of 1 flagged), recall 1.00 (1 of 1 confirmed fraud)" in text
    snapshot = MonitoringSnapshot.objects.get()
    assert snapshot.window_end - snapshot.window_start == timedelta(days=7)
    assert snapshot.history.get().history_user == system_account("command")


@pytest.mark.django_db
def test_report_as_json(personas, make_claim):
    version = model_version(personas, version=6)
    add_scores(version, make_claim(), like_training())
    monitoring.snapshot(actor=personas.admin, now=NOW)
    body = json.loads(report("--json"))
    assert body["production_model"]["version"] == 6
    assert body["production_model"]["metrics"] == {
        "holdout.roc_auc": 0.8123,
        "holdout.average_precision": 0.3,
        "positives": 96,
    }
    assert body["snapshot"]["status"] == "ok"
    assert body["snapshot"]["scored"] == 100
    assert set(body["snapshot"]["feature_psi"]) == {"amount", "loss_type"}
    assert body["snapshot"]["realised"]["labelled"] == 0


# --- scheduled work ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_daily_monitoring_snapshots_the_production_model(personas, make_claim):
    assert periodic.daily_monitoring.delay().get() == "skipped: no production model"
    version = model_version(personas)
    add_scores(version, make_claim(), like_training())
    assert periodic.daily_monitoring.delay().get().startswith(f"v{version.version}: ok")
    snapshot = MonitoringSnapshot.objects.get()
    assert snapshot.history.get().history_user == system_account("celery")


# --- weekly retraining ------------------------------------------------------------------------------------------


@pytest.fixture
def labelled(make_claim):
    """Six concluded claims: the three large ones were fraud."""
    fraud, legitimate = InvestigationOutcome.CONFIRMED_FRAUD, InvestigationOutcome.LEGITIMATE
    return [
        make_claim(outcome, amount)
        for outcome, amount in [
            (legitimate, "900"),
            (legitimate, "1100"),
            (legitimate, "1300"),
            (fraud, "9000"),
            (fraud, "12000"),
            (fraud, "15000"),
        ]
    ]


@pytest.fixture
def fresh_registry():
    registry.clear_cache()
    yield
    registry.clear_cache()


def tiny_model(personas, claims, labels, *, stage) -> ModelVersion:
    """A real (tiny) xgboost model of these claims' features, its holdout those claims, as training stores one."""
    from xgboost import XGBClassifier

    rows = [features.features(features.gather(claim)) for claim in claims]
    encoder = FeatureEncoder(min_category_count=1).fit(rows)
    model = XGBClassifier(n_estimators=5, max_depth=2, learning_rate=0.5, min_child_weight=0, base_score=0.5)
    model.fit(encoder.transform(rows), np.asarray(labels))
    artifact = bytes(model.get_booster().save_raw("json"))
    return model_version(
        personas,
        stage=stage,
        artifact=artifact,
        artifact_sha256=hashlib.sha256(artifact).hexdigest(),
        preprocessing=encoder.to_json(),
        feature_schema_version=features.SCHEMA_VERSION,
        holdout={"claim_ids": [claim.pk for claim in claims]},
    )


def trained(candidate: ModelVersion, *, skipped: bool = False) -> training.TrainingResult:
    return training.TrainingResult(
        versions=[candidate],
        best=candidate,
        skipped=skipped,
        fingerprint="e" * 64,
        message=f"trained v{candidate.version} (xgboost)",
    )


def current_fingerprint() -> str:
    return training.training_fingerprint(training.labelled_claims())


@pytest.mark.django_db
def test_weekly_retrain_skips_when_production_learnt_from_the_current_labels(personas, labelled):
    model_version(personas, training_fingerprint=current_fingerprint())
    assert monitoring.labels_changed_since(ModelVersion.objects.get()) is False
    assert periodic.weekly_retrain.delay().get() == "skipped: no new labels"
    assert ModelVersion.objects.count() == 1


@pytest.mark.django_db
def test_a_new_label_means_retraining_and_too_few_labels_are_reported_not_raised(personas, labelled, make_claim):
    production = model_version(personas, training_fingerprint=current_fingerprint())
    concluded = make_claim()
    concluded.investigation_outcome = InvestigationOutcome.LEGITIMATE
    concluded.save()
    assert monitoring.labels_changed_since(production) is True
    message = periodic.weekly_retrain.delay().get()
    assert message.startswith("not trained: ")
    assert str(training.MIN_LABELLED) in message
    assert ModelVersion.objects.count() == 1


@pytest.mark.django_db
def test_a_candidate_worse_than_production_stays_in_staging(personas, labelled, monkeypatch, fresh_registry):
    champion = tiny_model(personas, labelled, [0, 0, 0, 1, 1, 1], stage=ModelStage.PRODUCTION)
    candidate = tiny_model(personas, labelled, [1, 1, 1, 0, 0, 0], stage=ModelStage.STAGING)
    monkeypatch.setattr(training, "train", lambda **kwargs: trained(candidate))

    message = periodic.weekly_retrain.delay().get()

    assert message.startswith(f"trained v{candidate.version} (xgboost); v{candidate.version} left in staging: ")
    assert "worse than production" in message
    candidate.refresh_from_db()
    champion.refresh_from_db()
    assert (candidate.stage, champion.stage) == (ModelStage.STAGING, ModelStage.PRODUCTION)


@pytest.mark.django_db
def test_a_better_candidate_is_promoted(personas, labelled, monkeypatch, fresh_registry):
    champion = tiny_model(personas, labelled, [1, 1, 1, 0, 0, 0], stage=ModelStage.PRODUCTION)
    candidate = tiny_model(personas, labelled, [0, 0, 0, 1, 1, 1], stage=ModelStage.STAGING)
    monkeypatch.setattr(training, "train", lambda **kwargs: trained(candidate))

    message = periodic.weekly_retrain.delay().get()

    assert message == f"trained v{candidate.version} (xgboost); promoted v{candidate.version} (xgboost)"
    candidate.refresh_from_db()
    champion.refresh_from_db()
    assert (candidate.stage, champion.stage) == (ModelStage.PRODUCTION, ModelStage.ARCHIVED)
    assert candidate.history.first().history_user == system_account("celery")


@pytest.mark.django_db
def test_the_first_model_is_left_for_a_person_to_promote(personas, labelled, monkeypatch, fresh_registry):
    candidate = tiny_model(personas, labelled, [0, 0, 0, 1, 1, 1], stage=ModelStage.STAGING)
    monkeypatch.setattr(training, "train", lambda **kwargs: trained(candidate))
    message = periodic.weekly_retrain.delay().get()
    assert "left in staging: No model is in production" in message
    candidate.refresh_from_db()
    assert candidate.stage == ModelStage.STAGING


@pytest.mark.django_db
def test_candidates_already_trained_on_these_labels_are_not_offered_again(personas, labelled, monkeypatch):
    candidate = model_version(personas, stage=ModelStage.STAGING)
    monkeypatch.setattr(training, "train", lambda **kwargs: trained(candidate, skipped=True))
    assert periodic.weekly_retrain.delay().get() == f"skipped: trained v{candidate.version} (xgboost)"
