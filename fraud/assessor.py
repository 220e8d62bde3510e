"""What the claims decision engine asks of fraud (`settings.CLAIMS_FRAUD_ASSESSOR`, see `claims.fraud`).

The assessment is the score of the claim's *current* features under the *current* production model (the rules when
none is in production). A score of older features, or by a model no longer in production, does not count: the
engine then holds the claim with FRAUD_SCORE_PENDING until the new score arrives, and the scoring service
re-evaluates the claim when it does.
"""

from claims.fraud import FraudAssessment
from insurance.core import outbox

from . import features
from .choices import ScoreMethod
from .models import FraudScore
from .services import scoring


def current_score(claim) -> FraudScore | None:
    """The stored score of the claim's current features under the current model, or None."""
    values = features.features(features.gather(claim))
    return (
        FraudScore.objects.filter(
            claim_id=claim.pk,
            model_key=scoring.current_model_key(),
            feature_fingerprint=features.fingerprint(values),
        )
        .order_by("-created_at", "-pk")
        .first()
    )


def latest_assessment(claim) -> FraudAssessment | None:
    score = current_score(claim)
    if score is None:
        if not scoring.scoring_in_progress():
            # The features changed without a save of the claim (a document was read, say): make sure a score is
            # on its way, or the claim would wait for nothing. Idempotent: the task finds an existing score.
            from .tasks import score_claim_task

            outbox.enqueue(score_claim_task, claim.pk)
        return None
    return _assessment(score)


def stored_assessments(claim_ids: list[int]) -> dict[int, FraudAssessment]:
    """What handlers' pages show (`settings.CLAIMS_FRAUD_SCORE_READER`): each claim's latest score under the current
    model, in one query. It only reads: a claim whose features changed since shows its last score until the new one
    arrives (the engine, through `latest_assessment`, waits for that one)."""
    scores = (
        FraudScore.objects.filter(claim_id__in=claim_ids, model_key=scoring.current_model_key())
        .only("claim_id", "probability", "risk_band", "model_key", "method", "contributions")
        .order_by("claim_id", "-created_at", "-pk")
    )
    latest: dict[int, FraudScore] = {}
    for score in scores:
        latest.setdefault(score.claim_id, score)
    return {claim_id: _assessment(score) for claim_id, score in latest.items()}


def _assessment(score: FraudScore) -> FraudAssessment:
    return FraudAssessment(
        probability=score.probability,
        risk_band=score.risk_band,
        model_version=score.model_key,
        rule_based=score.method == ScoreMethod.RULES,
        reasons=[item.get("reason", "") for item in score.contributions if item.get("reason")],
    )
