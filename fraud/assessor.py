"""What the claims decision engine asks of fraud (`settings.CLAIMS_FRAUD_ASSESSOR`, see `claims.fraud`).

The assessment is the score of the claim's *current* features under the *current* production model (the rules when
none is in production). A score of older features, or by a model no longer in production, does not count: the
engine then holds the claim with FRAUD_SCORE_PENDING until the new score arrives, and the scoring service
re-evaluates the claim when it does.
"""

from django.db import transaction

from claims.fraud import FraudAssessment

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

            transaction.on_commit(lambda: score_claim_task.delay(claim.pk), robust=True)
        return None
    return FraudAssessment(
        probability=score.probability,
        risk_band=score.risk_band,
        model_version=score.model_key,
        rule_based=score.method == ScoreMethod.RULES,
        reasons=[item.get("reason", "") for item in score.contributions if item.get("reason")],
    )
