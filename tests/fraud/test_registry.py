"""The model registry: artifacts verified before they are deserialised, champion/challenger promotion with exactly
one production model, rollback, replay, and explanations that name real features, for all three algorithms."""

import pickle
from datetime import date, timedelta
from io import StringIO
from types import SimpleNamespace

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from claims.choices import InvestigationOutcome
from claims.models import Claim
from etl.generator import generate_book
from fraud import features
from fraud.choices import ModelStage, RiskBand
from fraud.models import ModelVersion
from fraud.services import registry, training
from insurance.core.audit import system_account
from insurance.core.exceptions import ConflictError, ServiceError

SEED = 7
CLAIMS = 1500
AS_OF = date(2025, 6, 30)
SMALL = {"xgboost": {"n_estimators": 60}, "forest": {"n_estimators": 40}}


@pytest.fixture(scope="module")
def book(django_db_setup, django_db_blocker):
    """A generated book, three trained models, and one trained on shuffled labels (so it learnt nothing);
    rolled back after the module."""
    with django_db_blocker.unblock(), transaction.atomic():
        actor = system_account("command")
        generate_book(actor=actor, seed=SEED, claims=CLAIMS, documents=0, as_of=AS_OF)
        result = training.train(actor=actor, params=SMALL, seed=0)
        models = {version.algorithm: version for version in result.versions}
        labelled = list(training.labelled_claims().values_list("pk", "investigation_outcome"))
        shuffled = [outcome for _, outcome in labelled]
        np.random.default_rng(1).shuffle(shuffled)
        fraud = [pk for (pk, _), outcome in zip(labelled, shuffled, strict=True) if outcome == "confirmed_fraud"]
        _set_fraud([pk for pk, _ in labelled], fraud)
        (noise,) = training.train(actor=actor, algorithms=["xgboost"], params=SMALL, seed=0).versions
        _set_fraud([pk for pk, _ in labelled], [pk for pk, outcome in labelled if outcome == "confirmed_fraud"])
        yield SimpleNamespace(actor=actor, models=models, noise=noise)
        transaction.set_rollback(True)


def _set_fraud(labelled: list[int], fraud: list[int]) -> None:
    Claim.objects.filter(pk__in=labelled).update(investigation_outcome=InvestigationOutcome.LEGITIMATE)
    Claim.objects.filter(pk__in=fraud).update(investigation_outcome=InvestigationOutcome.CONFIRMED_FRAUD)


@pytest.fixture(autouse=True)
def fresh_cache():
    registry.clear_cache()
    yield
    registry.clear_cache()


def fresh(version: ModelVersion) -> ModelVersion:
    return ModelVersion.objects.get(pk=version.pk)


def production() -> list[int]:
    return list(ModelVersion.objects.filter(stage=ModelStage.PRODUCTION).values_list("version", flat=True))


def holdout_rows(version: ModelVersion, limit: int = 20) -> list[dict]:
    claims = Claim.objects.filter(pk__in=version.holdout["claim_ids"][:limit])
    return [features.features(inputs) for inputs in features.gather_many(claims)]


# --- loading ----------------------------------------------------------------------------------------------------


class TestLoading:
    @pytest.mark.parametrize("algorithm", ["xgboost", "logistic", "forest"])
    def test_a_loaded_model_scores_like_the_training_run(self, book, db, algorithm):
        version = fresh(book.models[algorithm])
        loaded = registry.load_model(version)
        rows = holdout_rows(version, limit=500)
        scores = loaded.predict_proba(rows)
        assert scores.shape == (len(rows),)
        assert ((scores >= 0) & (scores <= 1)).all()
        assert registry.load_model(version) is loaded, "cached per process"

    def test_the_flat_forest_walk_gives_scikit_learns_leaves_and_probabilities(self, book, db):
        loaded = registry.load_model(fresh(book.models["forest"]))
        matrix = loaded.encoder.transform(holdout_rows(loaded.version, limit=500))
        forest = loaded.model.named_steps["model"]
        flat = loaded._forest()
        leaves = np.stack([tree.apply(matrix.astype(np.float32)) for tree in forest.estimators_], axis=1)
        assert (flat.leaves(matrix) == leaves + flat.roots).all()
        expected = forest.predict_proba(matrix)[:, list(forest.classes_).index(1)]
        assert np.allclose(loaded.predict_proba(holdout_rows(loaded.version, limit=500)), expected, atol=1e-12)

    @pytest.mark.parametrize("algorithm", ["xgboost", "logistic"])
    def test_a_tampered_artifact_is_refused_before_it_is_deserialised(self, book, db, algorithm, monkeypatch):
        version = fresh(book.models[algorithm])
        artifact = bytearray(version.artifact)
        artifact[len(artifact) // 2] ^= 0x01
        ModelVersion.objects.filter(pk=version.pk).update(artifact=bytes(artifact))

        def never(*args, **kwargs):
            raise AssertionError("deserialised an unverified artifact")

        monkeypatch.setattr(pickle, "loads", never)
        import xgboost

        monkeypatch.setattr(xgboost.Booster, "load_model", never)
        with pytest.raises(registry.ArtifactTampered, match=f"v{version.version}.*not loaded"):
            registry.load_model(fresh(version))
        # the deferred path (production_model reads the bytes separately) is verified too
        ModelVersion.objects.filter(pk=version.pk).update(stage=ModelStage.PRODUCTION)
        with pytest.raises(registry.ArtifactTampered):
            registry.production_model()

    def test_bytes_changed_after_loading_are_refused_too(self, book, db):
        version = fresh(book.models["forest"])
        registry.load_model(version)
        changed = bytearray(version.artifact)
        changed[100] ^= 0xFF
        version.artifact = bytes(changed)
        with pytest.raises(registry.ArtifactTampered):
            registry.load_model(version)

    def test_risk_bands_follow_the_threshold(self, book, db):
        loaded = registry.load_model(fresh(book.models["logistic"]))
        threshold = loaded.threshold
        assert loaded.risk_band(threshold) == RiskBand.HIGH
        assert loaded.risk_band(threshold * 0.75) == RiskBand.MEDIUM
        assert loaded.risk_band(threshold / 2) == RiskBand.MEDIUM
        assert loaded.risk_band(threshold * 0.49) == RiskBand.LOW


# --- explanations -----------------------------------------------------------------------------------------------


class TestExplanations:
    @pytest.mark.parametrize("algorithm", ["xgboost", "logistic", "forest"])
    def test_explanations_name_real_features_with_their_value_and_direction(self, book, db, algorithm):
        loaded = registry.load_model(fresh(book.models[algorithm]))
        for row in holdout_rows(book.models[algorithm], limit=5):
            reasons = loaded.explain(row, top=5)
            assert 1 <= len(reasons) <= 5
            sizes = [abs(reason["contribution"]) for reason in reasons]
            assert sizes == sorted(sizes, reverse=True)
            for reason in reasons:
                assert reason["feature"] in row, "a feature, never an encoded column such as loss_type=theft"
                assert "=" not in reason["feature"]
                assert reason["value"] == row[reason["feature"]]
                assert reason["direction"] == ("raises" if reason["contribution"] > 0 else "lowers")
                assert reason["reason"] == features.describe(reason["feature"], row[reason["feature"]])

    def test_contributions_add_up_to_the_score(self, book, db):
        rows = holdout_rows(book.models["xgboost"], limit=3)
        for algorithm in ("xgboost", "logistic", "forest"):
            loaded = registry.load_model(fresh(book.models[algorithm]))
            matrix = loaded.encoder.transform(rows)
            per_column = loaded.contributions(matrix).sum(axis=1)
            probability = loaded.predict_proba(rows)
            if algorithm == "xgboost":
                import xgboost

                full = loaded.model.predict(xgboost.DMatrix(matrix), pred_contribs=True).sum(axis=1)
                assert full == pytest.approx(np.log(probability / (1 - probability)), abs=1e-3)
            elif algorithm == "logistic":
                intercept = loaded.model.named_steps["model"].intercept_[0]
                assert per_column + intercept == pytest.approx(np.log(probability / (1 - probability)), abs=1e-6)
            else:
                # Saabas: the mean root value (the forest's prior) plus the path contributions is the probability
                forest = loaded.model.named_steps["model"]
                column = list(forest.classes_).index(1)
                prior = np.mean(
                    [tree.tree_.value[0, 0, column] / tree.tree_.value[0, 0].sum() for tree in forest.estimators_]
                )
                assert per_column + prior == pytest.approx(probability, abs=1e-6)

    def test_a_category_is_folded_back_to_its_feature(self, book, db):
        loaded = registry.load_model(fresh(book.models["logistic"]))
        row = holdout_rows(book.models["logistic"], limit=1)[0]
        reasons = loaded.explain(row, top=100)
        loss = next(reason for reason in reasons if reason["feature"] == "loss_type")
        assert loss["value"] == row["loss_type"]
        assert row["loss_type"] in loss["reason"]


# --- promotion --------------------------------------------------------------------------------------------------


class TestPromotion:
    def test_the_first_model_needs_force(self, book, db):
        with pytest.raises(ServiceError, match="no champion") as caught:
            registry.promote(actor=book.actor, version=book.models["xgboost"])
        assert caught.value.code == "no_champion"
        assert production() == []

        promoted = registry.promote(actor=book.actor, version=book.models["xgboost"], force=True)

        assert production() == [promoted.version]
        assert (promoted.promoted_by, promoted.stage) == (book.actor, ModelStage.PRODUCTION)
        latest = promoted.history.latest()
        assert latest.history_user == book.actor
        assert latest.history_change_reason.startswith("forced: first production model")

    def test_a_model_that_learnt_nothing_is_refused_naming_both_figures(self, book, db):
        champion = registry.promote(actor=book.actor, version=book.models["xgboost"], force=True)
        noise = book.noise
        with pytest.raises(ServiceError, match=r"worse than production") as caught:
            registry.promote(actor=book.actor, version=noise)
        figures = registry.compare(champion=champion, candidate=fresh(noise))
        assert figures["candidate"]["pr_auc"] < figures["champion"]["pr_auc"]
        assert f"{figures['candidate']['pr_auc']:.4f} against {figures['champion']['pr_auc']:.4f}" in str(caught.value)
        assert caught.value.code == "worse_than_production"
        assert production() == [champion.version]
        assert fresh(noise).stage == ModelStage.STAGING

    def test_a_better_model_replaces_production_which_is_archived(self, book, db):
        noise = registry.promote(actor=book.actor, version=book.noise, force=True, reason="drill")
        candidate = book.models["logistic"]
        figures = registry.compare(champion=noise, candidate=fresh(candidate))
        assert figures["candidate"]["pr_auc"] >= figures["champion"]["pr_auc"]

        promoted = registry.promote(actor=book.actor, version=candidate)

        assert production() == [promoted.version]
        assert fresh(noise).stage == ModelStage.ARCHIVED
        assert promoted.history.latest().history_change_reason.startswith(f"over v{noise.version}: PR-AUC")
        assert fresh(noise).history.latest().history_change_reason == f"replaced in production by v{promoted.version}"
        assert registry.production_model().version.pk == promoted.pk

    def test_an_override_is_recorded(self, book, db):
        registry.promote(actor=book.actor, version=book.models["xgboost"], force=True)
        forced = registry.promote(actor=book.actor, version=book.noise, force=True, reason="admin override: test")
        reason = forced.history.latest().history_change_reason
        assert reason.startswith("forced over v")
        assert reason.endswith("admin override: test")

    def test_exactly_one_model_is_ever_in_production(self, book, db):
        for algorithm in ("xgboost", "logistic", "forest"):
            registry.promote(actor=book.actor, version=book.models[algorithm], force=True)
            assert len(production()) == 1
        with pytest.raises(ConflictError, match="already in production"):
            registry.promote(actor=book.actor, version=book.models["forest"], force=True)
        # and the database holds the line whatever writes to it
        with pytest.raises(IntegrityError), transaction.atomic():
            ModelVersion.objects.filter(pk=book.models["xgboost"].pk).update(stage=ModelStage.PRODUCTION)

    def test_a_model_of_another_feature_schema_is_refused(self, book, db):
        ModelVersion.objects.filter(pk=book.models["forest"].pk).update(feature_schema_version="0")
        with pytest.raises(ConflictError, match="feature schema 0"):
            registry.promote(actor=book.actor, version=book.models["forest"], force=True)


# --- rollback ---------------------------------------------------------------------------------------------------


class TestRollback:
    def test_rollback_restores_the_model_production_replaced(self, book, db):
        first = registry.promote(actor=book.actor, version=book.models["xgboost"], force=True)
        second = registry.promote(actor=book.actor, version=book.models["forest"], force=True)

        restored = registry.rollback(actor=book.actor)

        assert restored.pk == first.pk
        assert production() == [first.version]
        assert fresh(second).stage == ModelStage.ARCHIVED
        assert restored.history.latest().history_change_reason == f"restored by rollback from v{second.version}"
        # a second rollback swaps them back
        assert registry.rollback(actor=book.actor).pk == second.pk
        assert production() == [second.version]

    def test_after_a_rollback_and_a_new_promotion_rollback_goes_to_the_replaced_one(self, book, db):
        registry.promote(actor=book.actor, version=book.models["xgboost"], force=True)
        registry.promote(actor=book.actor, version=book.models["forest"], force=True)
        first = registry.rollback(actor=book.actor)  # xgboost again
        registry.promote(actor=book.actor, version=book.models["logistic"], force=True)
        assert registry.rollback(actor=book.actor).pk == first.pk

    def test_nothing_to_roll_back_to_is_refused(self, book, db):
        with pytest.raises(ConflictError, match="No earlier production model"):
            registry.rollback(actor=book.actor)
        registry.promote(actor=book.actor, version=book.models["xgboost"], force=True)
        with pytest.raises(ConflictError, match="No earlier production model"):
            registry.rollback(actor=book.actor)

    def test_the_commands_roll_back_and_refuse_without_a_traceback(self, book, db):
        with pytest.raises(CommandError, match="No earlier production model"):
            call_command("rollback_fraud_model", stdout=StringIO())
        registry.promote(actor=book.actor, version=book.models["xgboost"], force=True)
        second = registry.promote(actor=book.actor, version=book.models["forest"], force=True)
        out = StringIO()
        call_command("rollback_fraud_model", stdout=out)
        assert f"v{second.version} archived" in out.getvalue()


# --- replay -----------------------------------------------------------------------------------------------------


class TestReplay:
    def days_back(self) -> int:
        """Enough days to reach back into the generated book (it ends on AS_OF)."""
        return (timezone.localdate() - date(2025, 3, 1)).days

    def test_replay_counts_referrals_under_both_models_and_the_claims_that_flip(self, book, db):
        champion = registry.promote(actor=book.actor, version=book.models["xgboost"], force=True)
        candidate = fresh(book.models["forest"])
        days = self.days_back()

        replay = registry.replay(version=candidate, days=days)

        since = timezone.now() - timedelta(days=days)
        recent = Claim.objects.filter(reported_at__gte=since)
        rows = [features.features(inputs) for inputs in features.gather_many(recent)]
        assert replay["claims"] == len(rows) == recent.count() > 100
        old = registry.load_model(fresh(champion)).predict_proba(rows) >= champion.threshold
        new = registry.load_model(candidate).predict_proba(rows) >= candidate.threshold
        assert replay["production"]["referred"] == old.sum()
        assert replay["candidate"]["referred"] == new.sum()
        assert (
            replay["change"]
            == new.sum() - old.sum()
            == len(replay["newly_referred"]) - len(replay["no_longer_referred"])
        )
        assert replay["more"] == max(replay["change"], 0)
        assert replay["fewer"] == max(-replay["change"], 0)
        assert len(replay["newly_referred"]) == (new & ~old).sum()
        for flip in replay["newly_referred"]:  # scores are rounded to four places
            assert flip["candidate"] >= candidate.threshold - 1e-4
            assert flip["production"] <= champion.threshold + 1e-4
            assert flip["number"].startswith("GC-")
        for flip in replay["no_longer_referred"]:
            assert flip["candidate"] <= candidate.threshold + 1e-4
            assert flip["production"] >= champion.threshold - 1e-4

    def test_without_production_every_candidate_referral_is_new(self, book, db):
        replay = registry.replay(version=fresh(book.models["logistic"]), days=self.days_back())
        assert replay["production"] is None
        assert replay["more"] == replay["candidate"]["referred"] == len(replay["newly_referred"])

    def test_the_promote_command_prints_the_replay_then_promotes(self, book, db):
        out = StringIO()
        version = book.models["xgboost"].version
        call_command("promote_fraud_model", str(version), "--force", "--replay-days", "30", stdout=out)
        text = out.getvalue()
        assert "Replay of" in text
        assert "production: no model" in text
        assert f"v{version} (xgboost) is now in production." in text
        assert production() == [version]

    def test_the_promote_command_refuses_bad_input(self, book, db):
        with pytest.raises(CommandError, match="No fraud model v999"):
            call_command("promote_fraud_model", "999", stdout=StringIO())
        with pytest.raises(CommandError, match="no champion"):
            call_command("promote_fraud_model", str(book.models["xgboost"].version), stdout=StringIO())
        with pytest.raises(CommandError, match="days: at least 1"):
            call_command("promote_fraud_model", str(book.models["xgboost"].version), "--replay-days", "0")
