"""The interface through which a fraud score reaches the claims decision engine.

Claims sit below fraud in the layers, so claims defines the interface and the fraud app fills it in: the setting
`CLAIMS_FRAUD_ASSESSOR` names a callable `(claim) -> FraudAssessment | None`. Three cases are kept apart:
- no assessor configured: fraud is not checked, and every decision says so (`FRAUD_NOT_CHECKED`);
- an assessor, but no score yet for this claim: the claim waits for a person (`FRAUD_SCORE_PENDING`); when the
  score arrives, the fraud app calls `claims.services.claim_evaluate` again;
- a score: compared with the product's `claim_fraud_referral_score`.

Pages that show scores to handlers read them through `stored_assessments`, which only reads: the setting
`CLAIMS_FRAUD_SCORE_READER` names a callable `(claim ids) -> {claim id: FraudAssessment}` over the scores already
stored, so a page of 25 claims is one query and opening it never computes features or queues scoring. Without a
reader, the assessor is asked claim by claim.
"""

from collections.abc import Sequence
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


def score_reader():
    path = getattr(settings, "CLAIMS_FRAUD_SCORE_READER", "")
    return import_string(path) if path else None


def assess(claim) -> tuple[bool, FraudAssessment | None]:
    """(whether fraud is checked at all, the current assessment or None)."""
    provider = assessor()
    if provider is None:
        return False, None
    return True, provider(claim)


def stored_assessments(claims: Sequence) -> tuple[bool, dict[int, FraudAssessment]]:
    """(whether fraud is checked at all, the stored assessment of each claim that has one, by claim id)."""
    provider = assessor()
    if provider is None:
        return False, {}
    reader = score_reader()
    if reader is None:
        return True, {claim.pk: found for claim in claims if (found := provider(claim)) is not None}
    return True, reader([claim.pk for claim in claims])
