"""The claims decision engine: explainable, versioned, and pure.

`decide()` takes what it needs as plain values and returns an outcome with every reason, so it can be tested as a
table and its record (rule version, inputs, thresholds, reasons) tells anyone allowed to see the claim exactly why.
The checks, in order:
1. coverage: in force on the incident date, loss type covered, above the deductible; the payable amount is capped
   at the limit (over the limit goes to a person for a partial approval), else deny;
2. fraud: a score at or above the product's threshold sends the claim to investigation; no score yet holds it;
3. cost: the claimed amount against the documented totals and against comparable past claims;
4. auto-approval when the payable amount is within the product's limit, fraud risk is low, the documents agree and
   the required documents are present;
5. otherwise a person decides, with a priority.
"""

from dataclasses import asdict, dataclass, field
from decimal import Decimal

from .choices import DecisionOutcome, LossType, Priority

RULE_VERSION = "claims-2026.11.1"
BODILY_LOSSES = frozenset({LossType.INJURY, LossType.MEDICAL, LossType.DEATH})


@dataclass(frozen=True)
class DecisionInputs:
    amount_claimed: Decimal
    loss_type: str
    in_force: bool
    in_force_reason: str
    covered: bool
    limit: Decimal | None
    deductible: Decimal | None
    fraud_checked: bool
    fraud_probability: float | None
    documented_total: Decimal | None
    document_types: list[str] = field(default_factory=list)
    documents_pending: int = 0
    documents_failed: int = 0
    comparable_median: Decimal | None = None
    comparable_count: int = 0
    fraud_model: str = ""  # which model (or rules) gave the score, e.g. "v3" or "rules-1"


@dataclass(frozen=True)
class Thresholds:
    auto_approve_limit: Decimal
    fraud_referral_score: Decimal
    cost_tolerance_pct: Decimal
    required_documents: list[str]
    comparable_factor: Decimal
    comparable_min_count: int
    auto_approve_without_fraud_check: bool = False


@dataclass(frozen=True)
class Reason:
    check: str
    code: str
    message: str
    blocks_auto_approval: bool = False


@dataclass(frozen=True)
class Decision:
    outcome: str
    reasons: list[Reason]
    payable: Decimal | None
    priority: str

    def reasons_json(self) -> list[dict]:
        return [asdict(reason) for reason in self.reasons]


def as_json(value) -> dict:
    """Inputs or thresholds as JSON-ready values, for the decision record."""
    return {key: str(item) if isinstance(item, Decimal) else item for key, item in asdict(value).items()}


def decide(inputs: DecisionInputs, thresholds: Thresholds) -> Decision:
    reasons: list[Reason] = []
    amount = inputs.amount_claimed

    # 1. Coverage
    if not inputs.in_force:
        return _deny(Reason("coverage", inputs.in_force_reason, "The policy was not in force on the incident date."))
    if not inputs.covered or inputs.limit is None:
        return _deny(Reason("coverage", "LOSS_NOT_COVERED", f"The policy does not cover {inputs.loss_type}."))
    deductible = inputs.deductible or Decimal("0")
    if amount <= deductible:
        return _deny(
            Reason(
                "coverage",
                "BELOW_DEDUCTIBLE",
                f"The amount claimed ({amount}) is not above the deductible ({deductible}).",
            )
        )
    payable = min(amount, inputs.limit) - deductible
    over_limit = amount > inputs.limit
    reasons.append(Reason("coverage", "COVERED", f"Covered; payable after the deductible of {deductible}: {payable}."))
    if over_limit:
        reasons.append(
            Reason(
                "coverage",
                "OVER_LIMIT",
                f"The amount claimed exceeds the limit of {inputs.limit}; at most {payable} is payable.",
                blocks_auto_approval=True,
            )
        )

    # 2. Fraud
    if not inputs.fraud_checked:
        reasons.append(
            Reason(
                "fraud",
                "FRAUD_NOT_CHECKED",
                "No fraud assessment is configured.",
                blocks_auto_approval=not thresholds.auto_approve_without_fraud_check,
            )
        )
    elif inputs.fraud_probability is None:
        reasons.append(
            Reason("fraud", "FRAUD_SCORE_PENDING", "The fraud score is not available yet.", blocks_auto_approval=True)
        )
    elif Decimal(str(inputs.fraud_probability)) >= thresholds.fraud_referral_score:
        reasons.append(
            Reason(
                "fraud",
                "FRAUD_SCORE_HIGH",
                f"Fraud score {inputs.fraud_probability:.2f}{_by(inputs)} is at or above "
                f"{thresholds.fraud_referral_score}.",
            )
        )
        return Decision(DecisionOutcome.INVESTIGATE, reasons, payable, Priority.HIGH)
    else:
        reasons.append(
            Reason("fraud", "FRAUD_SCORE_LOW", f"Fraud score {inputs.fraud_probability:.2f}{_by(inputs)} is low.")
        )

    # 3. Cost
    tolerance = 1 + thresholds.cost_tolerance_pct / 100
    cost_mismatch = False
    if inputs.documented_total is None:
        reasons.append(
            Reason(
                "cost",
                "NO_DOCUMENTED_TOTAL",
                "No invoice, estimate or bill gives a total yet.",
                blocks_auto_approval=True,
            )
        )
    elif amount > inputs.documented_total * tolerance:
        cost_mismatch = True
        reasons.append(
            Reason(
                "cost",
                "COST_ABOVE_DOCUMENTS",
                f"The amount claimed ({amount}) is more than {thresholds.cost_tolerance_pct}% above "
                f"the documented total ({inputs.documented_total}).",
                blocks_auto_approval=True,
            )
        )
    else:
        reasons.append(
            Reason("cost", "DOCUMENTS_AGREE", f"The documented total ({inputs.documented_total}) supports the amount.")
        )
    if (
        inputs.comparable_median is not None
        and inputs.comparable_count >= thresholds.comparable_min_count
        and amount > inputs.comparable_median * thresholds.comparable_factor
    ):
        cost_mismatch = True
        reasons.append(
            Reason(
                "cost",
                "COST_ABOVE_COMPARABLE",
                f"The amount is more than {thresholds.comparable_factor}x the median of "
                f"{inputs.comparable_count} comparable claims ({inputs.comparable_median}).",
                blocks_auto_approval=True,
            )
        )

    # 4. Documents and the auto-approval limit
    missing = sorted(set(thresholds.required_documents) - set(inputs.document_types))
    if inputs.documents_pending:
        reasons.append(
            Reason(
                "documents",
                "DOCUMENTS_PENDING",
                f"{inputs.documents_pending} document(s) are still being read.",
                blocks_auto_approval=True,
            )
        )
    if missing:
        reasons.append(
            Reason(
                "documents",
                "DOCUMENTS_MISSING",
                f"Required documents missing: {', '.join(missing)}.",
                blocks_auto_approval=True,
            )
        )
    if inputs.documents_failed:
        reasons.append(
            Reason("documents", "DOCUMENT_UNREADABLE", f"{inputs.documents_failed} document(s) could not be read.")
        )
    if payable > thresholds.auto_approve_limit:
        reasons.append(
            Reason(
                "approval",
                "ABOVE_AUTO_APPROVAL_LIMIT",
                f"{payable} is above the automatic approval limit of {thresholds.auto_approve_limit}.",
                blocks_auto_approval=True,
            )
        )
    if not any(reason.blocks_auto_approval for reason in reasons):
        reasons.append(Reason("approval", "AUTO_APPROVED", f"Approved automatically for {payable}."))
        return Decision(DecisionOutcome.APPROVE, reasons, payable, Priority.LOW)

    # 5. A person decides
    if inputs.loss_type in BODILY_LOSSES:
        priority = Priority.URGENT
    elif over_limit or cost_mismatch or payable > thresholds.auto_approve_limit * 5:
        priority = Priority.HIGH
    else:
        priority = Priority.NORMAL
    return Decision(DecisionOutcome.REVIEW, reasons, payable, priority)


def _deny(reason: Reason) -> Decision:
    return Decision(DecisionOutcome.DENY, [reason], None, Priority.NORMAL)


def _by(inputs: DecisionInputs) -> str:
    return f" (model {inputs.fraud_model})" if inputs.fraud_model else ""
