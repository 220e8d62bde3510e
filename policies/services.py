"""Every write in policies: quoting, the lifecycle transitions, endorsements, payments and the scheduled runs.

Each transition locks the policy row (`select_for_update`), checks the state machine (`policies.lifecycle`),
writes the change with the actor on its history row, and records a timeline event, all in one transaction; of
two concurrent transitions on one policy, the second sees the first's result and is refused with 409.
Emails go out after commit.
"""

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils import timezone

from insurance.core.audit import acting_as
from insurance.core.exceptions import ConflictError, ServiceError, field_error, required_text

from . import events, lifecycle
from .choices import (
    EndorsementKind,
    InstalmentStatus,
    LineOfBusiness,
    PolicyStatus,
    ReferralStatus,
    UnderwritingOutcome,
    VehicleUse,
)
from .models import (
    CoverageLine,
    Endorsement,
    Instalment,
    InsuredPerson,
    InsuredProperty,
    InsuredVehicle,
    Policy,
    Product,
    Referral,
)
from .notifications import notify_after_commit
from .numbering import next_number
from .rating import LineRequest, money, pro_rata, rate, rating_inputs
from .underwriting import evaluate

logger = logging.getLogger(__name__)
# Renewal quotes that no longer stand in the way of offering another.
DEAD_QUOTES = (PolicyStatus.QUOTE_EXPIRED, PolicyStatus.DECLINED)
CANCELLATION_BALANCE = "Balance of earned premium on cancellation"

MAX_INSURED_VALUE = Decimal("100000000")
MAX_LIMIT = Decimal("1000000000")
INSTALMENT_COUNTS = (1, 2, 4, 12)
VIN_ALPHABET = set("ABCDEFGHJKLMNPRSTUVWXYZ0123456789")  # no I, O or Q


def _today(today: date | None) -> date:
    return today or timezone.localdate()


# --- validation of the insured risk -------------------------------------------------------------------------


def _money_in_range(field: str, value, *, low: Decimal = Decimal("0"), high: Decimal = MAX_INSURED_VALUE) -> Decimal:
    amount = _amount(field, value)
    if amount <= low or amount > high:
        raise field_error(field, f"must be more than {low} and at most {high}")
    return amount


def _whole_number(field: str, value) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise field_error(field, "must be a whole number") from None


def _amount(field: str, value) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, TypeError, ValueError):
        raise field_error(field, "must be a number") from None
    if not amount.is_finite():
        raise field_error(field, "must be a number")
    return money(amount)


def _clean_vehicle(vehicle: dict, *, effective_date: date) -> dict:
    missing = [name for name in ("make", "model", "year", "vin", "value") if not vehicle.get(name)]
    if missing:
        raise field_error(f"vehicle.{missing[0]}", "is required")
    year = _whole_number("vehicle.year", vehicle["year"])
    if not 1900 <= year <= effective_date.year + 1:
        raise field_error("vehicle.year", f"must be between 1900 and {effective_date.year + 1}")
    vin = str(vehicle["vin"]).strip().upper()
    if len(vin) != 17 or not set(vin) <= VIN_ALPHABET:
        raise field_error("vehicle.vin", "must be 17 letters and digits (no I, O or Q)")
    return {
        "make": str(vehicle["make"]).strip(),
        "model": str(vehicle["model"]).strip(),
        "year": year,
        "vin": vin,
        "value": _money_in_range("vehicle.value", vehicle["value"]),
        "use": _vehicle_use(vehicle.get("use") or VehicleUse.PRIVATE),
    }


def _vehicle_use(value: str) -> str:
    if value not in VehicleUse.values:
        raise field_error("vehicle.use", f"must be one of {', '.join(VehicleUse.values)}")
    return value


def _clean_property(prop: dict, *, effective_date: date) -> dict:
    missing = [
        name for name in ("address_line1", "city", "postal_code", "construction_year", "value") if not prop.get(name)
    ]
    if missing:
        raise field_error(f"property.{missing[0]}", "is required")
    year = _whole_number("property.construction_year", prop["construction_year"])
    if not 1600 <= year <= effective_date.year:
        raise field_error("property.construction_year", f"must be between 1600 and {effective_date.year}")
    return {
        "address_line1": str(prop["address_line1"]).strip(),
        "city": str(prop["city"]).strip(),
        "postal_code": str(prop["postal_code"]).strip(),
        "region": str(prop.get("region") or "").strip(),
        "construction_year": year,
        "value": _money_in_range("property.value", prop["value"]),
    }


def _clean_person(person: dict, *, effective_date: date) -> dict:
    if not person.get("full_name") or not person.get("date_of_birth"):
        raise field_error("person.date_of_birth" if person.get("full_name") else "person.full_name", "is required")
    born = person["date_of_birth"]
    if isinstance(born, str):
        try:
            born = date.fromisoformat(born)
        except ValueError:
            raise field_error("person.date_of_birth", "must be a date (YYYY-MM-DD)") from None
    if born >= effective_date or (effective_date.year - born.year) > 120:
        raise field_error("person.date_of_birth", "must be in the past and within 120 years")
    return {
        "full_name": str(person["full_name"]).strip(),
        "date_of_birth": born,
        "smoker": bool(person.get("smoker", False)),
        "health_declarations": list(person.get("health_declarations") or []),
    }


RISK_OF_LINE = {
    LineOfBusiness.AUTO: "vehicle",
    LineOfBusiness.HOME: "property",
    LineOfBusiness.HEALTH: "person",
    LineOfBusiness.LIFE: "person",
}


def _clean_lines(product: Product, requested: list[dict] | None) -> list[LineRequest]:
    offered = {coverage.code: coverage for coverage in product.coverages.all()}
    chosen: dict[str, dict] = {}
    for index, item in enumerate(requested or []):
        code = item.get("coverage")
        if code not in offered:
            raise field_error(f"coverages[{index}].coverage", f"{code!r} is not offered by {product.code}")
        if code in chosen:
            raise field_error(f"coverages[{index}].coverage", f"{code!r} is listed twice")
        chosen[code] = item
    lines = []
    for code, coverage in offered.items():
        if code not in chosen and not coverage.is_mandatory:
            continue
        item = chosen.get(code, {})
        limit = _amount("coverages", item.get("limit") or coverage.default_limit)
        deductible = _amount(
            "coverages", item.get("deductible") if item.get("deductible") is not None else coverage.default_deductible
        )
        high = coverage.max_limit or MAX_LIMIT
        if not coverage.min_limit <= limit <= high or limit <= 0:
            raise field_error("coverages", f"{code}: the limit must be between {coverage.min_limit} and {high}")
        if deductible < 0 or deductible >= limit:
            raise field_error("coverages", f"{code}: the deductible must be at least 0 and below the limit")
        lines.append(LineRequest(coverage=coverage, limit=limit, deductible=deductible))
    if not lines:
        raise field_error("coverages", "choose at least one coverage")
    return lines


def _territory(holder, prop: dict | None, override: str | None = None) -> str:
    if override:
        return override
    if prop and prop.get("region"):
        return prop["region"]
    profile = getattr(holder, "customer_profile", None)
    return profile.region if profile else ""


def _term_fraction(product: Product, effective_date: date, expiry_date: date) -> Decimal:
    """The share of the product's full term that a policy runs (1 for a full term)."""
    full_days = (effective_date + relativedelta(months=product.term_months) - effective_date).days
    return (Decimal((expiry_date - effective_date).days) / Decimal(full_days)).quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class _Priced:
    inputs: dict
    result: object
    outcome: str
    reasons: list[dict]


def _price(
    *,
    product,
    holder,
    effective_date,
    lines,
    risk: dict,
    prior_claims_3y: int,
    territory: str,
    term_fraction: Decimal = Decimal("1"),
    fixed_inputs: dict | None = None,
) -> _Priced:
    profile = getattr(holder, "customer_profile", None)
    inputs = rating_inputs(
        effective_date=effective_date,
        holder_date_of_birth=profile.date_of_birth if profile else None,
        territory=territory,
        prior_claims_3y=prior_claims_3y,
        **risk,
    )
    inputs.update(fixed_inputs or {})  # values rated at inception that later edits must not change
    result = rate(product=product, lines=lines, inputs=inputs, term_fraction=term_fraction)
    rule_inputs = {
        **inputs,
        "limit": str(max(line.limit for line in lines)),
        "deductible": str(min(line.deductible for line in lines)),
    }
    outcome, reasons = evaluate(product=product, inputs=rule_inputs)
    return _Priced(inputs=inputs, result=result, outcome=outcome, reasons=reasons)


# --- quoting -------------------------------------------------------------------------------------------------


@transaction.atomic
def quote_create(
    *,
    actor,
    product: Product,
    holder,
    effective_date: date,
    expiry_date: date | None = None,
    coverages: list[dict] | None = None,
    vehicle: dict | None = None,
    property: dict | None = None,
    person: dict | None = None,
    prior_claims_3y: int = 0,
    instalment_count: int = 1,
    agent=None,
    renewal_of: Policy | None = None,
    today: date | None = None,
) -> Policy:
    """Price a quote and run the underwriting rules: a QUOTE, a REFERRED quote waiting for an underwriter, or a
    DECLINED one. Every quote keeps its rating inputs and breakdown. The term is the product's unless a shorter
    `expiry_date` is asked for, which is priced pro rata."""
    today = _today(today)
    if not product.is_active:
        raise field_error("product", f"{product.code} is not on sale")
    profile = getattr(holder, "customer_profile", None)
    if profile is None:
        raise field_error("holder", "is not a customer")
    if renewal_of is None and not today <= effective_date <= today + timedelta(days=365):
        raise field_error("effective_date", "must be between today and a year from today")
    full_expiry = effective_date + relativedelta(months=product.term_months)
    expiry_date = expiry_date or full_expiry
    if expiry_date <= effective_date:
        raise field_error("expiry_date", "must be after effective_date")
    if expiry_date > full_expiry:
        raise field_error("expiry_date", f"must be within the product's term of {product.term_months} months")
    term_fraction = _term_fraction(product, effective_date, expiry_date)
    if instalment_count not in INSTALMENT_COUNTS:
        raise field_error("instalment_count", f"must be one of {INSTALMENT_COUNTS}")
    if not 0 <= int(prior_claims_3y) <= 50:
        raise field_error("prior_claims_3y", "must be between 0 and 50")
    risk_kind = RISK_OF_LINE[product.line_of_business]
    given = {"vehicle": vehicle, "property": property, "person": person}
    for kind, value in given.items():
        if value and kind != risk_kind:
            raise field_error(kind, f"a {product.get_line_of_business_display()} product insures a {risk_kind}")
    if not given[risk_kind]:
        raise field_error(risk_kind, "is required")
    cleaner = {"vehicle": _clean_vehicle, "property": _clean_property, "person": _clean_person}[risk_kind]
    risk = {risk_kind: cleaner(given[risk_kind], effective_date=effective_date)}
    lines = _clean_lines(product, coverages)
    priced = _price(
        product=product,
        holder=holder,
        effective_date=effective_date,
        lines=lines,
        risk=risk,
        prior_claims_3y=int(prior_claims_3y),
        territory=_territory(holder, risk.get("property")),
        term_fraction=term_fraction,
    )
    status = {
        UnderwritingOutcome.PASS: PolicyStatus.QUOTE,
        UnderwritingOutcome.REFER: PolicyStatus.REFERRED,
        UnderwritingOutcome.DECLINE: PolicyStatus.DECLINED,
    }[priced.outcome]

    with acting_as(actor):
        policy = Policy.objects.create(
            number=next_number("POL", year=today.year),
            product=product,
            holder=holder,
            agent=agent or profile.agent,
            status=status,
            effective_date=effective_date,
            expiry_date=expiry_date,
            quote_expires_on=today + timedelta(days=product.quote_validity_days),
            currency=product.currency,
            premium=priced.result.premium,
            rating_inputs=priced.inputs,
            rating_breakdown=priced.result.breakdown,
            underwriting_outcome=priced.outcome,
            underwriting_reasons=priced.reasons,
            instalment_count=instalment_count,
            renewal_of=renewal_of,
        )
        for line in priced.result.lines:
            CoverageLine.objects.create(
                policy=policy,
                coverage=line.coverage,
                limit=line.limit,
                deductible=line.deductible,
                premium=line.premium,
            )
        _save_risk(policy, risk)
        if status == PolicyStatus.REFERRED:
            Referral.objects.create(policy=policy, reasons=priced.reasons)
        message = {
            PolicyStatus.QUOTE: f"Quoted {policy.premium} {policy.currency}",
            PolicyStatus.REFERRED: "Quote referred to an underwriter",
            PolicyStatus.DECLINED: "Quote declined by the underwriting rules",
        }[status]
        events.record(
            policy=policy,
            kind="quoted",
            actor=actor,
            message=message,
            outcome=priced.outcome,
            reasons=[reason["code"] for reason in priced.reasons],
        )
    return policy


def _save_risk(policy: Policy, risk: dict) -> None:
    if "vehicle" in risk:
        InsuredVehicle.objects.update_or_create(policy=policy, defaults=risk["vehicle"])
    if "property" in risk:
        InsuredProperty.objects.update_or_create(policy=policy, defaults=risk["property"])
    if "person" in risk:
        InsuredPerson.objects.update_or_create(policy=policy, defaults=risk["person"])


def _current_risk(policy: Policy) -> dict:
    if hasattr(policy, "vehicle"):
        vehicle = policy.vehicle
        return {
            "vehicle": {
                "make": vehicle.make,
                "model": vehicle.model,
                "year": vehicle.year,
                "vin": vehicle.vin,
                "value": vehicle.value,
                "use": vehicle.use,
            }
        }
    if hasattr(policy, "property"):
        prop = policy.property
        return {
            "property": {
                "address_line1": prop.address_line1,
                "city": prop.city,
                "postal_code": prop.postal_code,
                "region": prop.region,
                "construction_year": prop.construction_year,
                "value": prop.value,
            }
        }
    person = policy.insured_person
    return {
        "person": {
            "full_name": person.full_name,
            "date_of_birth": person.date_of_birth,
            "smoker": person.smoker,
            "health_declarations": person.health_declarations,
        }
    }


# --- transitions -----------------------------------------------------------------------------------------------


def _lock(policy: Policy, action: str) -> tuple[Policy, str]:
    """Lock the row, re-read it, and check the transition against the state as it is now."""
    locked = Policy.objects.select_for_update(of=("self",)).select_related("product", "holder").get(pk=policy.pk)
    return locked, lifecycle.check(locked.status, action)


def instalment_schedule(
    *, premium: Decimal, count: int, effective_date: date, expiry_date: date, term_months: int
) -> list[tuple]:
    """(due date, amount) pairs: equal instalments, the rounding remainder on the first, all due within the term
    (monthly steps for a full term that divides evenly, else evenly spaced days)."""
    share = money(premium / count)
    if share * count > premium:
        share -= Decimal("0.01")
    first = premium - share * (count - 1)
    full_term = effective_date + relativedelta(months=term_months) == expiry_date
    step = relativedelta(months=term_months // count) if full_term and term_months % count == 0 else None
    days = (expiry_date - effective_date).days
    schedule = []
    for index in range(count):
        due = effective_date + (step * index if step else timedelta(days=index * days // count))
        schedule.append((due, first if index == 0 else share))
    return schedule


@transaction.atomic
def policy_bind(*, actor, policy: Policy, today: date | None = None) -> Policy:
    """Issue the policy: the quote goes in force and its instalments are scheduled. Cover never starts before the
    day it is bound (no retroactive cover); a renewal's previous term becomes RENEWED when it expires."""
    today = _today(today)
    policy, target = _lock(policy, "bind")
    if policy.quote_expires_on and policy.quote_expires_on < today:
        raise ConflictError(
            f"The quote expired on {policy.quote_expires_on}; ask for a new quote.", code="quote_expired"
        )
    if policy.effective_date < today:
        raise ConflictError(
            f"The quote's cover was to start on {policy.effective_date}, which has passed; ask for a new quote.",
            code="effective_date_passed",
        )
    with acting_as(actor):
        policy.status = target
        policy.bound_at = timezone.now()
        policy.save()
        for sequence, (due, amount) in enumerate(
            instalment_schedule(
                premium=policy.premium,
                count=policy.instalment_count,
                effective_date=policy.effective_date,
                expiry_date=policy.expiry_date,
                term_months=policy.product.term_months,
            ),
            start=1,
        ):
            Instalment.objects.create(policy=policy, sequence=sequence, due_date=due, amount=amount)
        events.record(policy=policy, kind="bound", actor=actor, message=f"Policy issued, premium {policy.premium}")
        if policy.renewal_of_id:
            events.record(
                policy=policy.renewal_of,
                kind="renewal_bound",
                actor=actor,
                message=f"Renewal {policy.number} bound from {policy.effective_date}",
            )
    notify_after_commit(policy, "issued")
    return policy


@transaction.atomic
def referral_approve(*, actor, policy: Policy, reason: str, today: date | None = None) -> Policy:
    """An underwriter accepts a referred quote (or overrides a decline); the quote's validity starts again."""
    reason = required_text(reason)
    policy, target = _lock(policy, "approve_referral")
    referral = policy.referrals.filter(status=ReferralStatus.PENDING).first()
    with acting_as(actor):
        if referral is None:  # overriding an automatic decline
            referral = Referral(policy=policy, reasons=policy.underwriting_reasons, is_override=True)
        referral.status = ReferralStatus.APPROVED
        referral.decided_by = actor
        referral.decided_at = timezone.now()
        referral.decision_reason = reason
        referral.save()
        policy.status = target
        policy.quote_expires_on = _today(today) + timedelta(days=policy.product.quote_validity_days)
        policy.save()
        kind = "decline_overridden" if referral.is_override else "referral_approved"
        events.record(policy=policy, kind=kind, actor=actor, message=f"Approved by an underwriter: {reason}")
    return policy


@transaction.atomic
def referral_decline(*, actor, policy: Policy, reason: str) -> Policy:
    reason = required_text(reason)
    policy, target = _lock(policy, "decline_referral")
    with acting_as(actor):
        for referral in policy.referrals.filter(status=ReferralStatus.PENDING):
            referral.status = ReferralStatus.DECLINED
            referral.decided_by = actor
            referral.decided_at = timezone.now()
            referral.decision_reason = reason
            referral.save()
        policy.status = target
        policy.save()
        events.record(policy=policy, kind="referral_declined", actor=actor, message=f"Declined: {reason}")
    return policy


@transaction.atomic
def quote_expire(*, actor, policy: Policy, today: date | None = None) -> Policy:
    today = _today(today)
    policy, target = _lock(policy, "expire_quote")
    if policy.quote_expires_on and policy.quote_expires_on >= today:
        raise ConflictError(f"The quote is valid until {policy.quote_expires_on}.", code="quote_still_valid")
    with acting_as(actor):
        policy.status = target
        policy.save()
        events.record(policy=policy, kind="quote_expired", actor=actor, message="Quote expired unaccepted")
    return policy


@transaction.atomic
def policy_endorse(
    *,
    actor,
    policy: Policy,
    kind: str,
    effective_date: date,
    changes: dict,
    reason: str = "",
    today: date | None = None,
) -> Endorsement:
    """Change the policy mid-term, re-rate it from `effective_date`, and charge or credit the difference
    pro rata for the rest of the term.

    Only underwriters may backdate a change, and a change the underwriting rules would refer or decline needs one
    (their override is recorded with its reason). The holder's age stays as rated at inception, so editing a
    profile cannot re-price a policy.
    """
    today = _today(today)
    policy, _ = _lock(policy, "endorse")
    if kind not in EndorsementKind.values:
        raise field_error("kind", f"must be one of {', '.join(EndorsementKind.values)}")
    if not isinstance(changes, dict):
        raise field_error("changes", "must be an object")
    if not policy.effective_date <= effective_date < policy.expiry_date:
        raise field_error("effective_date", f"must be within the term {policy.effective_date} to {policy.expiry_date}")
    if effective_date < today and not _is_staff_actor(actor):
        raise field_error("effective_date", "only an underwriter may backdate an endorsement")
    risk = _current_risk(policy)
    territory_override = policy.rating_inputs.get("territory")
    lines = [
        LineRequest(line.coverage, line.limit, line.deductible)
        for line in policy.coverage_lines.select_related("coverage")
    ]

    if kind == EndorsementKind.VEHICLE:
        if "vehicle" not in risk:
            raise field_error("kind", "this policy insures no vehicle")
        risk["vehicle"] = _clean_vehicle({**risk["vehicle"], **changes}, effective_date=policy.effective_date)
    elif kind == EndorsementKind.ADDRESS:
        if not str(changes.get("region") or "").strip():
            raise field_error("changes.region", "is required for a change of address")
        territory_override = str(changes["region"]).strip()
        if "property" in risk:
            risk["property"] = _clean_property({**risk["property"], **changes}, effective_date=policy.effective_date)
    else:
        code = changes.get("coverage")
        field = "limit" if kind == EndorsementKind.LIMIT else "deductible"
        if field not in changes:
            raise field_error(f"changes.{field}", "is required")
        index = next((i for i, line in enumerate(lines) if line.coverage.code == code), None)
        if index is None:
            raise field_error("changes.coverage", f"{code!r} is not on this policy")
        requested = [
            {"coverage": item.coverage.code, "limit": item.limit, "deductible": item.deductible} for item in lines
        ]
        requested[index][field] = changes[field]
        lines = _clean_lines(policy.product, requested)

    priced = _price(
        product=policy.product,
        holder=policy.holder,
        effective_date=policy.effective_date,
        lines=lines,
        risk=risk,
        prior_claims_3y=policy.rating_inputs.get("prior_claims_3y", 0),
        territory=territory_override or _territory(policy.holder, risk.get("property")),
        term_fraction=_term_fraction(policy.product, policy.effective_date, policy.expiry_date),
        fixed_inputs={key: policy.rating_inputs[key] for key in ("holder_age",) if key in policy.rating_inputs},
    )
    override_codes = [item["code"] for item in priced.reasons]
    if priced.outcome != UnderwritingOutcome.PASS:
        if not _is_staff_actor(actor):
            raise ConflictError(
                f"This change needs an underwriter ({', '.join(override_codes)}).", code="needs_underwriter"
            )
        if not reason.strip():
            raise field_error("reason", f"an underwriting override ({', '.join(override_codes)}) needs a reason")

    before = policy.premium
    after = priced.result.premium
    difference = pro_rata(after - before, days=(policy.expiry_date - effective_date).days, term_days=policy.term_days)
    with acting_as(actor):
        _save_risk(policy, risk)
        for rated in priced.result.lines:
            CoverageLine.objects.update_or_create(
                policy=policy,
                coverage=rated.coverage,
                defaults={"limit": rated.limit, "deductible": rated.deductible, "premium": rated.premium},
            )
        policy.premium = after
        policy.rating_inputs = priced.inputs
        policy.rating_breakdown = priced.result.breakdown
        policy.version += 1
        policy.save()
        endorsement = Endorsement.objects.create(
            policy=policy,
            version=policy.version,
            kind=kind,
            effective_date=effective_date,
            changes={key: str(value) for key, value in changes.items()},
            reason=reason,
            premium_before=before,
            premium_after=after,
            premium_difference=difference,
            rating_breakdown=priced.result.breakdown,
        )
        if difference:
            Instalment.objects.create(
                policy=policy,
                sequence=_next_sequence(policy),
                due_date=max(effective_date, today),
                amount=difference,
                note=f"Endorsement v{policy.version}",
            )
        if priced.outcome != UnderwritingOutcome.PASS:
            events.record(
                policy=policy,
                kind="underwriting_override",
                actor=actor,
                message=f"Underwriting override ({', '.join(override_codes)}): {reason}",
                reasons=override_codes,
            )
        events.record(
            policy=policy,
            kind="endorsed",
            actor=actor,
            message=f"Endorsed ({kind}) from {effective_date}: premium {before} → {after}, difference {difference}",
            version=policy.version,
            difference=str(difference),
        )
    return endorsement


@transaction.atomic
def policy_offer_renewal(*, actor, policy: Policy, today: date | None = None) -> Policy:
    """Offer the next term: a new quote, re-rated and re-underwritten, starting when this policy ends."""
    policy, _ = _lock(policy, "renew")
    if policy.renewals.exclude(status__in=DEAD_QUOTES).exists():
        raise ConflictError(f"A renewal of {policy.number} has already been offered.", code="renewal_exists")
    lines = [
        {"coverage": line.coverage.code, "limit": line.limit, "deductible": line.deductible}
        for line in policy.coverage_lines.select_related("coverage")
    ]
    renewal = quote_create(
        actor=actor,
        product=policy.product,
        holder=policy.holder,
        effective_date=policy.expiry_date,
        coverages=lines,
        prior_claims_3y=policy.rating_inputs.get("prior_claims_3y", 0),
        instalment_count=policy.instalment_count,
        agent=policy.agent,
        renewal_of=policy,
        today=today,
        **_current_risk(policy),
    )
    with acting_as(actor):
        events.record(
            policy=policy,
            kind="renewal_offered",
            actor=actor,
            message=f"Renewal offered: {renewal.number} at {renewal.premium}",
            renewal=renewal.number,
        )
    notify_after_commit(renewal, "renewal_offer")
    return renewal


def _is_staff_actor(actor) -> bool:
    """Underwriters and admins may backdate; customers and agents act from today."""
    if getattr(actor, "is_system", False):
        return True
    return bool(getattr(actor, "has_perm", None) and actor.has_perm("policies.underwrite_policy"))


@transaction.atomic
def policy_cancel(
    *, actor, policy: Policy, reason: str, effective_date: date | None = None, today: date | None = None
) -> Policy:
    """Cancel from `effective_date` (default today; only underwriters may backdate, nobody may post-date).

    The earned premium is the premium pro rata for the days covered. Every instalment still due is voided; when more
    was paid than earned the difference is refunded, when less, one balance instalment is due on the cancellation
    date for what is owed.
    """
    reason = required_text(reason)
    today = _today(today)
    policy, target = _lock(policy, "cancel")
    # A policy that has not started yet is cancelled from its start (a full refund).
    earliest_allowed_now = max(today, policy.effective_date)
    cancel_on = effective_date or earliest_allowed_now
    if cancel_on > earliest_allowed_now:
        raise field_error("effective_date", "cannot be in the future: cancel on the day")
    if cancel_on < today and not _is_staff_actor(actor):
        raise field_error("effective_date", "only an underwriter may backdate a cancellation")
    if not policy.effective_date <= cancel_on <= policy.expiry_date:
        raise field_error("effective_date", f"must be within the term {policy.effective_date} to {policy.expiry_date}")
    unearned = pro_rata(policy.premium, days=(policy.expiry_date - cancel_on).days, term_days=policy.term_days)
    earned = policy.premium - unearned
    paid = sum(policy.instalments.filter(status=InstalmentStatus.PAID).values_list("amount", flat=True), Decimal("0"))
    balance = paid - earned
    with acting_as(actor):
        voided = Decimal("0")
        for instalment in policy.instalments.filter(status=InstalmentStatus.DUE):
            voided += instalment.amount
            instalment.status = InstalmentStatus.VOID
            instalment.note = (instalment.note + " (voided on cancellation)").strip()[:200]
            instalment.save()
        if balance < 0:
            Instalment.objects.create(
                policy=policy,
                sequence=_next_sequence(policy),
                due_date=cancel_on,
                amount=-balance,
                note=CANCELLATION_BALANCE,
            )
        policy.status = target
        policy.cancelled_on = cancel_on
        policy.cancellation_reason = reason
        policy.refund_amount = max(balance, Decimal("0.00"))
        policy.save()
        events.record(
            policy=policy,
            kind="cancelled",
            actor=actor,
            message=f"Cancelled from {cancel_on}: {reason}; refund {policy.refund_amount}",
            earned=str(earned),
            paid=str(paid),
            voided=str(voided),
            refund=str(policy.refund_amount),
            owed=str(max(-balance, Decimal("0.00"))),
        )
    notify_after_commit(policy, "cancelled")
    return policy


def _next_sequence(policy: Policy) -> int:
    return (policy.instalments.order_by("-sequence").values_list("sequence", flat=True).first() or 0) + 1


def _overdue(policy: Policy, *, before: date):
    return policy.instalments.filter(status=InstalmentStatus.DUE, amount__gt=0, due_date__lt=before)


@transaction.atomic
def policy_lapse(*, actor, policy: Policy, today: date | None = None) -> Policy:
    """Lapse a policy with an instalment unpaid past the product's grace period."""
    today = _today(today)
    policy, target = _lock(policy, "lapse")
    grace = timedelta(days=policy.product.grace_period_days)
    oldest = _overdue(policy, before=today - grace).order_by("due_date").first()
    if oldest is None:
        raise ConflictError("No instalment is unpaid past the grace period.", code="nothing_overdue")
    with acting_as(actor):
        policy.status = target
        policy.lapsed_on = lifecycle.lapses_on(oldest.due_date, policy.product.grace_period_days)
        policy.save()
        events.record(policy=policy, kind="lapsed", actor=actor, message="Lapsed: instalment unpaid after grace")
    notify_after_commit(policy, "lapsed")
    return policy


@transaction.atomic
def policy_expire(*, actor, policy: Policy, today: date | None = None) -> Policy:
    today = _today(today)
    policy, target = _lock(policy, "expire")
    if policy.expiry_date > today:
        raise ConflictError(f"The term runs until {policy.expiry_date}.", code="term_not_ended")
    renewal = policy.renewals.filter(status=PolicyStatus.IN_FORCE).first()
    if renewal is not None:
        target = lifecycle.check(policy.status, "mark_renewed")
    with acting_as(actor):
        policy.status = target
        policy.save()
        message = f"Term ended; continued by {renewal.number}" if renewal else "Term ended"
        events.record(policy=policy, kind="renewed" if renewal else "expired", actor=actor, message=message)
    return policy


@transaction.atomic
def policy_reinstate(*, actor, policy: Policy, reason: str, today: date | None = None) -> Policy:
    """Put a cancelled or lapsed policy back in force, within the product's window.

    A lapsed policy must have its arrears paid first. A cancellation is undone: the instalments it voided are due
    again (those already past due from today, with the usual grace period), a balance it charged is voided (or
    credited if it was paid), and a refund it granted is charged back.
    """
    reason = required_text(reason)
    today = _today(today)
    policy, target = _lock(policy, "reinstate")
    ended_on = policy.cancelled_on if policy.status == PolicyStatus.CANCELLED else policy.lapsed_on
    window = timedelta(days=policy.product.reinstatement_window_days)
    if ended_on is None or today > ended_on + window:
        raise ConflictError(f"The reinstatement window of {window.days} days has closed.", code="window_closed")
    if today >= policy.expiry_date:
        raise ConflictError("The term has ended; offer a new policy instead.", code="term_ended")
    if policy.status == PolicyStatus.LAPSED:
        arrears = list(_overdue(policy, before=today).values_list("sequence", flat=True))
        if arrears:
            raise ConflictError(
                f"Pay the overdue instalments first: {', '.join(f'#{n}' for n in arrears)}.", code="arrears"
            )
    with acting_as(actor):
        if policy.status == PolicyStatus.CANCELLED:
            for instalment in policy.instalments.filter(
                status=InstalmentStatus.VOID, note__endswith="(voided on cancellation)"
            ):
                instalment.status = InstalmentStatus.DUE
                instalment.note = instalment.note.removesuffix("(voided on cancellation)").strip()
                if instalment.due_date < today:
                    instalment.due_date = today
                    instalment.note = (instalment.note + " (rescheduled on reinstatement)").strip()
                instalment.save()
            for balance in policy.instalments.filter(note=CANCELLATION_BALANCE).exclude(status=InstalmentStatus.VOID):
                if balance.status == InstalmentStatus.PAID:
                    Instalment.objects.create(
                        policy=policy,
                        sequence=_next_sequence(policy),
                        due_date=today,
                        amount=-balance.amount,
                        note="Cancellation balance credited back",
                    )
                else:
                    balance.status = InstalmentStatus.VOID
                    balance.note = "Balance cancelled by reinstatement"
                    balance.save()
            if policy.refund_amount:
                Instalment.objects.create(
                    policy=policy,
                    sequence=_next_sequence(policy),
                    due_date=today,
                    amount=policy.refund_amount,
                    note="Cancellation refund charged back",
                )
            policy.cancelled_on = None
            policy.cancellation_reason = ""
            policy.refund_amount = None
        policy.lapsed_on = None
        policy.status = target
        policy.save()
        events.record(
            policy=policy,
            kind="reinstated",
            actor=actor,
            message=f"Reinstated: {reason}",
            without_cover_from=str(ended_on),
            without_cover_to=str(today),
        )
    return policy


@transaction.atomic
def instalment_pay(*, actor, policy: Policy, sequence: int, amount: Decimal, reference: str) -> Instalment:
    """Record a payment received for one instalment (by the finance team or a payment integration): the amount
    must be the instalment's, and the payment reference is kept."""
    reference = required_text(reference, "reference")
    policy = Policy.objects.select_for_update().get(pk=policy.pk)
    if policy.status not in {PolicyStatus.IN_FORCE, PolicyStatus.LAPSED, PolicyStatus.CANCELLED}:
        raise ConflictError(
            f"Payments are taken on policies in force, lapsed or cancelled, not {policy.status}.", code="not_payable"
        )
    instalment = policy.instalments.filter(sequence=sequence).first()
    if instalment is None:
        raise field_error("sequence", f"no instalment #{sequence} on {policy.number}")
    if instalment.status != InstalmentStatus.DUE:
        raise ConflictError(f"Instalment #{sequence} is {instalment.status}.", code="not_due")
    if _amount("amount", amount) != instalment.amount:
        raise field_error("amount", f"instalment #{sequence} is {instalment.amount}")
    with acting_as(actor):
        instalment.status = InstalmentStatus.PAID
        instalment.paid_at = timezone.now()
        instalment.payment_reference = reference[:60]
        instalment.save()
        events.record(
            policy=policy,
            kind="instalment_paid",
            actor=actor,
            message=f"Instalment #{sequence} paid: {instalment.amount} (ref. {instalment.payment_reference})",
        )
    return instalment


# --- scheduled runs (Celery beat): each is idempotent, one transaction per policy ----------------------------


def _run(action, candidates, *, actor, **kwargs) -> int:
    done = 0
    for policy in candidates:
        try:
            action(actor=actor, policy=policy, **kwargs)
        except ServiceError as error:  # changed by someone else first, or no longer qualifies
            logger.info("%s skipped policy %s: %s", action.__name__, policy.pk, error.message)
            continue
        done += 1
    return done


def expire_stale_quotes(*, actor, today: date | None = None) -> int:
    today = _today(today)
    stale = Policy.objects.filter(
        status__in=[PolicyStatus.QUOTE, PolicyStatus.REFERRED], quote_expires_on__lt=today
    ).only("pk")
    return _run(quote_expire, list(stale), actor=actor, today=today)


def lapse_unpaid_policies(*, actor, today: date | None = None) -> int:
    today = _today(today)
    candidates = []
    for product in Product.objects.all():
        cutoff = today - timedelta(days=product.grace_period_days)
        candidates += list(
            Policy.objects.filter(
                product=product,
                status=PolicyStatus.IN_FORCE,
                instalments__status=InstalmentStatus.DUE,
                instalments__amount__gt=0,
                instalments__due_date__lt=cutoff,
            )
            .distinct()
            .only("pk")
        )
    return _run(policy_lapse, candidates, actor=actor, today=today)


def offer_renewals(*, actor, today: date | None = None) -> int:
    today = _today(today)
    candidates = []
    for product in Product.objects.filter(is_active=True):
        horizon = today + timedelta(days=product.renewal_offer_days)
        candidates += list(
            Policy.objects.filter(
                product=product,
                status=PolicyStatus.IN_FORCE,
                expiry_date__lte=horizon,
                expiry_date__gt=today,
            )
            .exclude(
                pk__in=Policy.objects.filter(renewal_of__isnull=False)
                .exclude(status__in=DEAD_QUOTES)
                .values("renewal_of")
            )
            .only("pk")
        )
    return _run(policy_offer_renewal, candidates, actor=actor, today=today)


def expire_ended_policies(*, actor, today: date | None = None) -> int:
    today = _today(today)
    ended = Policy.objects.filter(status=PolicyStatus.IN_FORCE, expiry_date__lte=today).only("pk")
    return _run(policy_expire, list(ended), actor=actor, today=today)
