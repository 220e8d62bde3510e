"""From a parsed row to the records it describes: which fields each entity takes, and their checks.

The mapping turns text into typed values; this module knows the models. It checks what the database would refuse
(lengths, choices, digits, order of dates) before anything is written, so a bad row is named with its column
instead of failing a whole batch. Checks are precomputed per field: this runs for every row of a large import.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import models

from accounts.models import CustomerProfile, User
from claims.choices import ClaimStatus, InvestigationOutcome
from claims.models import Claim
from policies.choices import PolicyStatus
from policies.models import CoverageLine, InsuredVehicle, Policy

from .mapping import Mapping, MappingError, ParsedRow, RowIssue


@dataclass(frozen=True)
class Target:
    """Where an entity's mapped field goes: the model and attname, or a reference resolved at load time."""

    model: type[models.Model]
    attname: str


# entity -> field -> target. Fields not listed here are refused when the mapping is loaded (see `check_mapping`).
ENTITY_FIELDS: dict[str, dict[str, Target | str]] = {
    "customer": {
        **{name: Target(User, name) for name in ("first_name", "last_name", "email")},
        **{
            name: Target(CustomerProfile, name)
            for name in (
                "external_reference",
                "phone",
                "date_of_birth",
                "address_line1",
                "address_line2",
                "city",
                "postal_code",
                "region",
                "country",
                "sex",
                "bank_account",
            )
        },
        "agent_licence": "reference",
    },
    "policy": {
        **{
            name: Target(Policy, name)
            for name in (
                "number",
                "status",
                "effective_date",
                "expiry_date",
                "currency",
                "premium",
                "instalment_count",
                "bound_at",
                "cancelled_on",
                "cancellation_reason",
                "lapsed_on",
            )
        },
        "product": "reference",
        "holder_reference": "reference",
        "agent_licence": "reference",
    },
    "vehicle": {name: Target(InsuredVehicle, name) for name in ("make", "model", "year", "vin", "value", "use")},
    "coverage": {
        **{name: Target(CoverageLine, name) for name in ("limit", "deductible", "premium")},
        "code": "reference",
    },
    "claim": {
        **{
            name: Target(Claim, name)
            for name in (
                "number",
                "incident_at",
                "reported_at",
                "incident_place",
                "loss_type",
                "description",
                "amount_claimed",
                "currency",
                "police_report_filed",
                "police_report_reference",
                "witness_count",
                "witness_details",
                "status",
                "priority",
                "approved_amount",
                "reserve_amount",
                "paid_amount",
                "investigation_outcome",
                "closed_at",
            )
        },
        "policy_number": "reference",
    },
}
ENTITY_MODELS = {"customer": CustomerProfile, "policy": Policy, "claim": Claim}
NATURAL_KEYS = {"customer": "external_reference", "policy": "number", "claim": "number"}
REFERENCE_KEYS = {"customer": ("policy", "holder_reference"), "policy": ("claim", "policy_number")}
USERNAME_PREFIX = "imp-"


def check_mapping(mapping: Mapping) -> dict[str, str]:
    """Refuse a mapping naming what cannot be loaded; return each field key's source column(s) for messages."""
    if mapping.record not in NATURAL_KEYS:
        raise MappingError(f"record: {mapping.record!r} cannot be imported (one of {', '.join(NATURAL_KEYS)})")
    if mapping.attributes_to and mapping.attributes_to not in ENTITY_MODELS:
        raise MappingError(f"attributes_to: {mapping.attributes_to!r} keeps no attributes")
    for spec in mapping.fields:
        if spec.attribute:
            if spec.entity not in ENTITY_MODELS:
                raise MappingError(f"{spec.key}: a {spec.entity} keeps no attributes ({', '.join(ENTITY_MODELS)} do)")
        elif spec.name not in ENTITY_FIELDS.get(spec.entity, {}):
            known = ", ".join(ENTITY_FIELDS.get(spec.entity, ENTITY_FIELDS))
            raise MappingError(f"{spec.key}: no such field (known: {known})")
    return {spec.key: spec.label for spec in mapping.fields}


# What a record's rows write besides the record itself and that belongs to it alone (keyed by its pk).
DEPENDENTS = {"policy": ("vehicle", "coverage"), "claim": ()}


def batches_write_disjoint_rows(mapping: Mapping) -> bool:
    """Whether no two batches of the mapping can write the same row, so that they may be written at once.

    True when rows write only their record (unique in a file) and what belongs to it: claims, or policies with
    their vehicle and coverage. A customer or policy written beside a claim can come back in a later batch (the
    later row must win), and customers' login names can collide across batches.
    """
    if mapping.record not in DEPENDENTS:
        return False
    allowed = {mapping.record, *DEPENDENTS[mapping.record]}
    for spec in mapping.fields:
        written = spec.attribute or isinstance(ENTITY_FIELDS.get(spec.entity, {}).get(spec.name), Target)
        if written and spec.entity not in allowed:
            return False
    return (mapping.attributes_to or mapping.record) in allowed


@dataclass
class RowRecords:
    """One accepted row: the values per entity, ready for the batch loader to resolve references and write."""

    number: int
    customer: dict[str, Any] = field(default_factory=dict)
    customer_user: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)
    vehicle: dict[str, Any] = field(default_factory=dict)
    coverage: dict[str, Any] = field(default_factory=dict)
    claim: dict[str, Any] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)


class RecordBuilder:
    """Checks one parsed row against the models and splits it into records. Built once per import."""

    def __init__(self, *, record: str, sources: dict[str, str], today: date) -> None:
        self.record = record
        self.sources = sources  # "entity.field" -> source column(s), for messages
        self.today = today
        # entity -> field -> (check or None, where the value goes): one lookup per value in `build`, which runs for
        # every row of an import.
        self.plan: dict[str, dict[str, tuple[Callable[[Any], str | None] | None, str]]] = {}
        for entity, fields in ENTITY_FIELDS.items():
            for name, target in fields.items():
                if isinstance(target, Target):
                    check = _field_check(target.model._meta.get_field(target.attname))
                    place = "customer_user" if target.model is User else entity
                else:
                    check, place = None, "references"
                self.plan.setdefault(entity, {})[name] = (check, place)

    def build(self, parsed: ParsedRow) -> tuple[RowRecords | None, list[RowIssue]]:
        issues: list[RowIssue] = []
        out = RowRecords(number=parsed.number)
        for entity, values in parsed.values.items():
            plan = self.plan.get(entity, {})
            for name, value in values.items():
                if value is None:
                    continue
                check, place = plan[name]
                if check is not None:
                    problem = check(value)
                    if problem:
                        issues.append(self._issue(entity, name, problem))
                        continue
                if place == "references":
                    out.references[f"{entity}.{name}"] = str(value)
                else:
                    getattr(out, place)[name] = value
        for entity, attributes in parsed.attributes.items():
            if attributes and entity in ENTITY_MODELS:
                getattr(out, entity)["attributes"] = {key: _json_safe(value) for key, value in attributes.items()}
        issues.extend(self._check_rules(out))
        return (None if issues else out), issues

    def _issue(self, entity: str, name: str, reason: str) -> RowIssue:
        return RowIssue(column=self.sources.get(f"{entity}.{name}", f"{entity}.{name}"), reason=reason)

    def _check_rules(self, out: RowRecords) -> list[RowIssue]:
        issues = []
        primary = getattr(out, self.record)
        key = NATURAL_KEYS[self.record]
        if not primary.get(key):
            issues.append(self._issue(self.record, key, "required"))
        if out.customer and not out.customer.get("external_reference"):
            issues.append(self._issue("customer", "external_reference", "required when the row has customer fields"))
        policy = out.policy
        if policy:
            if not policy.get("number"):
                issues.append(self._issue("policy", "number", "required"))
            effective, expiry = policy.get("effective_date"), policy.get("expiry_date")
            if effective and expiry and expiry <= effective:
                issues.append(self._issue("policy", "expiry_date", f"must be after the effective date {effective}"))
            if len(policy) > 1 and "policy.product" not in out.references:
                issues.append(self._issue("policy", "product", "required (a product code)"))
            if not out.customer and "policy.holder_reference" not in out.references and len(policy) > 1:
                issues.append(self._issue("policy", "holder_reference", "required: whose policy is it?"))
        claim = out.claim
        if claim:
            if not out.policy.get("number") and "claim.policy_number" not in out.references:
                issues.append(self._issue("claim", "policy_number", "required: which policy is claimed on?"))
            for name in ("incident_at", "loss_type", "amount_claimed"):
                if claim.get(name) is None and self.record == "claim":
                    issues.append(self._issue("claim", name, "required"))
            amount = claim.get("amount_claimed")
            if amount is not None and amount <= 0:
                issues.append(self._issue("claim", "amount_claimed", f"must be more than zero, not {amount}"))
            incident, reported = claim.get("incident_at"), claim.get("reported_at")
            if incident and reported and reported < incident:
                issues.append(self._issue("claim", "reported_at", "is before the incident"))
            if incident and incident.date() > self.today:
                issues.append(self._issue("claim", "incident_at", f"is in the future ({incident.date()})"))
        return issues


def _json_safe(value: Any) -> Any:
    """Typed attributes as JSON keeps them: exact decimals as text, dates in ISO form."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def username_for(external_reference: str) -> str:
    """Imported customers get a username derived from their reference, in a namespace people cannot sign up in."""
    return USERNAME_PREFIX + re.sub(r"[^a-z0-9@.+_-]", "-", external_reference.lower())[:140]


def as_datetime(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time(), tzinfo=UTC)


def derived_policy_status(policy: dict[str, Any], today: date) -> str:
    """An imported policy whose export gave no status: cancelled, lapsed, expired or in force, from its dates."""
    if policy.get("cancelled_on"):
        return PolicyStatus.CANCELLED
    if policy.get("lapsed_on"):
        return PolicyStatus.LAPSED
    if policy["expiry_date"] <= today:
        return PolicyStatus.EXPIRED
    return PolicyStatus.IN_FORCE


def derived_claim_status(claim: dict[str, Any]) -> str:
    """A historical claim with no status in its export is closed; one with a known investigation result too."""
    outcome = claim.get("investigation_outcome")
    if outcome == InvestigationOutcome.CONFIRMED_FRAUD:
        return ClaimStatus.DENIED
    return ClaimStatus.CLOSED


# --- Per-field checks, precomputed from the model field -----------------------------------------------------


def _field_check(f: models.Field) -> Callable[[Any], str | None]:
    choices = {str(value) for value, _ in f.flatchoices} if f.choices else None
    max_length = getattr(f, "max_length", None)

    if isinstance(f, models.DecimalField):
        limit = Decimal(10) ** (f.max_digits - f.decimal_places)
        places = Decimal(1).scaleb(-f.decimal_places)
        minimum = _min_value(f)

        def check_decimal(value: Any) -> str | None:
            if not isinstance(value, Decimal | int):
                return f"must be a number, not {value!r}"
            try:
                rounded = Decimal(value).quantize(places)
            except InvalidOperation:
                return f"{value} has too many digits"
            if abs(rounded) >= limit:
                return f"{value} is too large (at most {f.max_digits - f.decimal_places} digits before the point)"
            if rounded != value:
                return f"{value} has more than {f.decimal_places} decimal places"
            if minimum is not None and value < minimum:
                return f"must be at least {minimum}, not {value}"
            return None

        return check_decimal
    if isinstance(f, models.IntegerField):
        low, high = _integer_range(f)

        def check_integer(value: Any) -> str | None:
            if isinstance(value, bool) or not isinstance(value, int):
                return f"must be a whole number, not {value!r}"
            if choices is not None and str(value) not in choices:
                return f"{value} is not one of {', '.join(sorted(choices))}"
            if value < low or value > high:
                return f"{value} is out of range ({low} to {high})"
            return None

        return check_integer
    if isinstance(f, models.BooleanField):
        return lambda value: None if isinstance(value, bool) else f"must be yes or no, not {value!r}"
    if isinstance(f, models.DateTimeField):
        return lambda value: None if isinstance(value, datetime) else f"must be a date and time, not {value!r}"
    if isinstance(f, models.DateField):
        return lambda value: (
            None if isinstance(value, date) and not isinstance(value, datetime) else f"must be a date, not {value!r}"
        )

    def check_text(value: Any) -> str | None:
        if not isinstance(value, str):
            return f"must be text, not {value!r}"
        if choices is not None and value not in choices:
            shown = ", ".join(sorted(choices))
            return f"{value!r} is not one of {shown}"
        if max_length and len(value) > max_length:
            return f"is {len(value)} characters long; at most {max_length}"
        if "\x00" in value:
            return "contains a NUL character"
        return None

    return check_text


def _min_value(f: models.Field) -> Decimal | None:
    for validator in f.validators:
        if getattr(validator, "code", "") == "min_value":
            return Decimal(validator.limit_value)
    return None


def _integer_range(f: models.Field) -> tuple[int, int]:
    if isinstance(f, models.PositiveSmallIntegerField):
        low, high = 0, 32767
    elif isinstance(f, models.PositiveIntegerField):
        low, high = 0, 2147483647
    elif isinstance(f, models.SmallIntegerField):
        low, high = -32768, 32767
    else:
        low, high = -(2**63), 2**63 - 1
    for validator in f.validators:
        code = getattr(validator, "code", "")
        if code == "min_value":
            low = max(low, int(validator.limit_value))
        elif code == "max_value":
            high = min(high, int(validator.limit_value))
    return low, high
