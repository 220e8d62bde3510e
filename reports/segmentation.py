"""Customer segmentation: customers clustered on what an insurer knows of them, and each cluster named in its words.

Five features per customer, aggregated in the database (one GROUP BY over policies, one over claims):
tenure (years since the first cover started), premium in force, distinct products in force, claim frequency (claims
per year of tenure, tenure counted as at least a year so a new customer's first claim is not an outlier) and claim
value (average amount claimed). Skewed amounts are log-scaled, everything is standardised, and KMeans clusters them;
without `k`, k is the one with the best silhouette in `K_RANGE`, measured on a seeded sample on a large book.

A segment is named from its centroid: in standardised units a centroid coordinate is how many standard deviations the
segment sits from the book on that feature, so the features it stands out on (|z| >= `SALIENT`) give the words
("long-standing multi-product", "new low-premium", "frequent claimants"). The run (parameters, metrics, segments,
who ran it) is stored, and each customer's current segment replaced, with history.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
from django.db import transaction
from django.db.models import Count, Min, Q, Sum
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from accounts.models import CustomerProfile
from claims.models import Claim
from insurance.core.audit import acting_as
from insurance.core.exceptions import ServiceError, field_error
from insurance.core.scoping import is_unrestricted
from policies.choices import PolicyStatus
from policies.models import Policy

from .models import CustomerSegment, SegmentationRun

FEATURE_SCHEMA_VERSION = 1
FEATURES = ("tenure_years", "premium", "products_held", "claim_frequency", "claim_value")
LOG_SCALED = frozenset({"tenure_years", "premium", "claim_frequency", "claim_value"})  # long right tails
K_RANGE = range(3, 8)
K_LIMITS = (2, 12)
SEED_LIMIT = 2**32  # numpy and scikit-learn take seeds from 0 to 2**32 - 1
SALIENT = 0.5  # standard deviations from the book's mean before a feature names a segment
SILHOUETTE_SAMPLE = 10_000  # silhouette is quadratic in the customers it is measured on
SELECTION_SAMPLE = 50_000  # customers on which each candidate k is fitted; the chosen k is fitted on all
WRITE_BATCH = 2000

# The words, in the order they are written. A segment gets at most `NAME_WORDS` of them, the most salient first.
WORD_ORDER = (
    "long-standing",
    "new",
    "lapsed",
    "high-premium",
    "low-premium",
    "multi-product",
    "large-claim",
    "small-claim",
    "claim-free",
    "frequent claimants",
)
VOCABULARY = frozenset(word for phrase in WORD_ORDER for word in phrase.split()) | {"typical", "customers"}
NAME_WORDS = 3
LAPSED_PRODUCTS = 0.5  # fewer products in force than this on average: the segment's cover has ended
MULTI_PRODUCTS = 1.5
CLAIM_FREE = 0.05  # claims per year
LARGE_CLAIM = 1.5  # times the book's average claim (among customers who claimed)


@dataclass(frozen=True)
class CustomerFeatures:
    """One row per customer, in customer id order: `values[i]` are the `FEATURES` of `customer_ids[i]`."""

    customer_ids: np.ndarray
    values: np.ndarray


def customer_features(*, user, as_of: date | None = None) -> CustomerFeatures:
    """The features of every customer `user` may see, aggregated in the database as of `as_of` (today)."""
    as_of = as_of or timezone.localdate()
    customers = list(
        CustomerProfile.objects.restrict(user, "view").order_by("user_id").values_list("user_id", flat=True)
    )
    in_force = Q(status=PolicyStatus.IN_FORCE)
    policies = {
        row["holder_id"]: row
        for row in Policy.objects.filter(bound_at__isnull=False, effective_date__lte=as_of)
        .values("holder_id")
        .annotate(
            first_cover=Min("effective_date"),
            premium=Sum("premium", filter=in_force),
            products=Count("product_id", distinct=True, filter=in_force),
        )
        .order_by()
    }
    claims = {
        row["policy__holder_id"]: row
        for row in Claim.objects.values("policy__holder_id")
        .annotate(count=Count("id"), claimed=Sum("amount_claimed"))
        .order_by()
    }
    values = np.zeros((len(customers), len(FEATURES)), dtype=float)
    for index, customer in enumerate(customers):
        policy = policies.get(customer)
        claim = claims.get(customer)
        tenure = (as_of - policy["first_cover"]).days / 365.25 if policy else 0.0
        count = claim["count"] if claim else 0
        values[index] = (
            tenure,
            float(policy["premium"] or 0) if policy else 0.0,
            policy["products"] if policy else 0,
            count / max(tenure, 1.0),
            float(claim["claimed"]) / count if count else 0.0,
        )
    return CustomerFeatures(customer_ids=np.array(customers, dtype=np.int64), values=values)


def transformed(values: np.ndarray) -> np.ndarray:
    """Log-scale the long-tailed features so a few large policies or claims do not make a cluster each."""
    out = values.copy()
    for index, name in enumerate(FEATURES):
        if name in LOG_SCALED:
            out[:, index] = np.log1p(np.clip(out[:, index], 0, None))
    return out


@dataclass(frozen=True)
class Centroid:
    """What names a segment: its centroid in standard deviations from the book (`z`), its members' mean features,
    and the average claim of its members who claimed against the book's."""

    z: dict[str, float]
    mean: dict[str, float]
    claim_ratio: float | None  # segment's average claim / book's, among customers with claims; None without claims


def traits(centroid: Centroid) -> list[tuple[float, str]]:
    """(salience, phrase) for what sets the segment apart. Tenure and premium count when the segment is at least
    `SALIENT` standard deviations from the book; products, claim-free and claim size read the means, because most
    customers hold one product and claim nothing, so a z-score there says little."""
    z, mean = centroid.z, centroid.mean
    found: list[tuple[float, str]] = []
    if abs(z["tenure_years"]) >= SALIENT:
        found.append((abs(z["tenure_years"]), "long-standing" if z["tenure_years"] > 0 else "new"))
    if mean["products_held"] < LAPSED_PRODUCTS:
        found.append((abs(z["products_held"]), "lapsed"))
    else:
        if abs(z["premium"]) >= SALIENT:
            found.append((abs(z["premium"]), "high-premium" if z["premium"] > 0 else "low-premium"))
        if mean["products_held"] >= MULTI_PRODUCTS:
            found.append((abs(z["products_held"]), "multi-product"))
    if mean["claim_frequency"] < CLAIM_FREE:
        found.append((abs(z["claim_frequency"]), "claim-free"))
    else:
        if z["claim_frequency"] >= SALIENT:
            found.append((z["claim_frequency"], "frequent claimants"))
        ratio = centroid.claim_ratio
        if ratio is not None and (ratio >= LARGE_CLAIM or ratio <= 1 / LARGE_CLAIM):
            found.append((abs(float(np.log2(ratio))), "large-claim" if ratio > 1 else "small-claim"))
    return found


def segment_name(centroid: Centroid, *, words: int = NAME_WORDS) -> str:
    """The `words` most salient traits, written in a fixed order ("long-standing multi-product", "new low-premium",
    "frequent claimants"); "typical" when nothing sets the segment apart."""
    chosen = [phrase for _, phrase in sorted(traits(centroid), key=lambda item: -item[0])[:words]]
    return " ".join(sorted(chosen, key=WORD_ORDER.index)) or "typical"


def segment_names(centroids: Sequence[Centroid]) -> list[str]:
    """A name per centroid, unique within the run: a name shared by two segments takes more words, then a number."""
    names = [segment_name(centroid) for centroid in centroids]
    for words in (NAME_WORDS + 1, len(WORD_ORDER)):
        clashes = {name for name in names if names.count(name) > 1}
        names = [
            segment_name(c, words=words) if name in clashes else name for c, name in zip(centroids, names, strict=True)
        ]
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if names.count(name) == 1 else f"{name} {seen[name]}")
    return unique


@dataclass(frozen=True)
class Clustering:
    labels: np.ndarray  # per customer, 0 for the largest segment
    k: int
    silhouette: float | None
    metrics: dict
    segments: list[dict]


def cluster(features: CustomerFeatures, *, k: int | None, seed: int) -> Clustering:
    """Standardise, choose k (unless given) by silhouette, fit KMeans and describe each segment. Deterministic for a
    seed: every random choice (samples, initial centroids) is drawn from it."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    points = StandardScaler().fit_transform(transformed(features.values))
    n = len(points)
    rng = np.random.default_rng(seed)
    metrics: dict = {"customers": n}

    def silhouette(data: np.ndarray, labels: np.ndarray) -> float | None:
        if len(set(labels.tolist())) < 2:
            return None
        sample = min(len(data), SILHOUETTE_SAMPLE)
        return float(silhouette_score(data, labels, sample_size=sample, random_state=seed))

    if k is None:
        candidates = [candidate for candidate in K_RANGE if candidate < n]
        if not candidates:
            raise ServiceError(f"{n} customers are too few to segment; at least {K_RANGE.start + 1} are needed.")
        sample = points if n <= SELECTION_SAMPLE else points[rng.choice(n, SELECTION_SAMPLE, replace=False)]
        scores = {}
        for candidate in candidates:
            labels = KMeans(n_clusters=candidate, n_init=10, random_state=seed).fit_predict(sample)
            scores[candidate] = silhouette(sample, labels)
        k = max(candidates, key=lambda candidate: (scores[candidate] or -1.0, -candidate))
        metrics["silhouette_by_k"] = {str(candidate): score for candidate, score in scores.items()}
        metrics["selection_sample"] = len(sample)
    elif k >= n:
        raise field_error("k", f"must be fewer than the {n} customers")

    model = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(points)
    # Labels by size, largest first (ties by centroid), so label 0 means the same kind of thing from run to run.
    sizes = np.bincount(model.labels_, minlength=k)
    order = sorted(range(k), key=lambda label: (-sizes[label], tuple(model.cluster_centers_[label])))
    relabel = np.empty(k, dtype=int)
    relabel[order] = np.arange(k)
    labels = relabel[model.labels_]
    values = features.values
    claimed = values[:, FEATURES.index("claim_frequency")] > 0
    claim_values = values[:, FEATURES.index("claim_value")]
    book_claim = float(claim_values[claimed].mean()) if claimed.any() else None
    centroids, sizes = [], []
    for label, old in enumerate(order):
        members = labels == label
        segment_claims = claimed & members
        ratio = float(claim_values[segment_claims].mean()) / book_claim if book_claim and segment_claims.any() else None
        centroids.append(
            Centroid(
                z=dict(zip(FEATURES, map(float, model.cluster_centers_[old]), strict=True)),
                mean=dict(zip(FEATURES, map(float, values[members].mean(axis=0)), strict=True)),
                claim_ratio=ratio,
            )
        )
        sizes.append(int(members.sum()))
    names = segment_names(centroids)
    segments = [
        {
            "label": label,
            "name": name,
            "size": size,
            "share": round(size / n, 4),
            "mean": {feature: round(value, 4) for feature, value in centroid.mean.items()},
            "z": {feature: round(value, 3) for feature, value in centroid.z.items()},
            "claim_ratio": None if centroid.claim_ratio is None else round(centroid.claim_ratio, 3),
        }
        for label, (centroid, name, size) in enumerate(zip(centroids, names, sizes, strict=True))
    ]
    score = silhouette(points, labels)
    metrics.update({"inertia": float(model.inertia_), "silhouette": score})
    return Clustering(labels=labels, k=k, silhouette=score, metrics=metrics, segments=segments)


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2)))


def may_segment(actor) -> bool:
    """A segmentation covers the whole book and rewrites every customer's segment: book-wide staff with the
    permission to run one, and system accounts (commands, tasks)."""
    if getattr(actor, "is_system", False):
        return True
    return is_unrestricted(actor) and actor.has_perm("reports.add_segmentationrun")


def segmentation_run(*, actor, k: int | None = None, seed: int = 0, as_of: date | None = None) -> SegmentationRun:
    """Cluster every customer, store the run and replace each customer's segment (history names `actor`)."""
    if not may_segment(actor):
        raise ServiceError(f"{actor.username} may not segment the book's customers.", code="forbidden")
    if k is not None and not K_LIMITS[0] <= k <= K_LIMITS[1]:
        raise field_error("k", f"must be between {K_LIMITS[0]} and {K_LIMITS[1]}")
    if not 0 <= seed < SEED_LIMIT:
        raise field_error("seed", f"must be between 0 and {SEED_LIMIT - 1}")
    started = time.perf_counter()
    features = customer_features(user=actor, as_of=as_of)
    read = time.perf_counter()
    clustering = cluster(features, k=k, seed=seed)
    clustered = time.perf_counter()
    with transaction.atomic(), acting_as(actor):
        run = SegmentationRun.objects.create(
            run_by=actor,
            seed=seed,
            k_requested=k,
            k=clustering.k,
            feature_schema_version=FEATURE_SCHEMA_VERSION,
            customer_count=len(features.customer_ids),
            silhouette=clustering.silhouette,
            metrics=clustering.metrics,
            segments=clustering.segments,
        )
        _replace_assignments(actor=actor, run=run, features=features, clustering=clustering)
        run.metrics = {
            **run.metrics,
            "seconds": {
                "features": round(read - started, 3),
                "clustering": round(clustered - read, 3),
                "writing": round(time.perf_counter() - clustered, 3),
            },
        }
        run.save(update_fields=["metrics", "updated_at"])
    return run


def _replace_assignments(*, actor, run: SegmentationRun, features: CustomerFeatures, clustering: Clustering) -> None:
    """Update the customers' rows in place (one row per customer, so the history shows each move), create the
    missing ones, and delete those of customers no longer segmented. Bulk writes with their history rows, a batch
    at a time, so a book of a million customers never holds a million model instances."""
    existing = {
        customer: (pk, created_at)
        for customer, pk, created_at in CustomerSegment.objects.values_list("customer_id", "pk", "created_at")
    }
    names = [segment["name"] for segment in clustering.segments]
    fields = ["run", "label", "name", *FEATURES, "updated_at"]
    now = timezone.now()
    customers, labels = features.customer_ids.tolist(), clustering.labels.tolist()
    for start in range(0, len(customers), WRITE_BATCH):
        updates, creates = [], []
        for index in range(start, min(start + WRITE_BATCH, len(customers))):
            row = features.values[index]
            pk, created_at = existing.pop(customers[index], (None, now))
            segment = CustomerSegment(
                pk=pk,
                created_at=created_at,
                customer_id=customers[index],
                run=run,
                label=labels[index],
                name=names[labels[index]],
                tenure_years=round(float(row[0]), 4),
                premium=_money(row[1]),
                products_held=int(row[2]),
                claim_frequency=round(float(row[3]), 4),
                claim_value=_money(row[4]),
                updated_at=now,
            )
            (creates if pk is None else updates).append(segment)
        if updates:
            bulk_update_with_history(updates, CustomerSegment, fields, default_user=actor)
        if creates:
            bulk_create_with_history(creates, CustomerSegment, default_user=actor)
    for stale in CustomerSegment.objects.filter(pk__in=[pk for pk, _ in existing.values()]):
        stale.delete()
