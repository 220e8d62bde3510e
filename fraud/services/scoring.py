"""Scoring: one claim after each change (the task wired to the claim's save) and many at once (the backfill).

A score is keyed by (claim, model key, feature fingerprint): the model key is "v<version>" of the production model,
or the rules' version when no model is in production; the fingerprint is the hash of the features the scorer saw.
That key is what makes scoring idempotent and ends the loop "score -> re-evaluate the claim -> the claim is saved ->
score again": the decision engine changes the claim's decision fields, not its features, so the second delivery
finds the same fingerprint and stops. A duplicate delivery racing the first is stopped by the unique constraint.
"""

import logging
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from simple_history.utils import bulk_create_with_history

from claims import lifecycle
from claims import services as claim_services
from claims.models import Claim
from insurance.core.audit import acting_as
from insurance.core.iterables import batched

from .. import features, rules
from ..choices import RiskBand, ScoreMethod
from ..models import FraudScore
from . import registry

logger = logging.getLogger(__name__)

# Rule-based scores are not calibrated probabilities, so their bands are fixed cut-offs rather than a model's
# review-budget threshold: below 0.30 low; from 0.30 medium; from 0.70 (the products' default fraud referral score,
# `Product.claim_fraud_referral_score`) high.
RULE_BAND_MEDIUM = 0.30
RULE_BAND_HIGH = 0.70
EXPLANATION_TOP = 5

_scoring_now: ContextVar[bool] = ContextVar("fraud_scoring_now", default=False)


def rule_band(probability: float) -> str:
    if probability >= RULE_BAND_HIGH:
        return RiskBand.HIGH
    if probability >= RULE_BAND_MEDIUM:
        return RiskBand.MEDIUM
    return RiskBand.LOW


def model_key(loaded) -> str:
    """The key scores are stored under: "v7" for production model 7, `rules.RULES_VERSION` without one."""
    return loaded.version.score_key if loaded is not None else rules.RULES_VERSION


def current_model_key() -> str:
    return model_key(registry.production_model())


def scoring_in_progress() -> bool:
    """True inside `score_claim`'s re-evaluation: the assessor then must not ask for another score."""
    return _scoring_now.get()


@contextmanager
def _scoring():
    token = _scoring_now.set(True)
    try:
        yield
    finally:
        _scoring_now.reset(token)


def _build(claim_id: int, values: dict, fingerprint: str, loaded, probability: float | None = None) -> FraudScore:
    """An unsaved score of one claim's features, by the production model or, without one, by the rules."""
    if loaded is not None:
        if probability is None:
            probability = float(loaded.predict_proba([values])[0])
        probability = float(probability)
        return FraudScore(
            claim_id=claim_id,
            model_version=loaded.version,
            model_key=model_key(loaded),
            method=ScoreMethod.MODEL,
            feature_schema_version=features.SCHEMA_VERSION,
            feature_fingerprint=fingerprint,
            probability=probability,
            risk_band=loaded.risk_band(probability),
            features=values,
            contributions=loaded.explain(values, top=EXPLANATION_TOP),
        )
    probability, contributions = rules.rule_score(values)
    probability = float(probability)
    return FraudScore(
        claim_id=claim_id,
        model_version=None,
        model_key=rules.RULES_VERSION,
        method=ScoreMethod.RULES,
        feature_schema_version=features.SCHEMA_VERSION,
        feature_fingerprint=fingerprint,
        probability=probability,
        risk_band=rule_band(probability),
        features=values,
        contributions=list(contributions),
    )


def _decided_automatically(claim: Claim) -> bool:
    """Whether the engine may still decide this claim (claim_evaluate checks again under its row lock)."""
    return claim.status in lifecycle.AUTOMATIC and not claim.decided_by_person and not claim.assigned_handler_id


def _existing(claim_id: int, key: str, fingerprint: str) -> FraudScore | None:
    return FraudScore.objects.filter(claim_id=claim_id, model_key=key, feature_fingerprint=fingerprint).first()


def score_claim(*, actor, claim_id: int) -> FraudScore | None:
    """Score the claim's current features with the production model (or the rules), once per (features, model).

    Returns the score, an existing one when these features were already scored by this model (nothing else
    happens then), or None when the claim no longer exists. A new score re-runs the claim's decision engine in the
    same transaction, when the engine still decides the claim (open, no person has taken it over).
    """
    claim = Claim.objects.select_related("policy__product").filter(pk=claim_id).first()
    if claim is None:
        return None
    values = features.features(features.gather(claim))
    fingerprint = features.fingerprint(values)
    loaded = registry.production_model()
    key = model_key(loaded)
    existing = _existing(claim_id, key, fingerprint)
    if existing is not None:
        return existing
    score = _build(claim_id, values, fingerprint, loaded)
    with transaction.atomic(), acting_as(actor):
        try:
            with transaction.atomic():
                score.save()
        except IntegrityError:
            # Another delivery of the same message stored this score first; it re-evaluates the claim.
            return _existing(claim_id, key, fingerprint)
        if _decided_automatically(claim):
            with _scoring():
                claim_services.claim_evaluate(actor=actor, claim=claim)
    return score


def latest_score(claim: Claim) -> FraudScore | None:
    """The claim's most recent score, by whatever model or features (for display: see `fraud.assessor` for the
    score the decision engine uses)."""
    return (
        FraudScore.objects.filter(claim_id=claim.pk)
        .select_related("model_version")
        .order_by("-created_at", "-pk")
        .first()
    )


def _store_batch(scores: list[FraudScore], *, actor) -> list[FraudScore]:
    """Insert a batch with its history rows; when a task raced the backfill for some claim, insert one by one and
    skip the duplicates."""
    try:
        with transaction.atomic():
            return bulk_create_with_history(scores, FraudScore, default_user=actor)
    except IntegrityError:
        stored = []
        for score in scores:
            try:
                with transaction.atomic():
                    score.pk = None
                    score.save()
                stored.append(score)
            except IntegrityError:
                continue
        return stored


def rescore(*, actor, claims: QuerySet, batch_size: int = 1000, progress: Callable[[int], None] | None = None) -> dict:
    """Score every claim of `claims` whose current features have no score under the current model: the backfill
    after a promotion or a bulk import. Features are gathered and scored a batch at a time (`predict_proba` on the
    whole batch). Claims the engine still decides are re-evaluated with their new score; closed ones never are.

    `progress(n)` is called after each batch with the number of claims it covered. Returns counts.
    """
    loaded = registry.production_model()
    key = model_key(loaded)
    summary = {"model_key": key, "method": ScoreMethod.MODEL if loaded else ScoreMethod.RULES}
    summary.update(claims=0, scored=0, skipped=0, reevaluated=0)
    to_reevaluate: list[int] = []
    with acting_as(actor):
        for batch in batched(features.gather_many(claims.order_by("pk"), chunk_size=batch_size), batch_size):
            rows = [(inputs.claim_id, features.features(inputs)) for inputs in batch]
            rows = [(claim_id, values, features.fingerprint(values)) for claim_id, values in rows]
            done = set(
                FraudScore.objects.filter(claim_id__in=[row[0] for row in rows], model_key=key).values_list(
                    "claim_id", "feature_fingerprint"
                )
            )
            fresh = [row for row in rows if (row[0], row[2]) not in done]
            probabilities = (
                loaded.predict_proba([values for _, values, _ in fresh]) if loaded is not None and fresh else None
            )
            scores = [
                _build(claim_id, values, fingerprint, loaded, None if probabilities is None else probabilities[i])
                for i, (claim_id, values, fingerprint) in enumerate(fresh)
            ]
            stored = _store_batch(scores, actor=actor) if scores else []
            summary["claims"] += len(rows)
            summary["scored"] += len(stored)
            summary["skipped"] += len(rows) - len(fresh)
            stored_ids = [score.claim_id for score in stored]
            to_reevaluate += Claim.objects.filter(
                pk__in=stored_ids,
                status__in=lifecycle.AUTOMATIC,
                decided_by_person=False,
                assigned_handler__isnull=True,
            ).values_list("pk", flat=True)
            if progress is not None:
                progress(len(rows))
    for claim_id in to_reevaluate:
        with _scoring():
            decision = claim_services.claim_evaluate(actor=actor, claim=Claim(pk=claim_id))
        summary["reevaluated"] += decision is not None
    return summary
