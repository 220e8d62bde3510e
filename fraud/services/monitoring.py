"""Monitoring: is the production model still seeing the claims it was trained on, and is it still right?

Drift is the population stability index (PSI) of each feature and of the score, live scores of a window against
the distributions recorded at training (`ModelVersion.reference`), binned with the very same edges and categories:

    PSI = sum over bins of (actual - expected) * ln(actual / expected)

An empty bin would make the logarithm infinite, so both shares are floored at `EPSILON`. The usual reading, ours:

    PSI < 0.10          ok     the population is stable
    0.10 <= PSI <= 0.25 warn   it is moving: look at the drifting features
    PSI > 0.25          alert  it has moved: retrain, or find out what changed upstream

A snapshot's status is the reading of the score's PSI, raised to warn when any feature is past the alert line: only
a moved score changes decisions (and only an alert fails the health check), while one of some fifty features
drifting, which happens by itself as the book ages (prior claims, an agent's record), is a reason to look, not to
page. Features the window's scores do not carry, or that had no value at all at training, get no PSI. With fewer
than `MIN_SCORES` scores in the window the PSIs are still computed and stored, but they are mostly noise, so the
status stays ok.

Realised performance is measured on the scored claims whose investigation concluded (confirmed fraud or
legitimate), with the latest score of each claim in the window: a claim is flagged when its risk band is high or its
probability reaches the version's threshold; precision is confirmed fraud among flagged, recall is flagged among
confirmed fraud. The counts are kept with the ratios, because a precision of 1.0 on three claims says little.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import numpy as np
from django.db import transaction
from django.utils import timezone

from claims.choices import InvestigationOutcome
from insurance.core.audit import acting_as
from insurance.core.exceptions import ServiceError
from insurance.core.iterables import batched

from ..choices import ModelStage, MonitoringStatus, RiskBand
from ..encoding import category, is_missing, numbers_of
from ..models import FraudScore, ModelVersion, MonitoringSnapshot
from ..selectors import ARTIFACT_FIELDS, RELATED_MODEL_VERSION_DEFERRED

EPSILON = 1e-4
WARN_PSI = 0.10
ALERT_PSI = 0.25
MIN_SCORES = 100
OTHER = "__other__"
CHUNK_SIZE = 5000


def psi(expected: Sequence[float], actual: Sequence[float]) -> float:
    """Population stability index of `actual` against `expected`, two lists of shares over the same bins."""
    if len(expected) != len(actual):
        raise ValueError(f"psi: {len(expected)} expected bins but {len(actual)} actual bins")
    total = 0.0
    for expected_share, actual_share in zip(expected, actual, strict=True):
        e, a = max(float(expected_share), EPSILON), max(float(actual_share), EPSILON)
        total += (a - e) * math.log(a / e)
    return total


def expected(reference_entry: dict) -> list[float]:
    """The training shares of a reference entry, in the bin order `distribution` uses."""
    if reference_entry["kind"] == "categorical":
        return list(_categories(reference_entry).values())
    return [float(p) for p in reference_entry["proportions"]]


def distribution(values: Iterable, reference_entry: dict) -> list[float]:
    """The shares of `values` in the bins of `reference_entry` (edges for numeric, categories for categorical).

    The layout is `fraud.evaluation.reference_distribution`'s: a value equal to an inner edge opens the next bin;
    values below the first edge fall in the first bin and above the last edge in the last. Missing values (None,
    NaN, and for categories the empty text) are left out, as they were at training. Categorical values that
    training did not see fall in `__other__`. No values at all give zero shares.
    """
    counts = _counts(list(values), reference_entry)
    total = counts.sum()
    return (counts / total).tolist() if total else [0.0] * len(counts)


def _categories(reference_entry: dict) -> dict[str, float]:
    proportions = {str(key): float(value) for key, value in reference_entry["proportions"].items()}
    proportions.setdefault(OTHER, 0.0)
    return proportions


def _counts(values: list, reference_entry: dict) -> np.ndarray:
    if reference_entry["kind"] == "categorical":
        categories = _categories(reference_entry)
        position = {name: index for index, name in enumerate(categories)}
        other = position[OTHER]
        counts = np.zeros(len(categories), dtype=np.int64)
        for value in values:
            if is_missing(value):
                continue
            counts[position.get(category(value), other)] += 1
        return counts
    edges = np.asarray(reference_entry["edges"], dtype=float)
    bins = len(reference_entry["proportions"])
    numbers, _ = numbers_of(values)
    numbers = numbers[~np.isnan(numbers)]
    # Interior edges only: a value equal to an edge opens the next bin, as numpy.histogram counts it.
    index = np.searchsorted(edges[1:-1], numbers, side="right")
    return np.bincount(index, minlength=bins)[:bins]


def status_of(value: float | None) -> str:
    if value is None or value < WARN_PSI:
        return MonitoringStatus.OK
    return MonitoringStatus.WARN if value <= ALERT_PSI else MonitoringStatus.ALERT


def overall_status(score_psi: float | None, feature_psi: dict[str, float]) -> str:
    """The score's reading, raised to warn by a feature past the alert line (see the module docstring)."""
    status = status_of(score_psi)
    if status == MonitoringStatus.OK and any(value > ALERT_PSI for value in feature_psi.values()):
        return MonitoringStatus.WARN
    return status


def production_version() -> ModelVersion | None:
    # Without the artifact and plot bytes: the health check asks on every call, and nothing here scores.
    return ModelVersion.objects.filter(stage=ModelStage.PRODUCTION).defer(*ARTIFACT_FIELDS).first()


def snapshot(
    *, actor, model_version: ModelVersion | None = None, window_days: int = 30, now: datetime | None = None
) -> MonitoringSnapshot:
    """Drift and realised performance of `model_version` (default: production) over the last `window_days` days."""
    version = model_version or production_version()
    if version is None:
        raise ServiceError("No production fraud model: scores are rule-based, there is nothing to monitor.")
    if window_days < 1:
        raise ServiceError(f"window_days must be 1 or more, not {window_days}")
    window_end = now or timezone.now()
    window_start = window_end - timedelta(days=window_days)
    scores = FraudScore.objects.filter(
        model_key=version.score_key, created_at__gte=window_start, created_at__lt=window_end
    )
    reference = version.reference or {}
    feature_references = reference.get("features", {})
    score_reference = reference.get("score")

    feature_counts: dict[str, np.ndarray] = {}
    score_counts = np.zeros(len(score_reference["proportions"]), dtype=np.int64) if score_reference else None
    scored = 0
    rows = scores.order_by().values_list("features", "probability")
    for chunk in batched(rows.iterator(chunk_size=CHUNK_SIZE), CHUNK_SIZE):
        scored += len(chunk)
        for name, entry in feature_references.items():
            present = [features[name] for features, _ in chunk if name in (features or {})]
            if present:
                counts = _counts(present, entry)
                feature_counts[name] = feature_counts[name] + counts if name in feature_counts else counts
        if score_reference is not None:
            score_counts += _counts([probability for _, probability in chunk], score_reference)

    # A feature training never saw a value of has no distribution to drift from (and taught the model nothing).
    feature_psi = {
        name: round(psi(expected(feature_references[name]), (counts / counts.sum()).tolist()), 6)
        for name, counts in feature_counts.items()
        if counts.sum() and sum(expected(feature_references[name])) > 0
    }
    score_psi = None
    if score_reference is not None and score_counts.sum():
        score_psi = round(psi(expected(score_reference), (score_counts / score_counts.sum()).tolist()), 6)

    status = overall_status(score_psi, feature_psi) if scored >= MIN_SCORES else MonitoringStatus.OK
    realised = realised_performance(version=version, scores=scores)
    with acting_as(actor), transaction.atomic():
        return MonitoringSnapshot.objects.create(
            model_version=version,
            window_start=window_start,
            window_end=window_end,
            scored=scored,
            feature_psi=dict(sorted(feature_psi.items(), key=lambda item: -item[1])),
            score_psi=score_psi,
            realised=realised,
            status=status,
        )


def realised_performance(*, version: ModelVersion, scores) -> dict:
    """Precision and recall, with their counts, on the claims of `scores` whose investigation concluded."""
    concluded = [InvestigationOutcome.CONFIRMED_FRAUD, InvestigationOutcome.LEGITIMATE]
    latest: dict[int, tuple[float, str, str]] = {}
    rows = (
        scores.filter(claim__investigation_outcome__in=concluded)
        .order_by("claim_id", "created_at", "pk")
        .values_list("claim_id", "probability", "risk_band", "claim__investigation_outcome")
    )
    for claim_id, probability, band, outcome in rows.iterator(chunk_size=CHUNK_SIZE):
        latest[claim_id] = (probability, band, outcome)
    confirmed = flagged = true_positives = 0
    for probability, band, outcome in latest.values():
        is_flagged = band == RiskBand.HIGH or probability >= version.threshold
        is_fraud = outcome == InvestigationOutcome.CONFIRMED_FRAUD
        confirmed += is_fraud
        flagged += is_flagged
        true_positives += is_flagged and is_fraud
    return {
        "labelled": len(latest),
        "confirmed_fraud": confirmed,
        "flagged": flagged,
        "true_positives": true_positives,
        "precision": round(true_positives / flagged, 4) if flagged else None,
        "recall": round(true_positives / confirmed, 4) if confirmed else None,
        "threshold": version.threshold,
    }


def latest_snapshot(version: ModelVersion | None = None) -> MonitoringSnapshot | None:
    snapshots = MonitoringSnapshot.objects.select_related("model_version").defer(*RELATED_MODEL_VERSION_DEFERRED)
    if version is not None:
        snapshots = snapshots.filter(model_version=version)
    return snapshots.order_by("-window_end", "-pk").first()


def labels_changed_since(version: ModelVersion) -> bool:
    """Whether the labelled claims (and their labels) differ from those `version` was trained on."""
    from . import training  # here, not at the top: the health check imports this module, training pulls in xgboost

    return training.training_fingerprint(training.labelled_claims()) != version.training_fingerprint
