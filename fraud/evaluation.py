"""How good a fraud model is, in the terms the fraud team works in: pure functions of labels and scores.

The fraud team reviews a fixed share of claims (the review budget), so the threshold is the score above which that
share of claims falls, and the figures that matter are precision and recall among the claims it refers. ROC-AUC and
PR-AUC (average precision; the primary figure, since fraud is rare) rank models; reliability bins and the Brier
score say whether a probability means what it says; fairness compares flag rates and recall across age bands, sexes
and regions. `reference_distribution` and `categorical_distribution` record a feature's or the score's training
distribution on the model version, in the bins `fraud.services.monitoring` compares live values with.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

FAIRNESS_ATTRIBUTES = ("age_band", "sex", "region")
MIN_GROUP_SIZE = 20  # groups smaller than this are listed but left out of the ratios
MIN_GROUP_POSITIVES = 5  # recall of a group with fewer confirmed frauds is too noisy to compare
REFERENCE_BINS = 10


def _arrays(y: Iterable, scores: Iterable) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(list(y) if not isinstance(y, np.ndarray) else y, dtype=int)
    values = np.asarray(list(scores) if not isinstance(scores, np.ndarray) else scores, dtype=float)
    if labels.shape != values.shape:
        raise ValueError(f"{labels.shape[0]} labels but {values.shape[0]} scores")
    return labels, values


def _both_classes(labels: np.ndarray) -> bool:
    return 0 < labels.sum() < labels.size


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(float(value), digits)


# --- thresholds ------------------------------------------------------------------------------------------------


def budget_count(n: int, budget: float) -> int:
    """How many of `n` claims a review budget covers (at least one)."""
    if not 0 < budget <= 1:
        raise ValueError(f"the review budget is a share of claims between 0 and 1, not {budget}")
    return min(n, max(1, math.ceil(budget * n - 1e-9)))


def threshold_for_budget(scores: Iterable[float], budget: float) -> float:
    """The score at or above which `budget` of these claims fall: the k-th highest score, k = ceil(budget x n).

    Ties at the threshold can refer a few more claims than the budget; never fewer.
    """
    values = np.sort(np.asarray(list(scores), dtype=float))[::-1]
    if values.size == 0:
        raise ValueError("no scores to set a threshold on")
    return float(values[budget_count(values.size, budget) - 1])


def best_f1_threshold(y: Iterable[int], scores: Iterable[float]) -> float:
    """The threshold that maximises F1 on these labels (for choosing it on training folds, never on test data)."""
    labels, values = _arrays(y, scores)
    precision, recall, thresholds = precision_recall_curve(labels, values)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return float(thresholds[int(np.argmax(f1[:-1]))])


# --- figures ---------------------------------------------------------------------------------------------------


def confusion(y: Iterable[int], scores: Iterable[float], threshold: float) -> dict[str, int]:
    labels, values = _arrays(y, scores)
    flagged = values >= threshold
    return {
        "tn": int(((~flagged) & (labels == 0)).sum()),
        "fp": int((flagged & (labels == 0)).sum()),
        "fn": int(((~flagged) & (labels == 1)).sum()),
        "tp": int((flagged & (labels == 1)).sum()),
    }


def at_threshold(y: Iterable[int], scores: Iterable[float], threshold: float) -> dict[str, float | None]:
    """Precision, recall, F1, accuracy and the flag rate of referring every claim at or above `threshold`."""
    labels, values = _arrays(y, scores)
    matrix = confusion(labels, values, threshold)
    tp, fp, fn, tn = matrix["tp"], matrix["fp"], matrix["fn"], matrix["tn"]
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return {
        "precision": _round(precision),
        "recall": _round(recall),
        "f1": _round(f1),
        "accuracy": _round((tp + tn) / labels.size) if labels.size else None,
        "flag_rate": _round((tp + fp) / labels.size) if labels.size else None,
    }


def at_budget(y: Iterable[int], scores: Iterable[float], budget: float) -> dict[str, float | None]:
    """Precision and recall among the top `budget` share of claims by score (what the fraud team would review)."""
    labels, values = _arrays(y, scores)
    if labels.size == 0:
        return {"precision": None, "recall": None, "reviewed": 0}
    top = np.argsort(-values, kind="stable")[: budget_count(labels.size, budget)]
    found = int(labels[top].sum())
    positives = int(labels.sum())
    return {
        "precision": _round(found / top.size),
        "recall": _round(found / positives) if positives else None,
        "reviewed": int(top.size),
    }


def calibration(y: Iterable[int], scores: Iterable[float], bins: int = 10) -> dict[str, Any]:
    """Reliability bins over [0, 1] (mean predicted vs observed fraud rate) and the Brier score."""
    labels, values = _arrays(y, scores)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, bins - 1)
    table = []
    for index in range(bins):
        members = which == index
        count = int(members.sum())
        table.append(
            {
                "lower": _round(edges[index], 2),
                "upper": _round(edges[index + 1], 2),
                "count": count,
                "mean_predicted": _round(values[members].mean()) if count else None,
                "observed": _round(labels[members].mean()) if count else None,
            }
        )
    brier = float(np.mean((values - labels) ** 2)) if labels.size else None
    return {"brier": _round(brier), "bins": table}


def fairness(
    y: Iterable[int],
    scores: Iterable[float],
    threshold: float,
    groups: Mapping[str, Sequence[Any]],
    *,
    min_group_size: int = MIN_GROUP_SIZE,
    min_group_positives: int = MIN_GROUP_POSITIVES,
) -> dict[str, Any]:
    """Flag rate (share at or above the threshold) and recall per group of each attribute, and the largest ratio
    between groups (max / min over groups large enough to compare; None when fewer than two are, or the smallest
    rate is 0, in which case the gap still shows the difference)."""
    labels, values = _arrays(y, scores)
    flagged = values >= threshold
    result: dict[str, Any] = {}
    for attribute, raw in groups.items():
        keys = np.asarray(["unknown" if value in (None, "") else str(value) for value in raw], dtype=object)
        table = {}
        for group in sorted(set(keys)):
            members = keys == group
            count = int(members.sum())
            positives = int(labels[members].sum())
            table[group] = {
                "count": count,
                "flagged": int(flagged[members].sum()),
                "flag_rate": _round(flagged[members].mean()) if count else None,
                "positives": positives,
                "recall": _round((flagged[members] & (labels[members] == 1)).sum() / positives) if positives else None,
            }
        flag_rates = [row["flag_rate"] for row in table.values() if row["count"] >= min_group_size]
        recalls = [row["recall"] for row in table.values() if row["positives"] >= min_group_positives]
        result[attribute] = {
            "groups": table,
            "flag_rate_ratio": _ratio(flag_rates),
            "flag_rate_gap": _gap(flag_rates),
            "recall_ratio": _ratio(recalls),
            "recall_gap": _gap(recalls),
        }
    result["max_flag_rate_ratio"] = _max(result[attribute]["flag_rate_ratio"] for attribute in groups)
    result["max_recall_ratio"] = _max(result[attribute]["recall_ratio"] for attribute in groups)
    result["min_group_size"] = min_group_size
    result["min_group_positives"] = min_group_positives
    return result


def _ratio(rates: list[float]) -> float | None:
    if len(rates) < 2 or min(rates) <= 0:
        return None
    return _round(max(rates) / min(rates), 3)


def _gap(rates: list[float]) -> float | None:
    return _round(max(rates) - min(rates)) if len(rates) >= 2 else None


def _max(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return max(present) if present else None


def evaluate(
    y: Iterable[int],
    scores: Iterable[float],
    *,
    threshold: float,
    budget: float,
    groups: Mapping[str, Sequence[Any]] | None = None,
) -> dict[str, Any]:
    """Every figure of one set of scores: ranking, at the threshold, at the review budget, calibration, fairness."""
    labels, values = _arrays(y, scores)
    ranked = _both_classes(labels)
    metrics: dict[str, Any] = {
        "n": int(labels.size),
        "positives": int(labels.sum()),
        "prevalence": _round(labels.mean()) if labels.size else None,
        "roc_auc": _round(roc_auc_score(labels, values)) if ranked else None,
        "pr_auc": _round(average_precision_score(labels, values)) if ranked else None,
        "threshold": _round(threshold, 6),
        **at_threshold(labels, values, threshold),
        "confusion": confusion(labels, values, threshold),
    }
    budget_figures = at_budget(labels, values, budget)
    metrics.update(
        review_budget=budget,
        precision_at_budget=budget_figures["precision"],
        recall_at_budget=budget_figures["recall"],
    )
    reliability = calibration(labels, values)
    metrics.update(brier=reliability["brier"], calibration=reliability["bins"])
    if groups:
        metrics["fairness"] = fairness(labels, values, threshold, groups)
    return metrics


# --- distributions for drift (the layout `fraud.services.monitoring` bins live values in) ------------------------


def reference_distribution(values: Iterable[Any], *, bins: int = REFERENCE_BINS) -> dict[str, Any]:
    """A numeric distribution in numpy.histogram's layout: `edges` run from the minimum to the maximum with the
    distinct decile cut points between (or every distinct value, for a feature with few of them), `proportions` the
    share of the non-missing values in each of the len(edges) - 1 bins (a value equal to an inner edge opens the
    next bin), `missing` the share of missing values (kept for reading; drift compares the present values).
    """
    raw = list(values)
    numbers = np.asarray([float(value) for value in raw if _present_number(value)], dtype=float)
    missing = _round((len(raw) - numbers.size) / len(raw), 6) if raw else 0.0
    if numbers.size == 0:
        return {"kind": "numeric", "edges": [0.0, 0.0], "proportions": [0.0], "missing": missing}
    distinct = np.unique(numbers)
    if distinct.size <= bins:
        inner = distinct[1:]
    else:
        inner = np.unique(np.quantile(numbers, np.linspace(0, 1, bins + 1)[1:-1]))
        inner = inner[inner > distinct[0]]
    low, high = float(distinct[0]), float(distinct[-1])
    edges = [low, *(float(edge) for edge in inner), high]
    counts = np.bincount(np.searchsorted(inner, numbers, side="right"), minlength=inner.size + 1)
    return {
        "kind": "numeric",
        "edges": edges,
        "proportions": [_round(count / numbers.size, 6) for count in counts],
        "missing": missing,
    }


def categorical_distribution(values: Iterable[Any], kept: Iterable[str]) -> dict[str, Any]:
    """A categorical distribution: the share of the non-missing values in each kept category and in `__other__`
    (every other category; JSON keys are text, so True is "True" and 3 is "3")."""
    known = list(kept)
    counts = Counter(dict.fromkeys(known, 0) | {"__other__": 0})
    present = 0
    missing = 0
    known_set = set(known)
    for value in values:
        if value is None or value == "" or _nan(value):
            missing += 1
            continue
        present += 1
        text = value if isinstance(value, str) else str(value)
        counts[text if text in known_set else "__other__"] += 1
    total = present + missing
    return {
        "kind": "categorical",
        "proportions": {key: _round(count / present, 6) if present else 0.0 for key, count in counts.items()},
        "missing": _round(missing / total, 6) if total else 0.0,
    }


def _nan(value: Any) -> bool:
    return isinstance(value, float | np.floating) and math.isnan(value)


def _present_number(value: Any) -> bool:
    return value is not None and not isinstance(value, str) and not _nan(value)


# --- the plot --------------------------------------------------------------------------------------------------


def plot_png(curves: Mapping[str, tuple[Sequence[int], Sequence[float]]], *, title: str) -> bytes:
    """One PNG with ROC, precision-recall and calibration curves for each named set of (labels, scores)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(15, 4.8), dpi=100)
    FigureCanvasAgg(figure)
    roc_axes, pr_axes, calibration_axes = figure.subplots(1, 3)
    for name, (y, scores) in curves.items():
        labels, values = _arrays(y, scores)
        if not _both_classes(labels):
            continue
        fpr, tpr, _ = roc_curve(labels, values)
        roc_axes.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(labels, values):.3f})")
        precision, recall, _ = precision_recall_curve(labels, values)
        pr_axes.step(
            recall, precision, where="post", label=f"{name} (AP {average_precision_score(labels, values):.3f})"
        )
        bins = [row for row in calibration(labels, values)["bins"] if row["count"]]
        calibration_axes.plot(
            [row["mean_predicted"] for row in bins], [row["observed"] for row in bins], marker="o", label=name
        )
    roc_axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    roc_axes.set(title="ROC", xlabel="false positive rate", ylabel="true positive rate")
    pr_axes.set(title="Precision-recall", xlabel="recall", ylabel="precision", ylim=(0, 1.02))
    calibration_axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    calibration_axes.set(title="Calibration", xlabel="mean predicted probability", ylabel="observed fraud rate")
    for axes in (roc_axes, pr_axes, calibration_axes):
        axes.legend(loc="best", fontsize="small")
        axes.grid(alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
