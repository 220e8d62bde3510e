"""A claim's history up to the as-of date: its status, decision, reserve movements, payments and timeline.

Older claims are mostly concluded (paid, partly paid, denied, often closed); recent ones mostly open (submitted,
under review, in investigation, approved and waiting for payment). Whoever is investigated and concluded gets an
investigation outcome: confirmed fraud (denied, nothing paid) or legitimate (paid). The steps follow
`claims.lifecycle` and the messages those of `claims.services`, so a generated timeline reads like a real one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from claims.choices import ClaimStatus, DecisionOutcome, FraudRisk, InvestigationOutcome, Priority

CENT = Decimal("0.01")
INVESTIGATED_FRAUD = 0.9  # fraud is investigated this often; other claims from 30 % up to 70 % with indicators
DECISIONS = {
    "submitted": "",
    "review": DecisionOutcome.REVIEW,
    "investigation": DecisionOutcome.INVESTIGATE,
    "approved": DecisionOutcome.APPROVE,
    "paid": DecisionOutcome.APPROVE,
    "partial": DecisionOutcome.APPROVE,
    "denied": DecisionOutcome.DENY,
    "fraud": DecisionOutcome.DENY,
}


def money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def _open_chance(age: timedelta) -> float:
    days = age.days
    return 1.0 if days < 3 else 0.85 if days < 14 else 0.4 if days < 60 else 0.1 if days < 180 else 0.02


@dataclass
class History:
    """The claim's fields that its history decides, and the rows it left (without their claim and actors)."""

    fields: dict = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    reserves: list[dict] = field(default_factory=list)
    payments: list[dict] = field(default_factory=list)
    status: str = ClaimStatus.SUBMITTED
    reserve: Decimal = Decimal("0")

    def event(self, moment: datetime, kind: str, message: str, *, to: str = "", visible: bool = True) -> None:
        self.events.append(
            {
                "kind": kind,
                "message": message[:500],
                "from_status": self.status if to else "",
                "to_status": to,
                "data": {},
                "customer_visible": visible,
                "created_at": moment,
            }
        )
        self.status = to or self.status

    def reserve_to(self, moment: datetime, target: Decimal, reason: str) -> None:
        """As `claims.services._reserve_to`: a movement when the reserve changes, or the first one even when not."""
        target = max(Decimal(target), Decimal("0"))
        if target != self.reserve or not self.reserves:
            self.reserves.append(
                {"amount": target - self.reserve, "balance_after": target, "reason": reason, "created_at": moment}
            )
        self.reserve = target


@dataclass
class _Steps:
    """Steps at increasing offsets (in days) from the report, squeezed to end before the horizon."""

    start: datetime
    horizon: datetime
    steps: list[tuple[float, str, dict]] = field(default_factory=list)
    elapsed: float = 0.0

    def then(self, days: float, kind: str, **details) -> None:
        self.elapsed += days
        self.steps.append((self.elapsed, kind, details))

    def moments(self) -> list[tuple[datetime, str, dict]]:
        room = (self.horizon - self.start).total_seconds() / 86400 - 0.01
        scale = min(1.0, room / self.elapsed * 0.95) if self.elapsed else 1.0
        return [
            ((self.start + timedelta(days=offset * scale)).replace(microsecond=0), kind, details)
            for offset, kind, details in self.steps
        ]


def _stage(rng, *, fraud: bool, investigated: bool, is_open: bool) -> tuple[str, str]:
    if is_open:
        stage = "investigation" if investigated else rng.choices(("submitted", "review", "approved"), (35, 45, 20))[0]
        return stage, InvestigationOutcome.UNKNOWN
    if investigated:
        if fraud:
            return "fraud", InvestigationOutcome.CONFIRMED_FRAUD
        return "paid", InvestigationOutcome.LEGITIMATE
    return rng.choices(("paid", "partial", "denied"), (85, 8, 7))[0], InvestigationOutcome.UNKNOWN


def play(
    rng, *, claim: dict, fraud: bool, indicators: int, deductible: Decimal, horizon: datetime, documents: int
) -> History:
    """The history of `claim` (its number, amount and report time) up to `horizon`."""
    amount, reported = claim["amount_claimed"], claim["reported_at"]
    investigated = rng.random() < (INVESTIGATED_FRAUD if fraud else min(0.7, 0.3 + 0.08 * indicators))
    is_open = rng.random() < _open_chance(horizon - reported)
    stage, outcome = _stage(rng, fraud=fraud, investigated=investigated, is_open=is_open)
    payable = amount - deductible
    if stage in ("paid", "partial", "approved") and payable <= 0:
        stage = "denied"  # below the deductible
    approved = None
    if stage in ("paid", "approved"):
        approved = payable
    elif stage == "partial":
        approved = money(float(payable) * rng.uniform(0.5, 0.9))

    steps = _Steps(start=reported, horizon=horizon)
    if stage != "submitted" and (investigated or stage == "review" or rng.random() < 0.5):
        steps.then(rng.uniform(0.2, 3), "review")
    if investigated:
        steps.then(rng.uniform(1, 7), "investigation")
    if approved is not None:
        steps.then(rng.uniform(10, 45) if investigated else rng.uniform(1, 20), "approved")
    elif stage in ("fraud", "denied"):
        steps.then(rng.uniform(10, 60) if investigated else rng.uniform(1, 20), "denied")
    if stage in ("paid", "partial"):
        if rng.random() < 0.2 and approved >= 2:
            first = money(float(approved) * rng.uniform(0.3, 0.7))
            steps.then(rng.uniform(1, 10), "payment", amount=first)
            steps.then(rng.uniform(10, 30), "payment", amount=approved - first)
        else:
            steps.then(rng.uniform(1, 10), "payment", amount=approved)
    if not is_open and rng.random() < 0.55:
        steps.then(rng.uniform(1, 20), "closed")

    history = History()
    history.event(
        reported,
        "submitted",
        f"Claim submitted for {amount} {claim['currency']} with {documents} document(s)",
        to=ClaimStatus.SUBMITTED,
    )
    paid, closed_at = Decimal("0"), None
    for moment, kind, details in steps.moments():
        if kind == "review":
            history.reserve_to(moment, amount, "Initial reserve on acceptance")
            history.event(moment, "decided", "Decision: route to a person", to=ClaimStatus.UNDER_REVIEW)
        elif kind == "investigation":
            history.event(
                moment,
                "investigation",
                "Sent to investigation: unusual pattern on the claim",
                to=ClaimStatus.INVESTIGATION,
                visible=False,
            )
        elif kind == "approved":
            history.reserve_to(moment, approved - paid, f"Approved for {approved}")
            if stage == "partial":
                history.event(
                    moment,
                    "partially_approved",
                    f"Partially approved for {approved}: checked",
                    to=ClaimStatus.PARTIALLY_APPROVED,
                )
            else:
                history.event(moment, "approved", f"Approved for {approved}: checked", to=ClaimStatus.APPROVED)
        elif kind == "denied":
            history.reserve_to(moment, Decimal("0"), "Released: claim denied")
            reason = "confirmed fraud" if stage == "fraud" else "not covered by the policy terms"
            history.event(moment, "denied", f"Denied: {reason}", to=ClaimStatus.DENIED)
        elif kind == "payment":
            paid += details["amount"]
            reference = f"GEN-{claim['number']}-{len(history.payments) + 1}"
            history.payments.append(
                {
                    "amount": details["amount"],
                    "currency": claim["currency"],
                    "reference": reference,
                    "created_at": moment,
                }
            )
            history.reserve_to(moment, history.reserve - details["amount"], f"Payment {reference}")
            if paid == approved:
                history.event(moment, "paid", f"Paid in full: {paid}", to=ClaimStatus.PAID)
            else:
                history.event(moment, "payment", f"Payment of {details['amount']}")
        elif kind == "closed":
            history.reserve_to(moment, Decimal("0"), "Released on closing")
            history.event(moment, "closed", "Closed", to=ClaimStatus.CLOSED)
            closed_at = moment
        if kind in ("approved", "denied") and outcome != InvestigationOutcome.UNKNOWN:
            history.event(moment, "investigation_outcome", f"Investigation outcome: {outcome}", visible=False)

    priority = Priority.NORMAL
    if investigated or amount > 20000:
        priority = Priority.HIGH
    elif amount < 1000:
        priority = Priority.LOW
    history.fields = {
        "status": history.status,
        "priority": priority,
        "decision_outcome": DECISIONS[stage],
        "fraud_risk": FraudRisk.NOT_CHECKED,
        "decided_by_person": stage not in ("submitted", "review"),
        "approved_amount": approved,
        "reserve_amount": history.reserve,
        "paid_amount": paid,
        "investigation_outcome": outcome,
        "closed_at": closed_at,
    }
    return history
