"""Fraud features: one pure function with a schema version, used by both training and scoring.

Two halves. `gather(claim)` (one claim, for scoring) and `gather_many(claims)` (a queryset, chunked and set-based,
for training and rescoring) read what the features need about a claim into a `FeatureInputs`; both run the same
loader, one with a claim's worth of bounded indexed queries, the other with a dozen set-based queries per chunk, so
they yield equal inputs. `features(inputs)` turns them into a flat dict of numbers, booleans and category strings
(None: unknown) without touching the database: it is what a model is trained on and scores, what a score stores,
and what `fingerprint()` hashes. Change what it computes and SCHEMA_VERSION goes up.

As of the report. Whatever a claim's features say about *other* claims counts only what was known when the claim was
reported (`reported_at`), so training sees what scoring will see and a later claim never changes an earlier one:
- history: the claimant's and the policy's claims reported strictly before. One of them counts as denied when its
  first `denied` event came before (a claim with no timeline, such as an import, that is denied: its `updated_at`),
  and as confirmed fraud when its investigation had concluded before;
- concluded: the time of the latest `investigation_outcome` event; without one (outcomes that came in an import)
  `closed_at`, else `updated_at`, the moment the system learned it;
- the agent's record: confirmed fraud among the concluded claims of the customers the claimant's agent serves
  (`CustomerProfile.agent`, as it is now);
- comparable claims: the median amount of the (up to) COMPARABLE_WINDOW claims of the same loss type and currency
  reported most recently before. One claim: one query with a LIMIT. gather_many: each loss type's amounts read once
  per call, sorted, and the same window taken by bisection. Not the table's median: that moves with every new claim
  and would change every claim's fingerprint (and so its score) all the time;
- network: earlier claims on the same VIN, earlier claims carrying one of this claim's files (sha256) or invoice
  numbers (the effective value of the `invoice_number` field, found through its (name, value) index: a number only a
  verifier typed is searched by this claim's raw and verified values, not by other documents' verified values).
Two things are the current state: the claim's own documents (they arrive after the report; a new one gives a new
fingerprint and so a new score), and the contact details customers share (profiles keep no dates for them).

Fairness: sex, age and region are never features. They go in `FeatureInputs.demographics`, for fairness reports
only, and imported attributes named like them (PROTECTED_KEYS) are left out of the features.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db.models import F, Q, QuerySet

from accounts.models import CustomerProfile, User
from claims.choices import COSTED_DOCUMENT_TYPES, ClaimStatus, DocumentStatus, InvestigationOutcome, LossType
from claims.models import Claim, ClaimDocument, ClaimEvent, ExtractedField
from insurance.core import lookups  # noqa: F401  (registers `__any_of`: long id and text lists as one array)
from policies.models import CoverageLine

SCHEMA_VERSION: str = "1"

COMPARABLE_WINDOW = 101  # the comparable claims: this many of the same loss type reported most recently before
COMPARABLE_MIN = 5  # fewer than this and the amount against comparable claims is unknown
# Imported attribute keys never used as features (protected characteristics); an imported `age` feeds demographics.
PROTECTED_KEYS = frozenset(
    {"age", "sex", "gender", "date_of_birth", "dob", "birth_date", "birthdate", "region", "insured_sex", "insured_age"}
)
AGE_BANDS = ((25, "<25"), (35, "25-34"), (45, "35-44"), (55, "45-54"), (65, "55-64"))
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class FeatureInputs:
    """Everything the pure `features()` reads about one claim, gathered from the database."""

    claim_id: int
    reported_at: datetime  # the "as of" instant: history and network facts only count what was known then
    incident_at: datetime
    loss_type: str
    amount_claimed: Decimal
    currency: str
    police_report_filed: bool = False
    witness_count: int = 0
    reported_by_claimant: bool = True
    # the policy
    line_of_business: str = ""
    policy_effective_date: date | None = None
    policy_expiry_date: date | None = None
    policy_premium: Decimal | None = None
    covering_limit: Decimal | None = None  # the highest limit of the lines covering the loss type; None: not covered
    total_limit: Decimal | None = None  # all lines of the policy
    insured_value: Decimal | None = None  # the vehicle's or property's value
    # comparable claims (same loss type and currency, reported before)
    comparable_count: int = 0
    comparable_median: float | None = None
    # history: claims reported before this one
    claimant_prior_claims: int = 0
    claimant_prior_amount: Decimal = Decimal("0")
    claimant_prior_denied: int = 0
    claimant_prior_fraud: int = 0
    claimant_last_reported_at: datetime | None = None
    policy_prior_claims: int = 0
    policy_prior_amount: Decimal = Decimal("0")
    policy_prior_denied: int = 0
    # network: other customers sharing the claimant's contact details (now), earlier claims on the same vehicle
    shared_address: int = 0
    shared_phone: int = 0
    shared_email: int = 0
    shared_bank_account: int = 0
    shared_any_contact: int = 0
    has_vin: bool = False
    vehicle_prior_claims: int = 0
    vehicle_other_claimants: int = 0
    # the claimant's agent
    has_agent: bool = False
    agent_prior_concluded: int = 0
    agent_prior_fraud: int = 0
    # documents (the claim's own, as they are now) and their reuse on earlier claims
    documents: int = 0
    documents_failed: int = 0
    ocr_confidences: list[float] = field(default_factory=list)
    documented_total: Decimal | None = None
    reused_document_claims: int = 0
    reused_invoice_claims: int = 0
    # imported columns with no field of their own, as sent
    claim_attributes: dict = field(default_factory=dict)
    customer_attributes: dict = field(default_factory=dict)
    policy_attributes: dict = field(default_factory=dict)
    demographics: dict[str, str] = field(default_factory=dict)  # fairness reports ONLY; never a feature


# --- the pure half ---------------------------------------------------------------------------------------------


def features(inputs: FeatureInputs) -> dict[str, float | int | bool | str | None]:
    """The claim's features: pure and deterministic (same inputs, same dict). None means unknown."""
    i = inputs
    incident = i.incident_at.astimezone(UTC)
    day = incident.date()
    amount = float(i.amount_claimed)
    weekend_night = incident.weekday() >= 5 and (incident.hour >= 22 or incident.hour < 5)
    last = i.claimant_last_reported_at
    values: dict[str, float | int | bool | str | None] = {
        # temporal
        "days_inception_to_incident": (day - i.policy_effective_date).days if i.policy_effective_date else None,
        "days_incident_to_report": _round((i.reported_at - i.incident_at) / timedelta(days=1)),
        "days_to_expiry": (i.policy_expiry_date - day).days if i.policy_expiry_date else None,
        "incident_weekday": incident.weekday(),
        "incident_hour": incident.hour,
        "weekend_night": weekend_night,
        # the claim
        "loss_type": i.loss_type,
        "line_of_business": i.line_of_business or None,
        "injury": i.loss_type == LossType.INJURY,
        "amount_claimed": _round(amount, 2),
        "covered": i.covering_limit is not None,
        "amount_to_limit": _ratio(amount, i.covering_limit),
        "amount_to_total_limit": _ratio(amount, i.total_limit),
        "amount_to_insured_value": _ratio(amount, i.insured_value),
        "amount_to_premium": _ratio(amount, i.policy_premium),
        "comparable_claims": i.comparable_count,
        "amount_to_comparable_median": (
            _ratio(amount, i.comparable_median) if i.comparable_count >= COMPARABLE_MIN else None
        ),
        "police_report_filed": i.police_report_filed,
        "witness_count": i.witness_count,
        "weekend_night_no_police": weekend_night and not i.police_report_filed,
        "reported_by_claimant": i.reported_by_claimant,
        # history
        "claimant_prior_claims": i.claimant_prior_claims,
        "claimant_prior_amount": _round(float(i.claimant_prior_amount), 2),
        "claimant_prior_denied": i.claimant_prior_denied,
        "claimant_prior_fraud": i.claimant_prior_fraud,
        "claimant_days_since_last_claim": _round((i.reported_at - last) / timedelta(days=1)) if last else None,
        "policy_prior_claims": i.policy_prior_claims,
        "policy_prior_amount": _round(float(i.policy_prior_amount), 2),
        "policy_prior_denied": i.policy_prior_denied,
        # network
        "shared_address_customers": i.shared_address,
        "shared_phone_customers": i.shared_phone,
        "shared_email_customers": i.shared_email,
        "shared_bank_account_customers": i.shared_bank_account,
        "shared_contact_customers": i.shared_any_contact,
        "vehicle_prior_claims": i.vehicle_prior_claims if i.has_vin else None,
        "vehicle_other_claimants": i.vehicle_other_claimants if i.has_vin else None,
        "reused_document_claims": i.reused_document_claims,
        "reused_invoice_claims": i.reused_invoice_claims,
        "has_agent": i.has_agent,
        "agent_prior_concluded": i.agent_prior_concluded if i.has_agent else None,
        "agent_fraud_rate": _ratio(i.agent_prior_fraud, i.agent_prior_concluded) if i.has_agent else None,
        # documents
        "documents_count": i.documents,
        "documents_failed": i.documents_failed,
        "ocr_confidence_mean": _round(sum(i.ocr_confidences) / len(i.ocr_confidences)) if i.ocr_confidences else None,
        "documented_total": _round(float(i.documented_total), 2) if i.documented_total is not None else None,
        "amount_to_documented_total": _ratio(amount, i.documented_total),
    }
    for scope, attributes in (
        ("claim", i.claim_attributes),
        ("customer", i.customer_attributes),
        ("policy", i.policy_attributes),
    ):
        values.update(_attribute_features(scope, attributes))
    return values


def fingerprint(values: dict) -> str:
    """sha256 of the canonical JSON of a features dict (sorted keys): the claim version a score is tied to."""
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def label(claim) -> int | None:
    """1 confirmed fraud, 0 legitimate, None unknown (from `Claim.investigation_outcome`, or the outcome itself)."""
    outcome = getattr(claim, "investigation_outcome", claim)
    return {InvestigationOutcome.CONFIRMED_FRAUD: 1, InvestigationOutcome.LEGITIMATE: 0}.get(outcome)


def _round(value: float, digits: int = 4) -> float:
    return round(float(value), digits) + 0.0  # + 0.0 turns -0.0 into 0.0: one value, one fingerprint


def _ratio(numerator, denominator) -> float | None:
    if denominator is None or numerator is None or float(denominator) <= 0:
        return None
    return _round(float(numerator) / float(denominator), 6)


def _attribute_features(scope: str, attributes: dict) -> dict:
    """`attr.<scope>.<key>` for every scalar attribute, as sent (numbers stay numbers, text stays text); nested
    values (lists, objects) are not columns and are left out, and so are PROTECTED_KEYS."""
    values = {}
    for key, value in (attributes or {}).items():
        if str(key).strip().lower() in PROTECTED_KEYS:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        elif isinstance(value, Decimal):
            value = float(value)
        elif value is not None and not isinstance(value, bool | int | float | str):
            continue
        values[f"attr.{scope}.{key}"] = value
    return values


# --- explanations ----------------------------------------------------------------------------------------------

FEATURE_DESCRIPTIONS: dict[str, str] = {
    "days_inception_to_incident": "days from policy start to the incident",
    "days_incident_to_report": "days from the incident to its report",
    "days_to_expiry": "days from the incident to the policy's expiry",
    "incident_weekday": "day of the week of the incident",
    "incident_hour": "hour of the incident",
    "weekend_night": "incident on a weekend night (Saturday or Sunday, 22:00 to 05:00)",
    "loss_type": "loss type",
    "line_of_business": "line of business",
    "injury": "injury claim",
    "amount_claimed": "amount claimed",
    "covered": "a coverage line covers the loss type",
    "amount_to_limit": "amount against the limit of the covering line",
    "amount_to_total_limit": "amount against the policy's total limits",
    "amount_to_insured_value": "amount against the insured vehicle's or property's value",
    "amount_to_premium": "amount against the premium",
    "comparable_claims": "number of comparable earlier claims",
    "amount_to_comparable_median": "amount against the median of comparable earlier claims",
    "police_report_filed": "police report filed",
    "witness_count": "number of witnesses",
    "weekend_night_no_police": "weekend-night incident without a police report",
    "reported_by_claimant": "reported by the claimant (not an agent or handler)",
    "claimant_prior_claims": "the claimant's earlier claims",
    "claimant_prior_amount": "amount of the claimant's earlier claims",
    "claimant_prior_denied": "the claimant's earlier denied claims",
    "claimant_prior_fraud": "the claimant's earlier claims confirmed as fraud",
    "claimant_days_since_last_claim": "days since the claimant's previous claim",
    "policy_prior_claims": "earlier claims on the policy",
    "policy_prior_amount": "amount of earlier claims on the policy",
    "policy_prior_denied": "earlier denied claims on the policy",
    "shared_address_customers": "other customers at the claimant's address",
    "shared_phone_customers": "other customers with the claimant's phone number",
    "shared_email_customers": "other customers with the claimant's email address",
    "shared_bank_account_customers": "other customers with the claimant's bank account",
    "shared_contact_customers": "other customers sharing any of the claimant's contact details",
    "vehicle_prior_claims": "earlier claims on the same vehicle (VIN)",
    "vehicle_other_claimants": "other claimants of earlier claims on the same vehicle",
    "reused_document_claims": "earlier claims carrying the same document file",
    "reused_invoice_claims": "earlier claims with the same invoice number",
    "has_agent": "the claimant has an agent",
    "agent_prior_concluded": "concluded investigations among the agent's customers' claims",
    "agent_fraud_rate": "the agent's customers' confirmed fraud rate",
    "documents_count": "documents on the claim",
    "documents_failed": "documents that could not be read",
    "ocr_confidence_mean": "mean OCR confidence of the documents",
    "documented_total": "total shown on the claim's invoices and estimates",
    "amount_to_documented_total": "amount against the documented total",
    "attr.claim.": "imported claim attribute",
    "attr.customer.": "imported customer attribute",
    "attr.policy.": "imported policy attribute",
}


def _days(value: float) -> str:
    if abs(value) < 1:
        hours = round(abs(value) * 24)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    days = round(abs(value))
    return f"{days} day{'s' if days != 1 else ''}"


def _times(value: float) -> str:
    return f"{value:.0%} of" if value < 1 else f"{value:.1f} times"


def _count(value, one: str, many: str, none: str) -> str:
    return none if not value else (one if value == 1 else many.format(value))


_PHRASES = {
    "days_inception_to_incident": lambda v: (
        f"the incident {_days(v)} after the policy started"
        if v >= 0
        else f"the incident {_days(v)} before the policy started"
    ),
    "days_incident_to_report": lambda v: f"reported {_days(v)} after the incident",
    "days_to_expiry": lambda v: (
        f"the incident {_days(v)} before the policy expires"
        if v >= 0
        else f"the incident {_days(v)} after the policy expired"
    ),
    "incident_weekday": lambda v: f"the incident on a {WEEKDAYS[int(v) % 7]}",
    "incident_hour": lambda v: f"the incident at {int(v):02d}:00",
    "weekend_night": lambda v: "the incident on a weekend night" if v else "the incident not on a weekend night",
    "injury": lambda v: "an injury claim" if v else "not an injury claim",
    "amount_claimed": lambda v: f"claimed {v:,.2f}",
    "covered": lambda v: "the loss type is covered" if v else "no coverage line covers the loss type",
    "amount_to_limit": lambda v: f"the amount is {v:.0%} of the coverage limit",
    "amount_to_total_limit": lambda v: f"the amount is {v:.0%} of the policy's limits",
    "amount_to_insured_value": lambda v: f"the amount is {v:.0%} of the insured value",
    "amount_to_premium": lambda v: f"the amount is {v:.1f} times the premium",
    "comparable_claims": lambda v: f"{v} comparable earlier claims",
    "amount_to_comparable_median": lambda v: f"the amount is {_times(v)} the median of comparable claims",
    "police_report_filed": lambda v: "a police report was filed" if v else "no police report",
    "witness_count": lambda v: _count(v, "one witness", "{} witnesses", "no witnesses"),
    "weekend_night_no_police": lambda v: (
        "a weekend-night incident without a police report"
        if v
        else "not a weekend-night incident without a police report"
    ),
    "reported_by_claimant": lambda v: "reported by the claimant" if v else "reported by an agent or handler",
    "claimant_prior_claims": lambda v: _count(
        v, "the claimant has one earlier claim", "the claimant has {} earlier claims", "the claimant's first claim"
    ),
    "claimant_prior_amount": lambda v: f"the claimant's earlier claims total {v:,.2f}",
    "claimant_prior_denied": lambda v: _count(
        v, "one earlier claim of the claimant was denied", "{} earlier claims of the claimant were denied", "no denials"
    ),
    "claimant_prior_fraud": lambda v: _count(
        v, "one earlier claim confirmed as fraud", "{} earlier claims confirmed as fraud", "no confirmed fraud before"
    ),
    "claimant_days_since_last_claim": lambda v: f"{_days(v)} since the claimant's previous claim",
    "policy_prior_claims": lambda v: _count(
        v, "one earlier claim on the policy", "{} earlier claims on the policy", "the policy's first claim"
    ),
    "policy_prior_amount": lambda v: f"earlier claims on the policy total {v:,.2f}",
    "policy_prior_denied": lambda v: _count(
        v, "one earlier claim on the policy was denied", "{} earlier claims on the policy were denied", "no denials"
    ),
    "shared_address_customers": lambda v: _count(
        v, "one other customer at the same address", "{} other customers at the same address", "nobody else there"
    ),
    "shared_phone_customers": lambda v: _count(
        v, "one other customer has the same phone", "{} other customers have the same phone", "phone not shared"
    ),
    "shared_email_customers": lambda v: _count(
        v, "one other customer has the same email", "{} other customers have the same email", "email not shared"
    ),
    "shared_bank_account_customers": lambda v: _count(
        v,
        "one other customer has the same bank account",
        "{} other customers have the same bank account",
        "bank account not shared",
    ),
    "shared_contact_customers": lambda v: _count(
        v,
        "one other customer shares contact details",
        "{} other customers share contact details",
        "contact details not shared",
    ),
    "vehicle_prior_claims": lambda v: _count(
        v, "one earlier claim on the same vehicle", "{} earlier claims on the same vehicle", "no earlier vehicle claims"
    ),
    "vehicle_other_claimants": lambda v: _count(
        v,
        "another claimant claimed on the same vehicle",
        "{} other claimants claimed on the same vehicle",
        "nobody else claimed on the vehicle",
    ),
    "reused_document_claims": lambda v: _count(
        v, "the same document is on an earlier claim", "the same document is on {} earlier claims", "documents unique"
    ),
    "reused_invoice_claims": lambda v: _count(
        v,
        "the invoice number is on an earlier claim",
        "the invoice number is on {} earlier claims",
        "invoice numbers unique",
    ),
    "has_agent": lambda v: "the claimant has an agent" if v else "no agent",
    "agent_prior_concluded": lambda v: f"{v} concluded investigations among the agent's customers",
    "agent_fraud_rate": lambda v: f"{v:.0%} of the agent's customers' concluded claims were fraud",
    "documents_count": lambda v: _count(v, "one document", "{} documents", "no documents"),
    "documents_failed": lambda v: _count(v, "one document unreadable", "{} documents unreadable", "all readable"),
    "ocr_confidence_mean": lambda v: f"mean OCR confidence {v:.0%}",
    "documented_total": lambda v: f"the documents show {v:,.2f}",
    "amount_to_documented_total": lambda v: f"the amount is {_times(v)} the documented total",
}


def describe(name: str, value) -> str:
    """A readable phrase for one feature's value, for explanations: "reported 45 days after the incident"."""
    if name.startswith("attr."):
        key = name.split(".", 2)[-1]
        return f"{key} is unknown" if value is None else f"{key} is {value}"
    if value is None:
        return f"{FEATURE_DESCRIPTIONS.get(name, name.replace('_', ' '))}: unknown"
    phrase = _PHRASES.get(name)
    if phrase is not None:
        try:
            return phrase(value)
        except (TypeError, ValueError):
            pass
    return f"{FEATURE_DESCRIPTIONS.get(name, name.replace('_', ' '))} is {value}"


# --- gathering -------------------------------------------------------------------------------------------------


def gather(claim) -> FeatureInputs:
    """One claim's inputs (a Claim or its pk), in a small fixed number of indexed queries, whatever the table size."""
    pk = claim if isinstance(claim, int) else claim.pk
    found = _Loader(bounded=True).load([pk])
    if not found:
        raise Claim.DoesNotExist(f"no claim {pk}")
    return found[0]


def gather_many(claims: QuerySet, *, chunk_size: int = 5000) -> Iterator[FeatureInputs]:
    """The inputs of every claim of `claims`, in primary-key order: about a dozen set-based queries per chunk of
    `chunk_size` claims, plus each loss type's amounts and each agent's concluded claims read once per call. Yields
    the same values as `gather()` for each claim."""
    loader = _Loader(bounded=False)
    if claims.query.is_sliced:
        ids = sorted(claims.values_list("pk", flat=True))
        for start in range(0, len(ids), chunk_size):
            yield from loader.load(ids[start : start + chunk_size])
        return
    last = None
    while True:
        page = claims if last is None else claims.filter(pk__gt=last)
        ids = list(page.order_by("pk").values_list("pk", flat=True)[:chunk_size])
        if not ids:
            return
        yield from loader.load(ids)
        last = ids[-1]


# What the loader reads of a claim, its policy and its claimant, as `values()` names.
_CLAIM_COLUMNS = (
    "pk", "claimant_id", "reported_by_id", "policy_id", "reported_at", "incident_at", "loss_type", "amount_claimed",
    "currency", "police_report_filed", "witness_count", "attributes",
)  # fmt: skip
_RELATED_COLUMNS = {
    "line": F("policy__product__line_of_business"),
    "effective": F("policy__effective_date"),
    "expiry": F("policy__expiry_date"),
    "premium": F("policy__premium"),
    "policy_attributes": F("policy__attributes"),
    "vin": F("policy__vehicle__vin"),
    "vehicle_value": F("policy__vehicle__value"),
    "property_value": F("policy__property__value"),
    "email": F("claimant__email"),
    "profile": F("claimant__customer_profile__id"),
    "agent": F("claimant__customer_profile__agent_id"),
    "phone": F("claimant__customer_profile__phone"),
    "bank": F("claimant__customer_profile__bank_account"),
    "address": F("claimant__customer_profile__address_line1"),
    "postal": F("claimant__customer_profile__postal_code"),
    "born": F("claimant__customer_profile__date_of_birth"),
    "sex": F("claimant__customer_profile__sex"),
    "region": F("claimant__customer_profile__region"),
    "customer_attributes": F("claimant__customer_profile__attributes"),
}
_KNOWN_COLUMNS = ("pk", "status", "investigation_outcome", "closed_at", "updated_at")
_IN_LIST = 20_000  # ids per query at most (SQLite allows 32,766 parameters)


def _known_times(rows: list[dict], *, events_of: set[int]) -> None:
    """Set each row's `denied_at` and `concluded_at` (see the module docstring), reading the events of the claims
    `events_of` in one query per 20,000 of them (the others' times are never read)."""
    denied, outcome = {}, {}
    ids = sorted(events_of)
    for start in range(0, len(ids), _IN_LIST):  # one query, unless a first chunk reads many agents' records
        events = ClaimEvent.objects.filter(
            claim_id__any_of=ids[start : start + _IN_LIST], kind__in=("denied", "investigation_outcome")
        ).order_by()
        for claim, kind, created in events.values_list("claim_id", "kind", "created_at"):
            if kind == "denied":
                denied[claim] = min(created, denied.get(claim, created))
            else:
                outcome[claim] = max(created, outcome.get(claim, created))
    for row in rows:
        pk = row["pk"]
        row["denied_at"] = denied.get(pk) or (row["updated_at"] if row["status"] == ClaimStatus.DENIED else None)
        row["concluded_at"] = (
            None
            if row["investigation_outcome"] == InvestigationOutcome.UNKNOWN
            else outcome.get(pk) or row["closed_at"] or row["updated_at"]
        )


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _cents(amount: Decimal) -> int:
    return int(amount * 100)


def _median_cents(cents: Iterable[int]) -> float | None:
    ordered = sorted(cents)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle] / 100
    return (ordered[middle - 1] + ordered[middle]) / 200


def _age_band(row: dict) -> str:
    """The claimant's age band on the report date: from the date of birth, else an imported `age` attribute."""
    age = None
    if row["born"]:
        on, born = row["reported_at"].astimezone(UTC).date(), row["born"]
        age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    elif row["profile"] is not None:
        imported = (row["customer_attributes"] or {}).get("age")
        try:
            age = int(float(imported)) if imported not in (None, "") else None
        except (TypeError, ValueError):
            age = None
    if age is None:
        return ""
    return next((band for upper, band in AGE_BANDS if age < upper), "65+")


@dataclass
class _AgentRecord:
    """An agent's customers' concluded claims, in the order they concluded."""

    concluded: array = field(default_factory=lambda: array("q"))  # microseconds since the epoch
    claims: list[int] = field(default_factory=list)
    fraud_before: list[int] = field(default_factory=lambda: [0])  # confirmed fraud among the first n


class _Loader:
    """Reads FeatureInputs for a list of claim ids: the same code for one claim (gather) and a chunk (gather_many).

    `bounded` (gather): comparable claims by one LIMIT query per claim. Otherwise (gather_many): each (loss type,
    currency)'s amounts are read once and kept for the next chunks, like the agents' records.
    """

    def __init__(self, *, bounded: bool):
        self.bounded = bounded
        self._series: dict[tuple[str, str], tuple[array, array]] = {}
        self._agents: dict[int, _AgentRecord] = {}

    def load(self, ids: list[int]) -> list[FeatureInputs]:
        rows = list(Claim.objects.filter(pk__any_of=ids).order_by("pk").values(*_CLAIM_COLUMNS, **_RELATED_COLUMNS))
        if not rows:
            return []
        lines = self._lines({row["policy_id"] for row in rows})
        earlier = self._history_rows(rows)
        new_agents = {row["agent"] for row in rows if row["agent"]} - set(self._agents)
        concluded = self._agent_rows(new_agents)
        latest = max(row["reported_at"] for row in rows)  # claims reported after every claim here never count
        asked = {row["pk"] for row in earlier if row["reported_at"] < latest} | {row["pk"] for row in concluded}
        _known_times(earlier + concluded, events_of=asked)  # one query for both
        history = self._history(earlier)
        agents = self._agent_records(new_agents, concluded)
        contacts = self._contacts(rows)
        vehicles = self._vehicles(rows)
        documents = self._documents(rows)
        comparable = self._comparable(rows)
        found = []
        for row in rows:
            covering = [limit for limit, covers in lines[row["policy_id"]] if row["loss_type"] in covers]
            has_profile = row["profile"] is not None
            inputs = FeatureInputs(
                claim_id=row["pk"],
                reported_at=row["reported_at"],
                incident_at=row["incident_at"],
                loss_type=row["loss_type"],
                amount_claimed=row["amount_claimed"],
                currency=row["currency"],
                police_report_filed=row["police_report_filed"],
                witness_count=row["witness_count"],
                reported_by_claimant=row["reported_by_id"] == row["claimant_id"],
                line_of_business=row["line"],
                policy_effective_date=row["effective"],
                policy_expiry_date=row["expiry"],
                policy_premium=row["premium"],
                covering_limit=max(covering) if covering else None,
                total_limit=sum((limit for limit, _ in lines[row["policy_id"]]), Decimal("0")),
                insured_value=row["vehicle_value"] if row["vehicle_value"] is not None else row["property_value"],
                claim_attributes=dict(row["attributes"] or {}),
                customer_attributes=dict(row["customer_attributes"] or {}) if has_profile else {},
                policy_attributes=dict(row["policy_attributes"] or {}),
                demographics={
                    "age_band": _age_band(row),
                    "sex": row["sex"] if has_profile else "",
                    "region": row["region"] if has_profile else "",
                },
            )
            inputs.comparable_count, inputs.comparable_median = comparable[row["pk"]]
            history(row, inputs)
            contacts(row, inputs)
            vehicles(row, inputs)
            documents(row, inputs)
            if row["agent"]:
                self._agent_history(agents[row["agent"]], row, inputs)
            found.append(inputs)
        return found

    @staticmethod
    def _lines(policies: set[int]) -> dict[int, list[tuple[Decimal, list]]]:
        lines = defaultdict(list)
        rows = CoverageLine.objects.filter(policy_id__any_of=policies).order_by("policy_id", "pk")
        for policy, limit, covers in rows.values_list("policy_id", "limit", "coverage__covered_loss_types"):
            lines[policy].append((limit, covers or []))
        return lines

    @staticmethod
    def _history_rows(claims: list[dict]) -> list[dict]:
        """Every claim of the claimants and of the policies of `claims` (the claim itself and later ones included)."""
        condition = Q(claimant_id__any_of={row["claimant_id"] for row in claims}) | Q(
            policy_id__any_of={row["policy_id"] for row in claims}
        )
        return list(
            Claim.objects.filter(condition)
            .order_by()
            .values(*_KNOWN_COLUMNS, "claimant_id", "policy_id", "reported_at", "amount_claimed")
        )

    @staticmethod
    def _history(rows: list[dict]):
        """The claimant's and the policy's claims reported before, with when their denial and outcome were known."""
        by_claimant, by_policy = defaultdict(list), defaultdict(list)
        for row in sorted(rows, key=lambda row: row["pk"]):
            by_claimant[row["claimant_id"]].append(row)
            by_policy[row["policy_id"]].append(row)

        def fill(claim: dict, inputs: FeatureInputs) -> None:
            pk, as_of = claim["pk"], claim["reported_at"]
            mine = [r for r in by_claimant[claim["claimant_id"]] if r["pk"] != pk and r["reported_at"] < as_of]
            inputs.claimant_prior_claims = len(mine)
            inputs.claimant_prior_amount = sum((r["amount_claimed"] for r in mine), Decimal("0"))
            inputs.claimant_prior_denied = sum(1 for r in mine if r["denied_at"] is not None and r["denied_at"] < as_of)
            inputs.claimant_prior_fraud = sum(
                1
                for r in mine
                if r["investigation_outcome"] == InvestigationOutcome.CONFIRMED_FRAUD and r["concluded_at"] < as_of
            )
            inputs.claimant_last_reported_at = max((r["reported_at"] for r in mine), default=None)
            on_policy = [r for r in by_policy[claim["policy_id"]] if r["pk"] != pk and r["reported_at"] < as_of]
            inputs.policy_prior_claims = len(on_policy)
            inputs.policy_prior_amount = sum((r["amount_claimed"] for r in on_policy), Decimal("0"))
            inputs.policy_prior_denied = sum(
                1 for r in on_policy if r["denied_at"] is not None and r["denied_at"] < as_of
            )

        return fill

    @staticmethod
    def _contacts(claims: list[dict]):
        """Other customers sharing the claimant's address (line 1 and postal code), phone, email or bank account."""
        customers = [row for row in claims if row["profile"] is not None]
        phones = {row["phone"] for row in customers if row["phone"]}
        banks = {row["bank"] for row in customers if row["bank"]}
        addresses = {(row["address"], row["postal"]) for row in customers if row["address"]}
        emails = {row["email"] for row in customers if row["email"]}
        condition = Q()
        if phones:
            condition |= Q(phone__any_of=phones)
        if banks:
            condition |= Q(bank_account__any_of=banks)
        if addresses:
            condition |= Q(
                address_line1__any_of={a for a, _ in addresses}, postal_code__any_of={z for _, z in addresses}
            )
        by_phone, by_bank, by_address, by_email = (defaultdict(set) for _ in range(4))
        if condition:
            rows = CustomerProfile.objects.filter(condition).order_by()
            for user, phone, bank, line1, postal in rows.values_list(
                "user_id", "phone", "bank_account", "address_line1", "postal_code"
            ):
                if phone in phones:
                    by_phone[phone].add(user)
                if bank in banks:
                    by_bank[bank].add(user)
                if (line1, postal) in addresses:
                    by_address[line1, postal].add(user)
        if emails:
            rows = User.objects.filter(email__any_of=emails, customer_profile__isnull=False).order_by()
            for user, email in rows.values_list("pk", "email"):
                by_email[email].add(user)

        def fill(claim: dict, inputs: FeatureInputs) -> None:
            if claim["profile"] is None:
                return
            me = {claim["claimant_id"]}
            phone = by_phone[claim["phone"]] - me if claim["phone"] else set()
            bank = by_bank[claim["bank"]] - me if claim["bank"] else set()
            address = by_address[claim["address"], claim["postal"]] - me if claim["address"] else set()
            email = by_email[claim["email"]] - me if claim["email"] else set()
            inputs.shared_phone, inputs.shared_bank_account = len(phone), len(bank)
            inputs.shared_address, inputs.shared_email = len(address), len(email)
            inputs.shared_any_contact = len(phone | bank | address | email)

        return fill

    @staticmethod
    def _vehicles(claims: list[dict]):
        vins = {row["vin"] for row in claims if row["vin"]}
        by_vin = defaultdict(list)
        if vins:
            rows = Claim.objects.filter(policy__vehicle__vin__any_of=vins).order_by()
            for row in rows.values_list("pk", "claimant_id", "reported_at", "policy__vehicle__vin"):
                by_vin[row[3]].append(row)

        def fill(claim: dict, inputs: FeatureInputs) -> None:
            inputs.has_vin = bool(claim["vin"])
            if inputs.has_vin:
                pk, as_of = claim["pk"], claim["reported_at"]
                earlier = [r for r in by_vin[claim["vin"]] if r[0] != pk and r[2] < as_of]
                inputs.vehicle_prior_claims = len(earlier)
                inputs.vehicle_other_claimants = len({r[1] for r in earlier} - {claim["claimant_id"]})

        return fill

    @staticmethod
    def _documents(claims: list[dict]):
        """The claim's documents: count, OCR confidence, documented total (as the decision engine reads it: one total
        per distinct file of a costed type, the most confident usable `total_amount`), and reuse on earlier claims."""
        documents = defaultdict(list)
        rows = ClaimDocument.objects.filter(claim_id__any_of=[row["pk"] for row in claims]).order_by("claim_id", "pk")
        for row in rows.values_list("pk", "claim_id", "sha256", "status", "document_type", "ocr_confidence"):
            documents[row[1]].append(row)
        fields = defaultdict(list)
        if documents:
            rows = ExtractedField.objects.filter(
                document__claim_id__any_of=list(documents), name__in=("total_amount", "invoice_number")
            ).order_by("document_id", "name", "pk")
            for row in rows.values_list("document_id", "name", "value", "verified_value", "needs_review", "confidence"):
                fields[row[0]].append(row)
        shas = {row[2] for rows in documents.values() for row in rows if row[2]}
        numbers = {
            value
            for rows in fields.values()
            for _, name, raw, verified, _, _ in rows
            if name == "invoice_number"
            for value in (raw, verified)
            if value
        }
        sha_claims, number_claims = defaultdict(list), defaultdict(list)
        if shas:
            rows = ClaimDocument.objects.filter(sha256__any_of=shas).order_by()
            for sha, other, reported in rows.values_list("sha256", "claim_id", "claim__reported_at"):
                sha_claims[sha].append((other, reported))
        if numbers:
            rows = ExtractedField.objects.filter(name="invoice_number", value__any_of=numbers).order_by()
            for raw, verified, other, reported in rows.values_list(
                "value", "verified_value", "document__claim_id", "document__claim__reported_at"
            ):
                number_claims[verified or raw].append((other, reported))

        def earlier(claim: dict, found: Iterable[tuple[int, datetime]]) -> int:
            pk, as_of = claim["pk"], claim["reported_at"]
            return len({other for other, reported in found if other != pk and reported < as_of})

        def fill(claim: dict, inputs: FeatureInputs) -> None:
            mine = documents.get(claim["pk"], [])
            inputs.documents = len(mine)
            inputs.documents_failed = sum(1 for row in mine if row[3] == DocumentStatus.FAILED)
            inputs.ocr_confidences = [row[5] for row in mine if row[5] is not None]
            totals: dict[str, Decimal] = {}
            own_numbers = set()
            for pk, _, sha, status, kind, _ in mine:
                own_numbers |= {row[3] or row[2] for row in fields.get(pk, []) if row[1] == "invoice_number"}
                if status != DocumentStatus.DONE or kind not in COSTED_DOCUMENT_TYPES:
                    continue
                usable = [row for row in fields.get(pk, []) if row[1] == "total_amount" and (row[3] or not row[4])]
                if usable:
                    best = max(usable, key=lambda row: row[5])  # the first of equals, as the decision engine
                    amount = _money(best[3] or best[2])
                    if amount is not None:
                        totals[sha] = amount
            inputs.documented_total = sum(totals.values(), Decimal("0")) if totals else None
            inputs.reused_document_claims = earlier(claim, (hit for row in mine for hit in sha_claims.get(row[2], [])))
            inputs.reused_invoice_claims = earlier(
                claim, (hit for number in own_numbers if number for hit in number_claims.get(number, []))
            )

        return fill

    @staticmethod
    def _agent_rows(agents: set[int]) -> list[dict]:
        """The claims of the customers of `agents` whose investigation concluded."""
        if not agents:
            return []
        return list(
            Claim.objects.filter(claimant__customer_profile__agent_id__any_of=agents)
            .exclude(investigation_outcome=InvestigationOutcome.UNKNOWN)
            .order_by()
            .values(*_KNOWN_COLUMNS, agent=F("claimant__customer_profile__agent_id"))
        )

    def _agent_records(self, agents: set[int], rows: list[dict]) -> dict[int, _AgentRecord]:
        """Each agent's record, built once per loader from `_agent_rows` (with their known times)."""
        for agent in agents:
            self._agents[agent] = _AgentRecord()
        for row in sorted(rows, key=lambda row: (row["agent"], row["concluded_at"], row["pk"])):
            record = self._agents[row["agent"]]
            record.concluded.append(_micros(row["concluded_at"]))
            record.claims.append(row["pk"])
            fraud = row["investigation_outcome"] == InvestigationOutcome.CONFIRMED_FRAUD
            record.fraud_before.append(record.fraud_before[-1] + fraud)
        return self._agents

    @staticmethod
    def _agent_history(record: _AgentRecord, claim: dict, inputs: FeatureInputs) -> None:
        before = bisect.bisect_left(record.concluded, _micros(claim["reported_at"]))
        inputs.has_agent = True
        inputs.agent_prior_concluded = before
        inputs.agent_prior_fraud = record.fraud_before[before]
        if claim["pk"] in record.claims[:before]:  # its own investigation never counts (an import may say "before")
            own = record.claims.index(claim["pk"])
            inputs.agent_prior_concluded -= 1
            inputs.agent_prior_fraud -= record.fraud_before[own + 1] - record.fraud_before[own]

    def _comparable(self, claims: list[dict]) -> dict[int, tuple[int, float | None]]:
        """(count, median) of the COMPARABLE_WINDOW claims of the same loss type and currency reported most recently
        before each claim (ties on `reported_at` broken by pk, as the series is sorted)."""
        found = {}
        if self.bounded:
            for claim in claims:
                amounts = list(
                    Claim.objects.filter(
                        loss_type=claim["loss_type"], currency=claim["currency"], reported_at__lt=claim["reported_at"]
                    )
                    .order_by("-reported_at", "-pk")
                    .values_list("amount_claimed", flat=True)[:COMPARABLE_WINDOW]
                )
                found[claim["pk"]] = (len(amounts), _median_cents(_cents(amount) for amount in amounts))
            return found
        missing = {(claim["loss_type"], claim["currency"]) for claim in claims} - set(self._series)
        if missing:
            for key in missing:
                self._series[key] = (array("q"), array("q"))
            rows = (
                Claim.objects.filter(
                    loss_type__in={loss for loss, _ in missing}, currency__in={currency for _, currency in missing}
                )
                .order_by("loss_type", "currency", "reported_at", "pk")
                .values_list("loss_type", "currency", "reported_at", "amount_claimed")
            )
            for loss, currency, reported, amount in rows.iterator(chunk_size=20_000):
                if (loss, currency) in missing:
                    times, cents = self._series[loss, currency]
                    times.append(_micros(reported))
                    cents.append(_cents(amount))
        for claim in claims:
            times, cents = self._series[claim["loss_type"], claim["currency"]]
            end = bisect.bisect_left(times, _micros(claim["reported_at"]))
            window = cents[max(0, end - COMPARABLE_WINDOW) : end]
            found[claim["pk"]] = (len(window), _median_cents(window))
        return found


def _money(value: str) -> Decimal | None:
    try:
        amount = Decimal(value)
    except (ArithmeticError, TypeError, ValueError):
        return None
    return amount if amount.is_finite() and amount > 0 else None
