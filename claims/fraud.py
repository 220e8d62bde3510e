"""The interface through which a fraud score reaches the claims decision engine.

Claims sit below fraud in the layers, so claims defines the interface and the fraud app fills it in: the setting
`CLAIMS_FRAUD_ASSESSOR` names a callable `(claim) -> FraudAssessment | None`. Three cases are kept apart:
- no assessor configured: fraud is not checked, and every decision says so (`FRAUD_NOT_CHECKED`);
- an assessor, but no score yet for this claim: the claim waits for a person (`FRAUD_SCORE_PENDING`); when the
  score arrives, the fraud app calls `claims.services.claim_evaluate` again;
- a score: compared with the product's `claim_fraud_referral_score`.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class FraudAssessment:
    probability: float
    risk_band: str
    model_version: str
    rule_based: bool = False
    reasons: list[str] = field(default_factory=list)


def assessor():
    path = getattr(settings, "CLAIMS_FRAUD_ASSESSOR", "")
    return import_string(path) if path else None


def assess(claim) -> tuple[bool, FraudAssessment | None]:
    """(whether fraud is checked at all, the current assessment or None)."""
    provider = assessor()
    if provider is None:
        return False, None
    return True, provider(claim)
