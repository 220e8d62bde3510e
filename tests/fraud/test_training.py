"""Training fraud models: an honest evaluation (time holdout, encoder fit on training rows only, threshold from the
training part's out-of-fold scores), every version registered with what it needs, and no work when nothing changed.

The models here are trained on a generated book (1,500 claims, about 500 of them labelled, 8 % fraud) with small
ensembles, so the figures are modest and noisy; they must be better than chance and internally consistent."""

import hashlib
import json
import math
from datetime import date
from io import StringIO
from types import SimpleNamespace

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from claims.choices import InvestigationOutcome
from claims.models import Claim
from etl.generator import generate_book
from fraud import evaluation, features
from fraud.choices import ArtifactFormat, ModelStage
from fraud.encoding import FeatureEncoder, FeatureTable
from fraud.models import ModelVersion
from fraud.services import monitoring, training
from insurance.core.audit import system_account
from insurance.core.exceptions import ServiceError

SEED = 7
CLAIMS = 1500
AS_OF = date(2025, 6, 30)
# Small ensembles keep the suite quick; the production defaults are in training.DEFAULT_PARAMS.
SMALL = {"xgboost": {"n_estimators": 60}, "forest": {"n_estimators": 40}}


@pytest.fixture(scope="module")
def book(django_db_setup, django_db_blocker):
    """One generated book and one training run of all three algorithms, rolled back after the module."""
    with django_db_blocker.unblock(), transaction.atomic():
        actor = system_account("command")
        generate_book(actor=actor, seed=SEED, claims=CLAIMS, documents=0, as_of=AS_OF)
        result = training.train(actor=actor, params=SMALL, seed=0)
        yield SimpleNamespace(actor=actor, result=result)
        transaction.set_rollback(True)


def versions_of(book) -> dict[str, ModelVersion]:
    return {version.algorithm: ModelVersion.objects.get(pk=version.pk) for version in book.result.versions}


# --- the run ----------------------------------------------------------------------------------------------------


class TestTrainingOnAGeneratedBook:
    def test_it_registers_one_staging_version_per_algorithm_with_its_artifact(self, book, db):
        versions = versions_of(book)
        assert set(versions) == {"xgboost", "logistic", "forest"}
        assert sorted(version.version for version in versions.values()) == [1, 2, 3]
        for algorithm, version in versions.items():
            assert version.stage == ModelStage.STAGING
            assert version.trained_by == book.actor
            assert version.feature_schema_version == features.SCHEMA_VERSION
            assert version.artifact_sha256 == hashlib.sha256(bytes(version.artifact)).hexdigest()
            expected = ArtifactFormat.XGBOOST_JSON if algorithm == "xgboost" else ArtifactFormat.PICKLE
            assert version.artifact_format == expected
            assert bytes(version.plot).startswith(b"\x89PNG")
            assert version.training_fingerprint == training.training_fingerprint(training.labelled_claims())
            history = version.history.earliest()
            assert history.history_user == book.actor
        # xgboost's own JSON format, never a pickle
        assert json.loads(bytes(versions["xgboost"].artifact))["learner"]

    def test_the_holdout_is_the_newest_labelled_claims_and_training_the_older(self, book, db):
        version = versions_of(book)["xgboost"]
        labelled = training.labelled_claims()
        held = set(version.holdout["claim_ids"])
        assert version.training_rows + len(held) == labelled.count()
        assert len(held) == math.ceil(labelled.count() * 0.2)
        newest_training = labelled.exclude(pk__in=held).order_by("-reported_at").first().reported_at
        oldest_held = labelled.filter(pk__in=held).order_by("reported_at").first().reported_at
        assert newest_training <= oldest_held
        assert version.holdout["cutoff"] == oldest_held.isoformat()

    def test_metrics_are_present_and_sane(self, book, db):
        for version in versions_of(book).values():
            holdout, cv = version.metrics["holdout"], version.metrics["cv"]
            assert holdout["n"] == len(version.holdout["claim_ids"])
            assert 0.55 < holdout["roc_auc"] <= 1, (version.algorithm, holdout["roc_auc"])
            assert holdout["pr_auc"] > holdout["prevalence"], "better than referring at random"
            assert 0.6 < cv["roc_auc_mean"] <= 1
            assert len(cv["per_fold"]) == 5
            confusion = holdout["confusion"]
            assert sum(confusion.values()) == holdout["n"]
            assert confusion["tp"] + confusion["fn"] == holdout["positives"]
            for name in ("f1", "precision_at_budget", "recall_at_budget", "brier"):
                assert 0 <= holdout[name] <= 1, name
            assert sum(row["count"] for row in holdout["calibration"]) == holdout["n"]
            fairness = holdout["fairness"]
            assert set(fairness) >= {"age_band", "sex", "region", "max_flag_rate_ratio", "max_recall_ratio"}
            groups = fairness["sex"]["groups"]
            assert sum(group["count"] for group in groups.values()) == holdout["n"]
            assert version.metrics["seconds"] > 0

    def test_the_threshold_refers_the_review_budget_of_training_out_of_fold_scores(self, book, db):
        for version in versions_of(book).values():
            assert version.review_budget == 0.10
            oof = version.metrics["cv"]["oof"]
            assert oof["threshold"] == pytest.approx(version.threshold, abs=1e-6)
            # ceil(10 % of the training rows) claims, a tie or two aside
            expected = math.ceil(0.10 * version.training_rows) / version.training_rows
            assert expected - 1e-4 <= oof["flag_rate"] <= expected + 0.01

    def test_the_encoder_is_stored_as_json_and_reads_back(self, book, db):
        version = versions_of(book)["logistic"]
        encoder = FeatureEncoder.from_json(version.preprocessing)
        assert encoder.feature_names == version.preprocessing["columns"]
        assert "loss_type=collision" in encoder.feature_names
        assert json.loads(json.dumps(version.preprocessing)) == version.preprocessing

    def test_the_drift_reference_is_in_the_layout_monitoring_reads(self, book, db):
        version = versions_of(book)["xgboost"]
        reference = version.reference
        rows = [
            features.features(inputs)
            for inputs in features.gather_many(training.labelled_claims().exclude(pk__in=version.holdout["claim_ids"]))
        ]
        for name in ("amount_claimed", "days_incident_to_report", "loss_type", "police_report_filed"):
            entry = reference["features"][name]
            if entry["kind"] == "numeric":
                assert len(entry["edges"]) == len(entry["proportions"]) + 1
            else:
                assert "__other__" in entry["proportions"]
            # monitoring bins the training rows back into the very same shares
            again = monitoring.distribution([row.get(name) for row in rows], entry)
            assert again == pytest.approx(monitoring.expected(entry), abs=1e-5), name
        score = reference["score"]
        assert score["kind"] == "numeric"
        assert sum(score["proportions"]) == pytest.approx(1, abs=1e-5)

    def test_the_plot_is_written_by_the_command(self, book, db, tmp_path, monkeypatch):
        from fraud.management.commands import train_fraud_model

        monkeypatch.setattr(train_fraud_model, "plot_dir", lambda: tmp_path)
        out = StringIO()
        call_command("train_fraud_model", "--algorithms", "logistic", "--json", stdout=out)
        report = json.loads(out.getvalue())
        assert report["skipped"] is False  # the command's default ensembles are not the fixture's: trained
        (entry,) = report["versions"]
        assert entry["algorithm"] == "logistic"
        assert (tmp_path / f"model-v{entry['version']}.png").read_bytes().startswith(b"\x89PNG")
        assert entry["holdout"]["roc_auc"] > 0.5

    def test_the_command_prints_a_table(self, book, db, tmp_path, monkeypatch):
        from fraud.management.commands import train_fraud_model

        monkeypatch.setattr(train_fraud_model, "plot_dir", lambda: tmp_path)
        out = StringIO()
        call_command("train_fraud_model", "--algorithms", "logistic", "--seed", "3", stdout=out, stderr=StringIO())
        text = out.getvalue()
        for heading in ("ROC-AUC", "PR-AUC", "F1", "recall@budget", "precision@budget", "Brier", "flag-rate ratio"):
            assert heading in text
        assert "Plot of v4:" in text
        assert "logistic" in text

    def test_the_command_promotes_the_best_model_the_first_one_by_force(self, book, db, tmp_path, monkeypatch):
        from fraud.management.commands import train_fraud_model

        monkeypatch.setattr(train_fraud_model, "plot_dir", lambda: tmp_path)
        out = StringIO()
        call_command("train_fraud_model", "--algorithms", "logistic", "--promote", stdout=out, stderr=StringIO())
        assert "v4 is now the production model (the first production model)." in out.getvalue()
        assert ModelVersion.objects.get(stage=ModelStage.PRODUCTION).version == 4


# --- honesty ----------------------------------------------------------------------------------------------------


class TestNothingLeaks:
    def test_the_encoder_is_fit_only_on_training_rows_in_every_fold(self, book, db, monkeypatch):
        fitted_on = []
        original = FeatureEncoder.fit

        def spy(self, rows, y=None):
            fitted_on.append(len(rows))
            return original(self, rows, y)

        monkeypatch.setattr(FeatureEncoder, "fit", spy)
        result = training.train(actor=book.actor, algorithms=["logistic"], seed=1)
        training_rows = result.training_rows
        # five folds of four fifths of the training part, then the whole training part: never the holdout
        assert len(fitted_on) == 6
        assert all(size < training_rows for size in fitted_on[:5])
        assert fitted_on[5] == training_rows
        assert max(fitted_on) + result.holdout_rows == training.labelled_claims().count()

    def test_a_category_seen_only_in_the_holdout_maps_to_other(self, book, db):
        version = versions_of(book)["xgboost"]
        held = version.holdout["claim_ids"]
        labelled = training.labelled_claims()
        labelled.exclude(pk__in=held).update(attributes={"channel": "phone"})
        labelled.filter(pk__in=held).update(attributes={"channel": "web"})

        result = training.train(actor=book.actor, algorithms=["xgboost"], params=SMALL, seed=2)

        (retrained,) = result.versions
        encoder = FeatureEncoder.from_json(retrained.preprocessing)
        assert encoder.spec("attr.claim.channel")["categories"] == ["phone"]
        assert "attr.claim.channel=web" not in encoder.feature_names
        matrix = encoder.transform([{"attr.claim.channel": "web"}])
        names = encoder.feature_names
        assert matrix[0, names.index("attr.claim.channel=(other)")] == 1
        assert matrix[0, names.index("attr.claim.channel=phone")] == 0


# --- refusals and re-runs ---------------------------------------------------------------------------------------


class TestWhenToTrain:
    def test_too_few_labelled_claims_are_refused(self, book, db):
        few = Claim.objects.filter(pk__in=list(training.labelled_claims().values_list("pk", flat=True)[:50]))
        with pytest.raises(ServiceError, match=r"Only 50 labelled claims.*at least 100") as caught:
            training.train(actor=book.actor, claims=few)
        assert caught.value.code == "too_few_labels"

    def test_one_class_is_refused(self, book, db):
        honest = training.labelled_claims().filter(investigation_outcome=InvestigationOutcome.LEGITIMATE)
        with pytest.raises(ServiceError, match="both fraud and legitimate") as caught:
            training.train(actor=book.actor, claims=honest)
        assert caught.value.code == "one_class"

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            ({"algorithms": ["boosting"]}, "boosting not known"),
            ({"review_budget": 1.5}, "review budget"),
            ({"holdout_fraction": 0.9}, "holdout fraction"),
            ({"cv_folds": 1}, "folds"),
        ],
    )
    def test_bad_settings_are_refused(self, book, db, arguments, message):
        with pytest.raises(ServiceError, match=message):
            training.train(actor=book.actor, **arguments)

    def test_the_fingerprint_changes_when_a_label_changes(self, book, db):
        before = training.training_fingerprint(training.labelled_claims())
        claim = training.labelled_claims().filter(investigation_outcome=InvestigationOutcome.LEGITIMATE).first()
        # .update() leaves updated_at alone: the label itself changes the fingerprint
        Claim.objects.filter(pk=claim.pk).update(investigation_outcome=InvestigationOutcome.CONFIRMED_FRAUD)
        after = training.training_fingerprint(training.labelled_claims())
        assert after != before
        Claim.objects.filter(pk=claim.pk).update(investigation_outcome=InvestigationOutcome.LEGITIMATE)
        assert training.training_fingerprint(training.labelled_claims()) == before

    def test_nothing_changed_means_nothing_is_trained_unless_forced(self, book, db):
        again = training.train(actor=book.actor, params=SMALL, seed=0)
        assert again.skipped
        assert [version.pk for version in again.versions] == [version.pk for version in book.result.versions]
        assert again.best.pk == book.result.best.pk
        count = ModelVersion.objects.count()

        forced = training.train(actor=book.actor, algorithms=["logistic"], params=SMALL, seed=0, force=True)
        assert not forced.skipped
        assert ModelVersion.objects.count() == count + 1

    def test_a_large_book_is_cross_validated_on_a_stratified_sample(self, book, db, monkeypatch):
        monkeypatch.setattr(training, "CV_MAX_ROWS", 200)
        data = training.load_training_data(training.labelled_claims())
        part, _ = training.time_split(data, 0.2)
        sample = training.cv_sample(part, seed=0, limit=200)
        assert len(sample) == 200
        assert abs(sample.labels.mean() - part.labels.mean()) < 0.01, "stratified: the same fraud rate"
        assert list(sample.reported_at) == sorted(sample.reported_at), "still in time order"
        assert training.cv_sample(part, seed=0, limit=len(part)) is part

        result = training.train(actor=book.actor, algorithms=["logistic"], params=SMALL, seed=0, force=True)
        version = ModelVersion.objects.get(pk=result.versions[0].pk)
        assert version.metrics["cv"]["rows"] == 200
        assert version.training_rows == len(part), "the model itself is fitted on the whole training part"

    def test_a_changed_label_means_training_again(self, book, db):
        claim = training.labelled_claims().filter(investigation_outcome=InvestigationOutcome.LEGITIMATE).first()
        claim.investigation_outcome = InvestigationOutcome.CONFIRMED_FRAUD
        claim.save()
        result = training.train(actor=book.actor, algorithms=["logistic"], params=SMALL, seed=0)
        assert not result.skipped

    def test_the_command_reports_bad_input_without_a_traceback(self, book, db):
        with pytest.raises(CommandError, match="not known"):
            call_command("train_fraud_model", "--algorithms", "boosting", stdout=StringIO(), stderr=StringIO())
        with pytest.raises(CommandError, match="review budget"):
            call_command("train_fraud_model", "--review-budget", "2", stdout=StringIO(), stderr=StringIO())


# --- the pieces, on hand-made data ------------------------------------------------------------------------------


class TestEncoder:
    ROWS = [
        {"amount": 100, "police": True, "kind": "collision", "note": None},
        {"amount": 300, "police": False, "kind": "collision", "note": "a"},
        {"amount": None, "police": True, "kind": "theft", "note": None},
        {"amount": 200, "police": None, "kind": "collision", "note": None},
        {"amount": "250", "police": False, "kind": "fire", "note": None},
    ]

    def test_numbers_are_numeric_with_the_training_median_and_a_missing_indicator(self):
        encoder = FeatureEncoder(min_category_count=1).fit(self.ROWS)
        assert encoder.spec("amount") == {"name": "amount", "kind": "numeric", "fill": 225.0, "missing_indicator": True}
        matrix = encoder.transform([{"amount": None}, {"amount": 50}])
        names = encoder.feature_names
        assert matrix[:, names.index("amount")].tolist() == [225.0, 50.0]
        assert matrix[:, names.index("amount=(missing)")].tolist() == [1.0, 0.0]
        assert encoder.spec("police")["kind"] == "numeric"  # booleans are 0 and 1

    def test_rare_and_unseen_categories_are_other(self):
        encoder = FeatureEncoder(min_category_count=2).fit(self.ROWS)
        assert encoder.spec("kind")["categories"] == ["collision"]
        names = encoder.feature_names
        matrix = encoder.transform([{"kind": "theft"}, {"kind": "flood"}, {"kind": "collision"}])
        assert matrix[:, names.index("kind=(other)")].tolist() == [1.0, 1.0, 0.0]
        assert matrix[:, names.index("kind=collision")].tolist() == [0.0, 0.0, 1.0]
        assert encoder.feature_names[names.index("kind=collision")] == "kind=collision"

    def test_a_feature_never_seen_with_a_value_is_dropped_and_unknown_features_ignored(self):
        encoder = FeatureEncoder(min_category_count=1).fit([{"a": 1, "b": None}, {"a": 2, "b": None}])
        assert encoder.source_features == ["a"]
        assert encoder.dropped == ["b"]
        assert encoder.transform([{"a": 3, "c": "new"}]).tolist() == [[3.0]]

    def test_json_round_trip_gives_the_same_matrix(self):
        encoder = FeatureEncoder(min_category_count=1).fit(self.ROWS)
        again = FeatureEncoder.from_json(json.loads(json.dumps(encoder.to_json())))
        assert np.array_equal(again.transform(self.ROWS), encoder.transform(self.ROWS))
        assert again.feature_names == encoder.feature_names

    def test_a_feature_table_encodes_like_the_rows(self):
        encoder = FeatureEncoder(min_category_count=1).fit(self.ROWS)
        table = FeatureTable.from_rows(self.ROWS, chunk_size=2)
        assert np.array_equal(encoder.transform(table), encoder.transform(self.ROWS))
        assert np.array_equal(encoder.transform(table[[0, 4]]), encoder.transform([self.ROWS[0], self.ROWS[4]]))
        assert table[2]["kind"] == "theft"


class TestEvaluation:
    def test_the_budget_threshold_refers_that_share_of_claims(self):
        scores = np.linspace(0, 1, 200)
        threshold = evaluation.threshold_for_budget(scores, 0.10)
        assert (scores >= threshold).sum() == 20
        assert evaluation.threshold_for_budget([0.3, 0.9, 0.1], 0.10) == 0.9  # at least one claim

    def test_precision_and_recall_at_the_budget_count_the_top_claims(self):
        y = [1, 0, 1, 0, 0, 0, 0, 0, 0, 1]
        scores = [0.9, 0.8, 0.7, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05]
        figures = evaluation.at_budget(y, scores, 0.3)
        assert figures == {
            "precision": pytest.approx(2 / 3, abs=1e-4),
            "recall": pytest.approx(2 / 3, abs=1e-4),
            "reviewed": 3,
        }

    def test_fairness_compares_flag_rates_and_recall_between_groups(self):
        y = np.array([1, 0] * 50 + [1, 0] * 50)
        scores = np.array([0.9, 0.1] * 50 + [0.9, 0.9] * 25 + [0.1, 0.1] * 25)
        groups = {"sex": ["F"] * 100 + ["M"] * 100}
        report = evaluation.fairness(y, scores, 0.5, groups)
        assert report["sex"]["groups"]["F"]["flag_rate"] == 0.5
        assert report["sex"]["groups"]["M"]["flag_rate"] == 0.5
        assert report["sex"]["groups"]["F"]["recall"] == 1.0
        assert report["sex"]["groups"]["M"]["recall"] == 0.5
        assert report["sex"]["recall_ratio"] == 2.0
        assert report["max_recall_ratio"] == 2.0
        assert report["sex"]["flag_rate_ratio"] == 1.0

    def test_calibration_and_brier(self):
        figures = evaluation.calibration([0, 1, 1, 0], [0.05, 0.95, 0.85, 0.15])
        assert figures["brier"] == pytest.approx((0.05**2 + 0.05**2 + 0.15**2 + 0.15**2) / 4)
        assert sum(row["count"] for row in figures["bins"]) == 4

    def test_the_plot_names_the_version(self):
        png = evaluation.plot_png({"holdout": ([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.6])}, title="Fraud model v12")
        assert png.startswith(b"\x89PNG")
