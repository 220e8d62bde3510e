"""Claims: the loss, its amount and dates, the fraud indicators and label, and the claim's history so far.

A claim's indicators are drawn first (more often for the shady customers of the plan), then its latent fraud risk
(a logistic of the weighted indicators, a hidden term and noise) decides whether it is fraud. Whether anyone finds
out depends on its history (`lifecycle.play`): an investigation that concluded labels it confirmed fraud or
legitimate; everything else stays unknown (undetected fraud gets paid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from claims.choices import InvestigationOutcome

from .book import Catalogue, line_requests
from .lifecycle import money, play
from .people import Person
from .plan import AUTO, CLAIMS, HOME, LIFE, Plan, record_rng
from .pools import Pools, claim_number

# The latent risk: logit = INTERCEPT + sum(weight for each indicator present) + HIDDEN if the customer is shady
# + a normal noise of NOISE_SD. Tuned for about 8 % confirmed fraud among investigated claims.
WEIGHTS = {
    "early_in_term": 1.4,  # the incident within 30 days of inception
    "late_in_term": 0.9,  # or within the last 21 days before expiry
    "late_report": 1.5,  # reported 30 days or more after the incident
    "inflated": 1.8,  # the amount inflated 2 to 3.5 times what the loss cost
    "repeat_claimant": 0.7,  # the claimant has 4 or more claims in the book
    "ring": 1.2,  # the claimant is in a ring sharing an address, phone or bank account
    "reused_document": 1.6,  # the invoice (number or very file) also appears on another claim
    "weekend_night_no_police": 1.4,  # Saturday or Sunday, 22:00 to 05:00, and no police report
}
INTERCEPT = -5.3
HIDDEN = 0.5
NOISE_SD = 0.7
# Chance of each planted indicator, for an ordinary and for a shady customer (indicators also happen by chance).
PLANTED = {
    "early_in_term": (0.03, 0.25),
    "late_in_term": (0.02, 0.15),
    "late_report": (0.03, 0.25),
    "inflated": (0.04, 0.35),
    "weekend_night_no_police": (0.03, 0.25),
}
REPEAT_CLAIMS = 4
EARLY_DAYS, LATE_DAYS, LATE_REPORT_DAYS = 30, 21, 30
NIGHT_HOURS = (22, 23, 0, 1, 2, 3, 4)
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 4, 6, 6, 5, 5, 5, 5, 5, 5, 6, 7, 6, 5, 4, 3, 2, 1)

# line -> (loss type, weight, the coverage that covers it)
LOSSES = {
    AUTO: (("collision", 0.6, "collision"), ("theft", 0.2, "theft"), ("injury", 0.2, "liability")),
    HOME: (("water_damage", 0.45, "buildings"), ("storm", 0.3, "buildings"), ("fire", 0.25, "buildings")),
    LIFE: (("death", 1.0, "death-benefit"),),
}
# loss type -> (median amount, lognormal sigma, chance of a police report)
AMOUNTS = {
    "collision": (3200, 0.7, 0.55),
    "theft": (7500, 0.8, 0.85),
    "injury": (9000, 0.9, 0.75),
    "water_damage": (4800, 0.8, 0.05),
    "storm": (3500, 0.75, 0.05),
    "fire": (16000, 1.0, 0.35),
    "death": (0, 0, 0.1),
}
DESCRIPTIONS = {
    "collision": ("Rear-ended at a red light", "Hit a parked car while reversing", "Collision at a junction"),
    "theft": ("Vehicle stolen from outside the house", "Car broken into and stolen overnight"),
    "injury": ("Pedestrian injured at a crossing", "Passenger of the other car injured in a collision"),
    "water_damage": ("Burst pipe in the kitchen", "Washing machine leak through the ceiling", "Roof leak"),
    "storm": ("Storm tore off roof tiles", "Fallen tree damaged the garage", "Hail damage to windows"),
    "fire": ("Kitchen fire", "Electrical fire in the garage", "Fire spread from a neighbour's shed"),
    "death": ("Death of the insured person",),
}
POLICE = ("CPD", "IPD", "CHPD", "SO")


def sigmoid(value: float) -> float:
    return 1 / (1 + math.exp(-value))


@dataclass
class ClaimRows:
    """One claim's rows; the claim's `policy_id`, `claimant_id`, `reported_by_id` and the dependents' `claim_id`
    (and actors) are filled in at write time."""

    index: int
    policy: int
    claimant: int
    by_agent: bool
    claim: dict
    indicators: dict[str, bool]
    fraud: bool
    events: list[dict] = field(default_factory=list)
    reserves: list[dict] = field(default_factory=list)
    payments: list[dict] = field(default_factory=list)
    invoice_total: Decimal | None = None

    @property
    def labelled(self) -> bool:
        return self.claim["investigation_outcome"] != InvestigationOutcome.UNKNOWN


def _pick_day(rng, low: date, high: date) -> date:
    return low + timedelta(days=rng.randint(0, max((high - low).days, 0)))


def _weekend_near(day: date, low: date, high: date) -> date | None:
    for offset in (*range(7), *range(-1, -7, -1)):
        candidate = day + timedelta(days=offset)
        if low <= candidate <= high and candidate.weekday() >= 5:
            return candidate
    return None


def _incident(rng, plan: Plan, policy: int, planted: dict[str, bool]) -> datetime:
    effective, expiry = plan.effective_date(policy), plan.expiry_date(policy)
    low, high = effective, max(effective, plan.cover_end(policy) - timedelta(days=2))
    if planted["early_in_term"]:
        high = min(high, effective + timedelta(days=EARLY_DAYS - 1))
    elif planted["late_in_term"] and expiry - timedelta(days=LATE_DAYS) <= high:
        low = max(low, expiry - timedelta(days=LATE_DAYS))
    day = _pick_day(rng, low, high)
    if planted["weekend_night_no_police"]:
        weekend = _weekend_near(day, low, high)
        if weekend is not None:
            return datetime.combine(weekend, time(rng.choice(NIGHT_HOURS), rng.randint(0, 59)), tzinfo=UTC)
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    return datetime.combine(day, time(hour, rng.randint(0, 59)), tzinfo=UTC)


def is_weekend_night(moment: datetime) -> bool:
    return moment.weekday() >= 5 and (moment.hour >= 22 or moment.hour < 5)


def _place(rng, pools: Pools, holder: Person, loss_type: str) -> str:
    details = holder.contact
    if loss_type in ("water_damage", "storm", "fire"):
        return f"{details.address_line1}, {details.city}"
    if loss_type == "death":
        return details.city
    first, second = rng.sample(pools.streets, 2)
    return f"Junction of {first} and {second}, {details.city}"


def claim_rows(plan: Plan, pools: Pools, catalogue: Catalogue, holder: Person, index: int) -> ClaimRows:
    rng = record_rng(plan.seed, CLAIMS, index)
    policy = int(plan.policies_of_claims(index, index + 1)[0])
    line = int(plan.line[policy])
    customer = int(plan.holder[policy])
    shady = bool(plan.shady[customer])
    terms = {request.coverage.code: request for request in line_requests(plan, catalogue, policy)}
    losses = [(loss, weight, coverage) for loss, weight, coverage in LOSSES[line] if coverage in terms]
    loss_type, _, coverage = rng.choices(losses, weights=[weight for _, weight, _ in losses])[0]
    cover = terms[coverage]

    planted = {name: rng.random() < chances[shady] for name, chances in PLANTED.items()}
    if line == LIFE:
        planted.update(inflated=False, weekend_night_no_police=False)
    incident_at = _incident(rng, plan, policy, planted)
    horizon = datetime.combine(plan.as_of, time(0), tzinfo=UTC)
    room = horizon - incident_at
    if planted["late_report"] and room.days > LATE_REPORT_DAYS:
        delay = timedelta(days=rng.uniform(LATE_REPORT_DAYS, min(200, room.days)))
    else:
        delay = timedelta(hours=min(max(math.exp(rng.gauss(math.log(30), 1.1)), 0.5), 29 * 24))
    if delay >= room:  # a recent incident: reported by now
        delay = room * rng.uniform(0.2, 0.9)
    reported_at = (incident_at + delay).replace(microsecond=0)

    median, sigma, police_chance = AMOUNTS[loss_type]
    inflation = rng.uniform(2.0, 3.5) if planted["inflated"] else 1.0
    cost = float(cover.limit)
    if loss_type != "death":
        cost = min(max(50.0, median * math.exp(rng.gauss(0, sigma))), cost)
    amount = min(money(cost * inflation), cover.limit)
    police = rng.random() < police_chance and not planted["weekend_night_no_police"]

    indicators = {
        "early_in_term": (incident_at.date() - plan.effective_date(policy)).days < EARLY_DAYS,
        "late_in_term": (plan.expiry_date(policy) - incident_at.date()).days <= LATE_DAYS,
        "late_report": (reported_at - incident_at).days >= LATE_REPORT_DAYS,
        "inflated": planted["inflated"],
        "repeat_claimant": int(plan.customer_claims[customer]) >= REPEAT_CLAIMS,
        "ring": int(plan.ring[customer]) >= 0,
        "reused_document": index in plan.reused,
        "weekend_night_no_police": is_weekend_night(incident_at) and not police,
    }
    logit = INTERCEPT + sum(WEIGHTS[name] for name, present in indicators.items() if present)
    logit += HIDDEN * shady + rng.gauss(0, NOISE_SD)
    fraud = rng.random() < sigmoid(logit)

    number = claim_number(index)
    witnesses = rng.choices((0, 1, 2, 3), weights=(60, 25, 10, 5))[0]
    claim = {
        "number": number,
        "incident_at": incident_at,
        "reported_at": reported_at,
        "incident_place": _place(rng, pools, holder, loss_type),
        "loss_type": loss_type,
        "description": rng.choice(DESCRIPTIONS[loss_type]),
        "amount_claimed": amount,
        "currency": "USD",
        "police_report_filed": police,
        "police_report_reference": (
            f"{rng.choice(POLICE)}-{incident_at.year}-{rng.randint(1, 99999):05d}" if police else ""
        ),
        "witness_count": witnesses,
        "witness_details": ", ".join(
            f"{rng.choice(pools.female + pools.male)} {rng.choice(pools.last)}" for _ in range(witnesses)
        ),
        "assigned_handler_id": None,
        "decision_reasons": [],
        "created_at": reported_at,
    }
    by_agent = rng.random() < 0.35
    history = play(
        rng,
        claim=claim,
        fraud=fraud,
        indicators=sum(indicators.values()),
        deductible=cover.deductible,
        horizon=horizon,
        documents=int(index in plan.documented),
    )
    claim.update(history.fields)
    return ClaimRows(
        index=index,
        policy=policy,
        claimant=customer,
        by_agent=by_agent,
        claim=claim,
        indicators=indicators,
        fraud=fraud,
        events=history.events,
        reserves=history.reserves,
        payments=history.payments,
        invoice_total=None if loss_type == "death" else money(cost),
    )
