"""The model registry: load a version (verified before use, once per process), promote a challenger over the
champion, roll production back, and replay what a candidate would change.

Loading. A version's artifact is hashed and compared with its registered `artifact_sha256` BEFORE it is
deserialised, so a pickle is never loaded unverified (`ArtifactTampered` otherwise). Loaded models are cached per
process by (pk, sha256); the bytes are hashed again whenever they are at hand.

Promotion (champion/challenger). The candidate and the current production model score the candidate's holdout
claims, with features computed now and labels as they are now; the candidate must reach at least the champion's
PR-AUC (average precision: the primary figure, fraud being rare). The swap happens in one transaction under row
locks, production moving to archived before the candidate moves in, so the one-production-model constraint holds
at every statement. The first model, with no champion to beat, or an admin's explicit override, needs `force`,
and the history row says so.

Rollback restores the model the current production model replaced (the archived one promoted most recently); it
becomes production again as of now, so a second rollback swaps the two back.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import threading
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from claims.choices import InvestigationOutcome
from claims.models import Claim
from insurance.core.audit import acting_as
from insurance.core.exceptions import ConflictError, ServiceError

from .. import evaluation, features
from ..choices import Algorithm, ArtifactFormat, ModelStage, RiskBand
from ..encoding import FeatureEncoder
from ..models import ModelVersion
from ..selectors import ARTIFACT_FIELDS, SCORING_DEFERRED

logger = logging.getLogger(__name__)

HEAVY_FIELDS = SCORING_DEFERRED
CHUNK = 5000


class ArtifactTampered(ServiceError):
    """The stored artifact's bytes do not hash to the registered sha256: it is not loaded."""

    status_code = 409
    code = "artifact_tampered"


# --- loading ------------------------------------------------------------------------------------------------------

_cache: dict[tuple[int, str], LoadedModel] = {}
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every loaded model (tests; a process otherwise keeps them for its lifetime)."""
    with _cache_lock:
        _cache.clear()


def verify(version: ModelVersion, artifact: bytes) -> None:
    """Raise ArtifactTampered unless `artifact` hashes to the version's registered sha256."""
    actual = hashlib.sha256(artifact).hexdigest()
    if actual != version.artifact_sha256:
        logger.error(
            "fraud model v%s: artifact sha256 %s, registered %s", version.version, actual, version.artifact_sha256
        )
        raise ArtifactTampered(
            f"Fraud model v{version.version}: the stored artifact hashes to {actual[:12]}..., not the registered "
            f"{version.artifact_sha256[:12]}...; it was changed after training and is not loaded."
        )


def load_model(version: ModelVersion) -> LoadedModel:
    """The version's model, ready to score: verified, deserialised, and cached for this process."""
    key = (version.pk, version.artifact_sha256)
    artifact = bytes(version.artifact) if "artifact" not in version.get_deferred_fields() else None
    if artifact is not None:
        verify(version, artifact)  # cheap, and catches bytes changed since the model was cached
    cached = _cache.get(key)
    if cached is not None:
        return cached
    if artifact is None:
        artifact = _stored_artifact(version)
        verify(version, artifact)
    model = _deserialise(version, artifact)
    loaded = LoadedModel(version=version, encoder=FeatureEncoder.from_json(version.preprocessing), model=model)
    with _cache_lock:
        _cache[key] = loaded
    return loaded


def _stored_artifact(version: ModelVersion) -> bytes:
    return bytes(ModelVersion.objects.filter(pk=version.pk).values_list("artifact", flat=True).get())


def _deserialise(version: ModelVersion, artifact: bytes):
    """Only ever called on verified bytes."""
    if version.artifact_format == ArtifactFormat.XGBOOST_JSON:
        import xgboost

        booster = xgboost.Booster()
        booster.load_model(bytearray(artifact))
        # Scoring is a claim or a batch at a time: one thread answers in under a millisecond, where xgboost's
        # default (every core) spends tens of milliseconds starting and syncing threads.
        booster.set_param({"nthread": 1})
        return booster
    if version.artifact_format == ArtifactFormat.PICKLE:
        return pickle.loads(artifact)  # noqa: S301 - the bytes were verified against the registered sha256 above
    raise ServiceError(f"Fraud model v{version.version}: unknown artifact format {version.artifact_format!r}")


class LoadedModel:
    """A verified, deserialised model version: scores, explanations and risk bands of feature dicts."""

    def __init__(self, *, version: ModelVersion, encoder: FeatureEncoder, model):
        self.version = version
        self.encoder = encoder
        self.model = model
        self.algorithm = version.algorithm
        self.threshold = float(version.threshold)
        self._forest_arrays: _FlatForest | None = None

    def __repr__(self) -> str:
        return f"<LoadedModel v{self.version.version} {self.algorithm}>"

    # --- scores ---

    def predict_proba(self, rows: Sequence[dict]) -> np.ndarray:
        """P(fraud) of each features dict."""
        if len(rows) == 0:
            return np.empty(0, dtype=float)
        return self.predict_matrix(self.encoder.transform(rows))

    def predict_matrix(self, matrix: np.ndarray) -> np.ndarray:
        if self.algorithm == Algorithm.XGBOOST:
            return np.asarray(self.model.inplace_predict(matrix), dtype=float)
        if self.algorithm == Algorithm.FOREST:
            return self._forest().predict(matrix)
        return self.model.predict_proba(matrix)[:, self._positive_column()]

    def risk_band(self, probability: float) -> str:
        """high at or above the version's threshold (the review budget), medium at or above half of it, else low."""
        if probability >= self.threshold:
            return RiskBand.HIGH
        if probability >= self.threshold / 2:
            return RiskBand.MEDIUM
        return RiskBand.LOW

    # --- explanations ---

    def explain(self, row: dict, top: int = 5) -> list[dict[str, Any]]:
        """The `top` features that moved this claim's score most, largest first: [{feature, value, contribution,
        direction, reason}]. Contributions are log-odds for xgboost (its SHAP values) and logistic regression
        (coefficient x standardised value), probability for the random forest (Saabas path decomposition); the
        columns of one feature (its categories, its missing indicator) are added up under the feature's name."""
        matrix = self.encoder.transform([row])
        per_column = self.contributions(matrix)[0]
        per_feature: dict[str, float] = defaultdict(float)
        for (feature, _label), value in zip(self.encoder.columns, per_column, strict=True):
            per_feature[feature] += float(value)
        ranked = sorted(
            ((name, value) for name, value in per_feature.items() if abs(value) > 1e-9),
            key=lambda item: (-abs(item[1]), item[0]),
        )
        return [
            {
                "feature": name,
                "value": _plain(row.get(name)),
                "contribution": round(value, 6),
                "direction": "raises" if value > 0 else "lowers",
                "reason": features.describe(name, row.get(name)),
            }
            for name, value in ranked[:top]
        ]

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """Per row and column, what each column added to the score relative to the model's baseline."""
        if self.algorithm == Algorithm.XGBOOST:
            import xgboost

            values = self.model.predict(xgboost.DMatrix(matrix, nthread=1), pred_contribs=True)
            return np.asarray(values)[:, :-1]  # the last column is the bias
        if self.algorithm == Algorithm.LOGISTIC:
            scaler, estimator = self.model.named_steps["scale"], self.model.named_steps["model"]
            sign = 1.0 if estimator.classes_[1] == 1 else -1.0
            return scaler.transform(matrix) * estimator.coef_[0] * sign
        return self._saabas(matrix)

    def _saabas(self, matrix: np.ndarray) -> np.ndarray:
        """Saabas: follow each tree's decision path; each step's change in P(fraud) goes to the feature the step
        split on. Walked upwards from the leaves, every tree and row at once; averaged over the trees."""
        forest = self._forest()
        nodes = forest.leaves(matrix).ravel()
        rows = np.repeat(np.arange(len(matrix)), forest.trees)
        found = np.zeros(matrix.shape, dtype=float)
        while nodes.size:
            parents = forest.parent[nodes]
            keep = parents >= 0
            nodes, parents, rows = nodes[keep], parents[keep], rows[keep]
            np.add.at(found, (rows, forest.feature[parents]), forest.probability[nodes] - forest.probability[parents])
            nodes = parents
        return found / forest.trees

    def _forest(self) -> _FlatForest:
        if self._forest_arrays is None:
            forest = self.model.steps[-1][1] if hasattr(self.model, "steps") else self.model
            self._forest_arrays = _FlatForest(forest, positive=self._positive_column())
        return self._forest_arrays

    def _positive_column(self) -> int:
        classes = list(self.model.classes_)
        return classes.index(1)


class _FlatForest:
    """A fitted random forest as flat arrays over all its trees' nodes, walked for every tree and row at once.

    scikit-learn's own `predict_proba` and `apply` visit the trees one by one (a Python call per tree, 300 of them
    for one claim: tens of milliseconds); walking the flat arrays takes a few vectorised steps per tree level and
    gives the same probabilities (the mean of the leaves' P(fraud)) and the same leaves.
    """

    def __init__(self, forest, *, positive: int):
        trees = [estimator.tree_ for estimator in forest.estimators_]
        self.trees = len(trees)
        offsets = np.cumsum([0] + [tree.node_count for tree in trees])
        self.roots = offsets[:-1]
        size = offsets[-1]
        self.parent = np.full(size, -1, dtype=np.int64)
        self.left = np.full(size, -1, dtype=np.int64)
        self.right = np.full(size, -1, dtype=np.int64)
        self.feature = np.zeros(size, dtype=np.int64)
        self.threshold = np.zeros(size, dtype=float)
        self.probability = np.empty(size, dtype=float)
        for start, tree in zip(self.roots, trees, strict=True):
            nodes = slice(start, start + tree.node_count)
            for children, target in ((tree.children_left, self.left), (tree.children_right, self.right)):
                inner = children >= 0
                target[start + np.flatnonzero(inner)] = start + children[inner]
                self.parent[start + children[inner]] = start + np.flatnonzero(inner)
            self.feature[nodes] = np.maximum(tree.feature, 0)  # leaves say -2; never read for a leaf
            self.threshold[nodes] = tree.threshold
            values = tree.value[:, 0, :]
            self.probability[nodes] = values[:, positive] / values.sum(axis=1)

    def leaves(self, matrix: np.ndarray) -> np.ndarray:
        """The leaf each row reaches in each tree, (rows, trees), as flat node indices."""
        # The trees compare float32 inputs (as scikit-learn casts them) with float64 thresholds.
        sample = np.asarray(matrix, dtype=np.float32).astype(float)
        nodes = np.broadcast_to(self.roots, (len(sample), self.trees)).copy()
        rows = np.arange(len(sample))[:, None]
        while True:
            inner = self.left[nodes] >= 0
            if not inner.any():
                return nodes
            goes_left = sample[rows, self.feature[nodes]] <= self.threshold[nodes]
            nodes = np.where(inner, np.where(goes_left, self.left[nodes], self.right[nodes]), nodes)

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        return self.probability[self.leaves(matrix)].mean(axis=1)


def _plain(value):
    """A JSON-friendly copy of a feature value."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def production_model() -> LoadedModel | None:
    """The production model, loaded (once per process), or None when scores are rule-based."""
    version = ModelVersion.objects.filter(stage=ModelStage.PRODUCTION).defer(*HEAVY_FIELDS).first()
    return load_model(version) if version is not None else None


# --- champion / challenger ------------------------------------------------------------------------------------------


def _features_and_labels(claim_ids: Sequence[int]) -> tuple[list[int], list[dict], np.ndarray]:
    """Features (computed now) and current labels of those claims that are still labelled, in id order."""
    ids, rows, labels = [], [], []
    ordered = sorted({int(pk) for pk in claim_ids})
    for start in range(0, len(ordered), CHUNK):
        chunk = Claim.objects.filter(pk__in=ordered[start : start + CHUNK]).exclude(
            investigation_outcome=InvestigationOutcome.UNKNOWN
        )
        outcome = dict(chunk.values_list("pk", "investigation_outcome"))
        for inputs in features.gather_many(chunk, chunk_size=CHUNK):
            ids.append(inputs.claim_id)
            rows.append(features.features(inputs))
            labels.append(features.label(outcome[inputs.claim_id]))
    return ids, rows, np.asarray(labels, dtype=int)


def compare(*, champion: ModelVersion, candidate: ModelVersion) -> dict[str, Any]:
    """Both models on the candidate's holdout claims (features recomputed now): PR-AUC and ROC-AUC of each."""
    _, rows, labels = _features_and_labels((candidate.holdout or {}).get("claim_ids", []))
    result: dict[str, Any] = {"claims": len(rows), "positives": int(labels.sum()) if len(rows) else 0}
    for role, version in (("champion", champion), ("candidate", candidate)):
        scores = load_model(version).predict_proba(rows)
        figures = (
            evaluation.evaluate(labels, scores, threshold=version.threshold, budget=version.review_budget)
            if len(rows)
            else {}
        )
        result[role] = {
            "version": version.version,
            "algorithm": version.algorithm,
            "pr_auc": figures.get("pr_auc"),
            "roc_auc": figures.get("roc_auc"),
        }
    return result


def promote(*, actor, version: ModelVersion, force: bool = False, reason: str = "") -> ModelVersion:
    """Make `version` the production model if it scores at least as well as the current one (see the module).

    `force` promotes without the comparison: for the first model, or an admin's explicit override (`reason` then
    says why; both are kept on the history row).
    """
    candidate = ModelVersion.objects.defer(*ARTIFACT_FIELDS).get(pk=version.pk)
    if candidate.stage == ModelStage.PRODUCTION:
        raise ConflictError(f"v{candidate.version} is already in production.", code="already_production")
    if candidate.feature_schema_version != features.SCHEMA_VERSION:
        raise ConflictError(
            f"v{candidate.version} was trained on feature schema {candidate.feature_schema_version}, the code computes "
            f"schema {features.SCHEMA_VERSION}: it would misread the claims. Train a new model.",
            code="schema_mismatch",
        )
    load_model(candidate)  # never promote what could not be loaded (tampered, unreadable)
    champion = ModelVersion.objects.filter(stage=ModelStage.PRODUCTION).defer(*ARTIFACT_FIELDS).first()
    if champion is None:
        if not force:
            raise ServiceError(
                f"No model is in production, so there is no champion to compare v{candidate.version} with: promote "
                "the first model with force.",
                code="no_champion",
            )
        note = "forced: first production model, no champion to compare with"
    else:
        figures = compare(champion=champion, candidate=candidate)
        mine, theirs = figures["candidate"]["pr_auc"], figures["champion"]["pr_auc"]
        on = f"on v{candidate.version}'s holdout ({figures['claims']} claims, {figures['positives']} fraud)"
        if mine is None or theirs is None:
            if not force:
                raise ServiceError(
                    f"Cannot compare v{candidate.version} with production v{champion.version} {on}: it no longer "
                    "holds both fraud and legitimate claims. Promote with force to override.",
                    code="not_comparable",
                )
            note = f"forced over v{champion.version}: not comparable on the holdout"
        elif mine < theirs and not force:
            raise ServiceError(
                f"v{candidate.version} ({candidate.algorithm}) is worse than production v{champion.version} "
                f"({champion.algorithm}) {on}: PR-AUC {mine:.4f} against {theirs:.4f}. Not promoted.",
                code="worse_than_production",
            )
        else:
            note = ("forced " if mine < theirs else "") + (
                f"over v{champion.version}: PR-AUC {mine:.4f} vs {theirs:.4f} ({figures['claims']} holdout claims)"
            )
    if reason.strip():
        note += f"; {reason.strip()}"
    return _swap(actor=actor, candidate=candidate, expected_champion=champion, note=note)


def _swap(*, actor, candidate: ModelVersion, expected_champion: ModelVersion | None, note: str) -> ModelVersion:
    try:
        with transaction.atomic(), acting_as(actor):
            locked = list(
                ModelVersion.objects.select_for_update()
                .filter(Q(pk=candidate.pk) | Q(stage=ModelStage.PRODUCTION))
                .defer(*HEAVY_FIELDS)
                .order_by("pk")
            )
            target = next(row for row in locked if row.pk == candidate.pk)
            current = [row for row in locked if row.stage == ModelStage.PRODUCTION and row.pk != candidate.pk]
            expected = expected_champion.pk if expected_champion is not None else None
            if target.stage == ModelStage.PRODUCTION or [row.pk for row in current] != ([expected] if expected else []):
                raise ConflictError("The production model changed while the candidate was being compared; try again.")
            for row in current:
                row.stage = ModelStage.ARCHIVED
                row._change_reason = f"replaced in production by v{target.version}"
                row.save(update_fields=["stage", "updated_at"])
            target.stage = ModelStage.PRODUCTION
            target.promoted_at = timezone.now()
            target.promoted_by = actor
            target._change_reason = _history_reason(note)
            target.save(update_fields=["stage", "promoted_at", "promoted_by", "updated_at"])
    except IntegrityError as error:
        raise ConflictError("Another model went into production at the same moment; try again.") from error
    logger.info("fraud model v%s promoted to production by %s: %s", target.version, actor, note)
    return target


def _history_reason(text: str) -> str:
    """simple-history keeps 100 characters of a change reason."""
    return text if len(text) <= 100 else text[:99] + "\N{HORIZONTAL ELLIPSIS}"


def rollback(*, actor, reason: str = "") -> ModelVersion:
    """Put back the model the current production model replaced; the current one is archived. `reason` (why) is
    kept on both history rows."""
    why = f"; reason: {reason.strip()}" if reason.strip() else ""
    with transaction.atomic(), acting_as(actor):
        current = ModelVersion.objects.select_for_update().filter(stage=ModelStage.PRODUCTION).defer(*HEAVY_FIELDS)
        current = current.first()
        previous = (
            ModelVersion.objects.select_for_update()
            .filter(stage=ModelStage.ARCHIVED, promoted_at__isnull=False)
            .defer(*HEAVY_FIELDS)
            .order_by("-promoted_at", "-version")
            .first()
        )
        if previous is None:
            raise ConflictError("No earlier production model to roll back to.", code="nothing_to_roll_back")
        load_model(previous)  # restore only what still loads
        if current is not None:
            current.stage = ModelStage.ARCHIVED
            current._change_reason = _history_reason(f"rolled back: v{previous.version} restored to production{why}")
            current.save(update_fields=["stage", "updated_at"])
        previous.stage = ModelStage.PRODUCTION
        previous.promoted_at = timezone.now()
        previous.promoted_by = actor
        previous._change_reason = _history_reason(
            (f"restored by rollback from v{current.version}" if current is not None else "restored by rollback") + why
        )
        previous.save(update_fields=["stage", "promoted_at", "promoted_by", "updated_at"])
    logger.info("fraud model rollback to v%s by %s", previous.version, actor)
    return previous


# --- replay -------------------------------------------------------------------------------------------------------


def replay(*, version: ModelVersion, days: int = 30) -> dict[str, Any]:
    """What `version` would change on the claims reported in the last `days` days: referrals (score at or above each
    model's threshold) under production and under the candidate, and the claims that flip either way."""
    if days < 1:
        raise ServiceError(f"days: at least 1, not {days}")
    since = timezone.now() - timedelta(days=days)
    production = production_model()
    candidate = load_model(version)
    ids: list[int] = []
    current_scores: list[float] = []
    candidate_scores: list[float] = []
    batch_ids: list[int] = []
    batch: list[dict] = []

    def flush() -> None:
        if not batch:
            return
        candidate_scores.extend(candidate.predict_proba(batch).tolist())
        if production is not None:
            current_scores.extend(production.predict_proba(batch).tolist())
        ids.extend(batch_ids)
        batch.clear()
        batch_ids.clear()

    for inputs in features.gather_many(Claim.objects.filter(reported_at__gte=since), chunk_size=CHUNK):
        batch_ids.append(inputs.claim_id)
        batch.append(features.features(inputs))
        if len(batch) >= CHUNK:
            flush()
    flush()

    new = np.asarray(candidate_scores, dtype=float) >= candidate.threshold
    result: dict[str, Any] = {
        "days": days,
        "since": since.isoformat(),
        "claims": len(ids),
        "candidate": {"version": version.version, "threshold": candidate.threshold, "referred": int(new.sum())},
        "production": None,
    }
    if production is None:
        old = np.zeros(len(ids), dtype=bool)
    else:
        old = np.asarray(current_scores, dtype=float) >= production.threshold
        result["production"] = {
            "version": production.version.version,
            "threshold": production.threshold,
            "referred": int(old.sum()),
        }
    change = int(new.sum()) - int(old.sum())
    numbers = dict(
        Claim.objects.filter(pk__in=[ids[i] for i in np.flatnonzero(new != old)]).values_list("pk", "number")
    )

    def flips(mask: np.ndarray) -> list[dict]:
        found = [
            {
                "claim_id": ids[i],
                "number": numbers.get(ids[i], ""),
                "production": round(current_scores[i], 4) if production is not None else None,
                "candidate": round(candidate_scores[i], 4),
            }
            for i in np.flatnonzero(mask)
        ]
        return sorted(found, key=lambda row: -row["candidate"])

    result.update(
        change=change,
        more=max(change, 0),
        fewer=max(-change, 0),
        newly_referred=flips(new & ~old),
        no_longer_referred=flips(old & ~new),
    )
    return result
