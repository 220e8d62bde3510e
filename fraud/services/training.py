"""Training: fit fraud models on the claims whose investigation concluded, evaluate them honestly, register them.

`train()` is the one function the `train_fraud_model` command and the weekly task both call. It skips the work
when a model was already trained on exactly these labels (the `training_fingerprint`), schema and settings.

How a run keeps its figures honest:
- time split: the newest `holdout_fraction` of labelled claims (by `reported_at`) is the holdout, never seen in
  fitting, in choosing the threshold or in fitting the encoder; the model is judged on it as it would be on
  tomorrow's claims;
- the encoder is the first step of each scikit-learn pipeline, so cross-validation refits it on each training fold;
- cross-validation runs on the training part, or on a stratified sample of CV_MAX_ROWS of it on a large book;
- the referral threshold is set on the training part's out-of-fold scores for the review budget (the share of
  claims the fraud team can review), then applied unchanged to the holdout;
- imbalance: xgboost weighs the rare class by `scale_pos_weight` (negatives / positives of the data it is fitted
  on), scikit-learn models by `class_weight="balanced"`. Probabilities are therefore not calibrated to the base rate
  (the calibration figures say by how much); referrals use the budget threshold, which does not need them to be.

Every model is stored as a new staging `ModelVersion` with its artifact (xgboost's own JSON, or a pickle for
scikit-learn, both with their sha256), the encoder as JSON, metrics, the training distributions for drift
monitoring, the holdout, and a plot. Promotion is `fraud.services.registry.promote`.
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet

from claims.choices import InvestigationOutcome
from claims.models import Claim
from insurance.core.audit import acting_as
from insurance.core.exceptions import ServiceError

from .. import evaluation, features
from ..choices import Algorithm, ArtifactFormat, ModelStage
from ..encoding import FeatureEncoder, FeatureTable, numbers_of
from ..models import ModelVersion
from ..selectors import MODEL_VERSION_DEFERRED
from . import monitoring, registry

DEFAULT_ALGORITHMS = (Algorithm.XGBOOST.value, Algorithm.LOGISTIC.value, Algorithm.FOREST.value)
DEFAULT_REVIEW_BUDGET = 0.10
MIN_LABELLED = 100  # fewer labelled claims than this cannot be split, cross-validated and held out meaningfully
MIN_PER_CLASS = 10  # each class needs this many claims in the training part (and one in the holdout)
PARALLEL_FROM = 20_000  # training rows from which xgboost and the forest use several threads
FOREST_MAX_SAMPLES = 50_000  # each tree's bootstrap sample at most this many rows: time and artifact size
# Cross-validation on a large book runs on a stratified sample of this many training claims: five folds of 100,000
# estimate the spread of the figures and give the out-of-fold scores the threshold is set on as well as five folds of
# the whole book would, in a fraction of the time. The model itself is fitted on the whole training part.
CV_MAX_ROWS = 100_000
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "encoder": {"min_category_count": 10, "max_categories": 50},
    Algorithm.XGBOOST: {
        "n_estimators": 300,
        "max_depth": 2,
        "learning_rate": 0.05,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "min_child_weight": 1.0,
        "reg_lambda": 1.0,
        "tree_method": "hist",
    },
    Algorithm.LOGISTIC: {"C": 0.1, "max_iter": 5000},
    Algorithm.FOREST: {"n_estimators": 300, "max_features": "sqrt", "min_samples_leaf": 3},
}

Progress = Callable[[str], None]


@dataclass
class TrainingData:
    """The labelled claims of a run, in time order, with their features (by column) and demographics."""

    claim_ids: np.ndarray
    reported_at: list[datetime]
    labels: np.ndarray
    table: FeatureTable
    demographics: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.labels)

    def part(self, index: np.ndarray) -> TrainingData:
        return TrainingData(
            claim_ids=self.claim_ids[index],
            reported_at=[self.reported_at[i] for i in index],
            labels=self.labels[index],
            table=self.table[index],
            demographics={name: values[index] for name, values in self.demographics.items()},
        )


@dataclass
class TrainingResult:
    """What a run did: the versions it registered (or, when skipped, those already trained on these labels)."""

    versions: list[ModelVersion]
    best: ModelVersion | None
    skipped: bool
    fingerprint: str
    training_rows: int = 0
    holdout_rows: int = 0
    cutoff: datetime | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    message: str = ""


# --- what the models learn from ---------------------------------------------------------------------------------


def labelled_claims() -> QuerySet[Claim]:
    """Claims whose investigation concluded: confirmed fraud (1) or legitimate (0)."""
    return Claim.objects.exclude(investigation_outcome=InvestigationOutcome.UNKNOWN)


def training_fingerprint(claims: QuerySet[Claim]) -> str:
    """sha256 over the sorted (claim id, label, claim updated_at) of `claims`: it changes when a label changes,
    a claim is added or leaves, or a claim (and so, possibly, its features) changes."""
    digest = hashlib.sha256()
    rows = claims.order_by("pk").values_list("pk", "investigation_outcome", "updated_at")
    for pk, outcome, updated_at in rows.iterator(chunk_size=10_000):
        digest.update(f"{pk}\t{features.label(outcome)}\t{updated_at.isoformat()}\n".encode())
    return digest.hexdigest()


def load_training_data(claims: QuerySet[Claim], *, chunk_size: int = 5000) -> TrainingData:
    """Features, labels and demographics of `claims` (labelled ones), sorted by (reported_at, id)."""
    labels = {pk: features.label(outcome) for pk, outcome in claims.values_list("pk", "investigation_outcome")}
    ids, reported, ys = [], [], []
    demographics: dict[str, list] = {name: [] for name in evaluation.FAIRNESS_ATTRIBUTES}

    def rows() -> Iterable[dict]:
        for inputs in features.gather_many(claims, chunk_size=chunk_size):
            value = labels.get(inputs.claim_id)
            if value is None:
                continue
            ids.append(inputs.claim_id)
            reported.append(inputs.reported_at)
            ys.append(value)
            for name in demographics:
                demographics[name].append(inputs.demographics.get(name) or "unknown")
            yield features.features(inputs)

    table = FeatureTable.from_rows(rows(), chunk_size=chunk_size)
    order = np.asarray(sorted(range(len(ids)), key=lambda i: (reported[i], ids[i])), dtype=int)
    data = TrainingData(
        claim_ids=np.asarray(ids, dtype=np.int64),
        reported_at=reported,
        labels=np.asarray(ys, dtype=int),
        table=table,
        demographics={name: np.asarray(values, dtype=object) for name, values in demographics.items()},
    )
    return data.part(order) if len(order) else data


def cv_sample(data: TrainingData, *, seed: int, limit: int | None = None) -> TrainingData:
    """`data` itself when it has at most `limit` (CV_MAX_ROWS) rows, else a stratified sample of `limit`, in time
    order."""
    limit = CV_MAX_ROWS if limit is None else limit
    if len(data) <= limit:
        return data
    from sklearn.model_selection import train_test_split

    kept, _ = train_test_split(np.arange(len(data)), train_size=limit, stratify=data.labels, random_state=seed)
    return data.part(np.sort(kept))


def time_split(data: TrainingData, holdout_fraction: float) -> tuple[TrainingData, TrainingData]:
    """(older part for training, newest `holdout_fraction` for the holdout); `data` is in time order."""
    held = max(1, math.ceil(len(data) * holdout_fraction))
    positions = np.arange(len(data))
    return data.part(positions[:-held]), data.part(positions[-held:])


# --- the pipelines ----------------------------------------------------------------------------------------------


def _jobs(rows: int) -> int:
    """Threads for xgboost and the forest: one below PARALLEL_FROM rows, where threads cost more than they save."""
    configured = int(getattr(settings, "FRAUD_TRAINING_JOBS", 0) or 0)
    if configured:
        return configured
    return 1 if rows < PARALLEL_FROM else min(4, os.cpu_count() or 1)


def model_params(algorithm: str, *, seed: int, rows: int, overrides: dict | None = None) -> dict[str, Any]:
    """The estimator's parameters: our defaults, adjusted to the data size, then `overrides`."""
    params = dict(DEFAULT_PARAMS[algorithm])
    if algorithm == Algorithm.FOREST:
        # Large books: bounded bootstrap samples and bigger leaves keep time and the pickle small.
        params["min_samples_leaf"] = max(params["min_samples_leaf"], min(rows, FOREST_MAX_SAMPLES) // 500)
        if rows > FOREST_MAX_SAMPLES:
            params["max_samples"] = FOREST_MAX_SAMPLES / rows
    if algorithm in (Algorithm.XGBOOST, Algorithm.FOREST):
        params["n_jobs"] = _jobs(rows)
    params.update(overrides or {})
    params["random_state"] = seed
    return params


def build_pipeline(algorithm: str, *, params: dict[str, Any], encoder: dict[str, Any]):
    """encoder -> (scaler ->) estimator, a scikit-learn Pipeline: cloning and refitting it per fold refits the
    encoder on that fold's training rows only."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    steps: list[tuple[str, Any]] = [("encode", FeatureEncoder(**encoder))]
    if algorithm == Algorithm.XGBOOST:
        from xgboost import XGBClassifier

        steps.append(("model", XGBClassifier(eval_metric="logloss", **params)))
    elif algorithm == Algorithm.LOGISTIC:
        steps += [("scale", StandardScaler()), ("model", LogisticRegression(class_weight="balanced", **params))]
    elif algorithm == Algorithm.FOREST:
        steps.append(("model", RandomForestClassifier(class_weight="balanced", **params)))
    else:
        raise ServiceError(f"Unknown algorithm {algorithm!r}; choose from {', '.join(DEFAULT_ALGORITHMS)}.")
    return Pipeline(steps)


def fit_pipeline(algorithm: str, template, table: FeatureTable, y: np.ndarray):
    """A fresh copy of `template` fitted on these rows (xgboost weighs the positives by this data's imbalance)."""
    from sklearn.base import clone

    pipeline = clone(template)
    if algorithm == Algorithm.XGBOOST:
        positives = int(y.sum())
        pipeline.set_params(model__scale_pos_weight=(len(y) - positives) / max(positives, 1))
    return pipeline.fit(table, y)


def out_of_fold(
    algorithm: str, template, table: FeatureTable, y: np.ndarray, *, folds: int, seed: int
) -> tuple[np.ndarray, list[dict]]:
    """Stratified k-fold scores of every training row by a model that did not see it, and each fold's figures."""
    from sklearn.model_selection import StratifiedKFold

    scores = np.zeros(len(y), dtype=float)
    per_fold = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for number, (fit_rows, test_rows) in enumerate(splitter.split(np.zeros(len(y)), y), start=1):
        pipeline = fit_pipeline(algorithm, template, table[fit_rows], y[fit_rows])
        scores[test_rows] = pipeline.predict_proba(table[test_rows])[:, 1]
        figures = evaluation.evaluate(y[test_rows], scores[test_rows], threshold=1.0, budget=0.1)
        per_fold.append({"fold": number, "roc_auc": figures["roc_auc"], "pr_auc": figures["pr_auc"]})
    return scores, per_fold


def serialise(algorithm: str, pipeline) -> tuple[bytes, str]:
    """The fitted model without its encoder: xgboost's own JSON, or a pickle of the scikit-learn steps."""
    if algorithm == Algorithm.XGBOOST:
        return bytes(pipeline.named_steps["model"].get_booster().save_raw("json")), ArtifactFormat.XGBOOST_JSON
    from sklearn.pipeline import Pipeline

    return pickle.dumps(Pipeline(pipeline.steps[1:]), protocol=5), ArtifactFormat.PICKLE


# --- drift reference ----------------------------------------------------------------------------------------------


def reference(encoder: FeatureEncoder, table: FeatureTable, scores: np.ndarray) -> dict[str, Any]:
    """Training distributions, in the bins monitoring compares live values with: per feature the encoder uses,
    and the out-of-fold score."""
    found = {}
    for name in encoder.source_features:
        spec = encoder.spec(name)
        values = table.column(name)
        if spec["kind"] == "numeric":
            found[name] = evaluation.reference_distribution(numbers_of(values)[0].tolist())
        else:
            found[name] = evaluation.categorical_distribution(values, spec["categories"])
    return {"features": found, "score": evaluation.reference_distribution(scores.tolist())}


# --- the run ------------------------------------------------------------------------------------------------------


def train(
    *,
    actor,
    algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
    review_budget: float | None = None,
    seed: int = 0,
    holdout_fraction: float = 0.2,
    cv_folds: int = 5,
    claims: QuerySet[Claim] | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> TrainingResult:
    """Train `algorithms` on the labelled claims (of `claims`, default all) and register each as a staging version.

    `params` overrides estimator parameters per algorithm (and "encoder" for the encoder). Skipped, returning the
    versions already trained, when those were trained on the same labels (fingerprint), feature schema and
    settings, unless `force`. Refused (ServiceError) with too few labelled claims or a class missing.
    """
    budget = float(review_budget if review_budget is not None else _default_budget())
    algorithms = _check(algorithms, budget, seed, holdout_fraction, cv_folds, params)
    report = progress or (lambda message: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    labelled = (
        labelled_claims() if claims is None else claims.exclude(investigation_outcome=InvestigationOutcome.UNKNOWN)
    )
    fingerprint = training_fingerprint(labelled)
    config = {
        "seed": seed,
        "review_budget": budget,
        "holdout_fraction": holdout_fraction,
        "cv_folds": cv_folds,
        "overrides": params or {},
        "scope": "all" if claims is None else "subset",
    }
    if not force:
        existing = _already_trained(fingerprint, algorithms, config)
        if existing is not None:
            report("nothing changed since these versions were trained: skipped")
            return TrainingResult(
                versions=existing,
                best=_best(existing),
                skipped=True,
                fingerprint=fingerprint,
                training_rows=existing[0].training_rows,
                message="labels, features schema and settings unchanged since v"
                + ", v".join(str(version.version) for version in existing),
            )

    report("gathering features of the labelled claims")
    data = load_training_data(labelled)
    timings["features"] = time.perf_counter() - started
    _check_classes(data, holdout_fraction, cv_folds)
    training, holdout = time_split(data, holdout_fraction)
    cutoff = holdout.reported_at[0]
    report(
        f"{len(training)} training claims ({int(training.labels.sum())} fraud), "
        f"{len(holdout)} holdout claims from {cutoff:%Y-%m-%d} ({int(holdout.labels.sum())} fraud)"
    )
    encoder_params = {**DEFAULT_PARAMS["encoder"], **(params or {}).get("encoder", {})}
    versions = []
    for algorithm in algorithms:
        clock = time.perf_counter()
        report(f"{algorithm}: {cv_folds}-fold cross-validation")
        estimator = model_params(algorithm, seed=seed, rows=len(training), overrides=(params or {}).get(algorithm))
        template = build_pipeline(algorithm, params=estimator, encoder=encoder_params)
        cv = cv_sample(training, seed=seed)
        oof, per_fold = out_of_fold(algorithm, template, cv.table, cv.labels, folds=cv_folds, seed=seed)
        threshold = evaluation.threshold_for_budget(oof, budget)
        report(f"{algorithm}: fitting on the training part and scoring the holdout")
        pipeline = fit_pipeline(algorithm, template, training.table, training.labels)
        scores = pipeline.predict_proba(holdout.table)[:, 1]
        encoder: FeatureEncoder = pipeline.named_steps["encode"]
        metrics = {
            "holdout": evaluation.evaluate(
                holdout.labels, scores, threshold=threshold, budget=budget, groups=holdout.demographics
            ),
            "cv": {
                "folds": cv_folds,
                "rows": len(cv),
                "per_fold": per_fold,
                **_mean_std(per_fold, "roc_auc"),
                **_mean_std(per_fold, "pr_auc"),
                "oof": evaluation.evaluate(cv.labels, oof, threshold=threshold, budget=budget, groups=cv.demographics),
            },
            "data": {
                "training_rows": len(training),
                "training_positives": int(training.labels.sum()),
                "holdout_rows": len(holdout),
                "holdout_positives": int(holdout.labels.sum()),
                "columns": len(encoder.feature_names),
                "features": len(encoder.source_features),
                "dropped_features": encoder.dropped,
            },
        }
        metrics["holdout"]["average_precision"] = metrics["holdout"]["pr_auc"]
        artifact, artifact_format = serialise(algorithm, pipeline)
        metrics["seconds"] = round(time.perf_counter() - clock, 2)
        version = _register(
            actor=actor,
            algorithm=algorithm,
            artifact=artifact,
            artifact_format=artifact_format,
            encoder=encoder,
            fingerprint=fingerprint,
            training=training,
            holdout=holdout,
            params={
                "estimator": _json_safe(estimator),
                "encoder": encoder_params,
                "training": config,
                "libraries": _libraries(),
            },
            metrics=metrics,
            threshold=threshold,
            budget=budget,
            reference_data=reference(encoder, cv.table, oof),
            curves={"holdout": (holdout.labels, scores), "cross-validation (training)": (cv.labels, oof)},
        )
        timings[algorithm] = time.perf_counter() - clock
        report(
            f"{algorithm}: v{version.version} holdout PR-AUC {metrics['holdout']['pr_auc']}, "
            f"ROC-AUC {metrics['holdout']['roc_auc']} ({timings[algorithm]:.1f} s)"
        )
        versions.append(version)
    timings["total"] = time.perf_counter() - started
    return TrainingResult(
        versions=versions,
        best=_best(versions),
        skipped=False,
        fingerprint=fingerprint,
        training_rows=len(training),
        holdout_rows=len(holdout),
        cutoff=cutoff,
        seconds={name: round(value, 2) for name, value in timings.items()},
        message=f"trained {', '.join(f'v{version.version} ({version.algorithm})' for version in versions)}",
    )


def retrain_on_new_labels(*, actor) -> str:
    """The weekly retraining: train candidates on the current labels and promote the best, unless the labels are
    those production was trained on. Returns what happened, in words (the task's result).

    `registry.promote` compares the candidate with production on the candidate's holdout and refuses a worse one;
    the candidate then stays in staging for a person to look at. With no model in production, the first one is
    never promoted automatically (`promote` asks for force): that is a person's decision.
    """
    production = monitoring.production_version()
    if production is not None and not monitoring.labels_changed_since(production):
        return "skipped: no new labels"
    try:
        result = train(actor=actor)
    except ServiceError as error:
        return f"not trained: {error.message}"
    if result.skipped:
        # Already trained on these very labels (a promotion refused last week, or a second delivery): no retry.
        return f"skipped: {result.message}"
    candidate = result.best
    try:
        registry.promote(actor=actor, version=candidate)
    except ServiceError as error:
        return f"{result.message}; v{candidate.version} left in staging: {error.message}"
    return f"{result.message}; promoted v{candidate.version} ({candidate.algorithm})"


def _default_budget() -> float:
    return float(getattr(settings, "FRAUD_REVIEW_BUDGET", DEFAULT_REVIEW_BUDGET))


def _check(algorithms, budget, seed, holdout_fraction, cv_folds, params) -> list[str]:
    if isinstance(algorithms, str):
        algorithms = algorithms.split(",")
    chosen = list(dict.fromkeys(str(name).strip().lower() for name in algorithms if str(name).strip()))
    unknown = [name for name in chosen if name not in DEFAULT_ALGORITHMS]
    if not chosen or unknown:
        raise ServiceError(
            f"algorithms: {', '.join(unknown) or 'none given'} not known; choose from {', '.join(DEFAULT_ALGORITHMS)}",
            fields={"algorithms": [f"choose from {', '.join(DEFAULT_ALGORITHMS)}"]},
        )
    if not 0 < budget < 1:
        raise ServiceError(f"review budget: a share of claims above 0 and below 1 (0.10 is 10 %), not {budget}")
    if seed < 0:
        raise ServiceError(f"seed: 0 or more, not {seed}")
    if not 0 < holdout_fraction <= 0.5:
        raise ServiceError(f"holdout fraction: above 0 and at most 0.5, not {holdout_fraction}")
    if cv_folds < 2:
        raise ServiceError(f"cross-validation folds: at least 2, not {cv_folds}")
    unknown_params = set(params or {}) - {*DEFAULT_ALGORITHMS, "encoder"}
    if unknown_params:
        raise ServiceError(f"params: {', '.join(sorted(unknown_params))} is not an algorithm or 'encoder'")
    return chosen


def _check_classes(data: TrainingData, holdout_fraction: float, cv_folds: int) -> None:
    total = len(data)
    fraud = int(data.labels.sum())
    if total < MIN_LABELLED:
        raise ServiceError(
            f"Only {total} labelled claims (investigation concluded); training needs at least {MIN_LABELLED}.",
            code="too_few_labels",
        )
    if fraud in (0, total):
        only = "confirmed fraud" if fraud else "legitimate"
        raise ServiceError(
            f"All {total} labelled claims are {only}: a model needs both fraud and legitimate examples.",
            code="one_class",
        )
    training, holdout = time_split(data, holdout_fraction)
    needed = max(MIN_PER_CLASS, cv_folds)
    train_fraud = int(training.labels.sum())
    if min(train_fraud, len(training) - train_fraud) < needed:
        raise ServiceError(
            f"The training part has {train_fraud} confirmed fraud and {len(training) - train_fraud} legitimate "
            f"claims; each class needs at least {needed}.",
            code="too_few_labels",
        )
    held_fraud = int(holdout.labels.sum())
    if held_fraud in (0, len(holdout)):
        raise ServiceError(
            f"The holdout (the newest {len(holdout)} labelled claims) holds "
            + ("no confirmed fraud" if not held_fraud else "no legitimate claim")
            + ": it cannot measure a model. Wait for more concluded investigations or change the holdout fraction.",
            code="one_class",
        )


def _already_trained(fingerprint: str, algorithms: list[str], config: dict) -> list[ModelVersion] | None:
    candidates = ModelVersion.objects.filter(
        training_fingerprint=fingerprint, feature_schema_version=features.SCHEMA_VERSION, algorithm__in=algorithms
    ).defer(*MODEL_VERSION_DEFERRED)
    found: dict[str, ModelVersion] = {}
    for version in candidates.order_by("-version"):
        if (version.params or {}).get("training") == config and version.algorithm not in found:
            found[version.algorithm] = version
    if set(found) != set(algorithms):
        return None
    return [found[algorithm] for algorithm in algorithms]


def _best(versions: list[ModelVersion]) -> ModelVersion | None:
    """The version with the highest holdout PR-AUC (the primary figure), ROC-AUC breaking ties."""
    if not versions:
        return None

    def key(version: ModelVersion) -> tuple[float, float]:
        holdout = (version.metrics or {}).get("holdout", {})
        return (holdout.get("pr_auc") or 0.0, holdout.get("roc_auc") or 0.0)

    return max(versions, key=key)


def _mean_std(per_fold: list[dict], name: str) -> dict[str, float | None]:
    values = [row[name] for row in per_fold if row[name] is not None]
    if not values:
        return {f"{name}_mean": None, f"{name}_std": None}
    return {f"{name}_mean": round(float(np.mean(values)), 4), f"{name}_std": round(float(np.std(values)), 4)}


def _json_safe(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if isinstance(value, str | int | float | bool | type(None))}


def _libraries() -> dict[str, str]:
    import sklearn
    import xgboost

    return {"scikit-learn": sklearn.__version__, "xgboost": xgboost.__version__, "numpy": np.__version__}


def _register(
    *,
    actor,
    algorithm: str,
    artifact: bytes,
    artifact_format: str,
    encoder: FeatureEncoder,
    fingerprint: str,
    training: TrainingData,
    holdout: TrainingData,
    params: dict,
    metrics: dict,
    threshold: float,
    budget: float,
    reference_data: dict,
    curves: dict,
) -> ModelVersion:
    """A new staging version numbered max + 1 (retried if another run took the number meanwhile)."""
    digest = hashlib.sha256(artifact).hexdigest()
    for attempt in range(5):
        number = (ModelVersion.objects.aggregate(top=Max("version"))["top"] or 0) + 1
        cutoff = holdout.reported_at[0]
        plot = evaluation.plot_png(curves, title=f"Fraud model v{number} ({algorithm}), holdout from {cutoff:%Y-%m-%d}")
        version = ModelVersion(
            version=number,
            algorithm=algorithm,
            stage=ModelStage.STAGING,
            artifact=artifact,
            artifact_format=artifact_format,
            artifact_sha256=digest,
            preprocessing=encoder.to_json(),
            feature_schema_version=features.SCHEMA_VERSION,
            training_fingerprint=fingerprint,
            training_rows=len(training),
            params=params,
            metrics=metrics,
            threshold=threshold,
            review_budget=budget,
            reference=reference_data,
            holdout={
                "cutoff": cutoff.isoformat(),
                "claim_ids": [int(pk) for pk in holdout.claim_ids],
                "positives": int(holdout.labels.sum()),
            },
            plot=plot,
            trained_by=actor,
        )
        version._change_reason = f"trained on {len(training)} labelled claims (fingerprint {fingerprint[:12]})"
        try:
            with transaction.atomic(), acting_as(actor):
                version.save()
        except IntegrityError:
            if attempt == 4 or ModelVersion.objects.filter(version=number).count() == 0:
                raise
            continue
        return version
    raise AssertionError("unreachable")
