"""Policies: the policy row with its rating, coverage lines, insured vehicle, property or person, and instalments.

Premiums come from the real rating engine (`policies.rating.rate`) on the demo products, whose rating tables are
read once per run instead of once per policy. Instalments follow `policies.services.instalment_schedule`: paid when
due before the as-of date, except the one a lapsed or overdue policy left unpaid; a cancellation voids the rest.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from policies.choices import InstalmentStatus, PolicyStatus, UnderwritingOutcome
from policies.demo import create_demo_products
from policies.models import Coverage, InsuredPerson, InsuredProperty, InsuredVehicle, Product
from policies.rating import LineRequest, money, pro_rata, rate, rating_inputs
from policies.services import instalment_schedule

from .people import Person
from .plan import (
    AUTO,
    AUTO_COLLISION,
    AUTO_THEFT,
    GRACE_DAYS,
    HOME,
    HOME_CONTENTS,
    LIFE,
    LINE_TERMS,
    POLICIES,
    STOP_CANCELLED,
    STOP_LAPSED,
    STOP_OVERDUE,
    Plan,
    record_rng,
)
from .pools import policy_number

PRODUCT_CODES = {AUTO: "auto-comprehensive", HOME: "home-standard", LIFE: "term-life"}
# line -> (coverage code, the bit of the coverage mask that adds it, or 0 for the mandatory line)
COVERAGES = {
    AUTO: (("liability", 0), ("collision", AUTO_COLLISION), ("theft", AUTO_THEFT)),
    HOME: (("buildings", 0), ("contents", HOME_CONTENTS)),
    LIFE: (("death-benefit", 0),),
}
VEHICLES = (
    ("Toyota", "Corolla", 24000),
    ("Toyota", "RAV4", 32000),
    ("Honda", "Civic", 25000),
    ("Honda", "CR-V", 33000),
    ("Ford", "Focus", 22000),
    ("Ford", "F-150", 45000),
    ("Chevrolet", "Malibu", 26000),
    ("Hyundai", "Elantra", 21000),
    ("Subaru", "Outback", 31000),
    ("BMW", "X3", 50000),
    ("Tesla", "Model 3", 42000),
)
VIN_ALPHABET = "".join(sorted(set(string.ascii_uppercase + string.digits) - set("IOQ")))
CANCELLATION_REASONS = ("Customer sold the vehicle", "Moved to another insurer", "Customer moved abroad")


class _Preloaded:
    """What `rate` reads of a product and its factors, read once per run instead of once per policy: the product's
    `rating_factors.prefetch_related(...).order_by(...)` and each factor's `bands.all()` answer from memory."""

    def __init__(self, instance, **related):
        self._instance = instance
        self.__dict__.update({name: value for name, value in vars(instance).items() if not name.startswith("_")})
        for name, items in related.items():
            setattr(self, name, _Related(items))

    def __getattr__(self, name):
        return getattr(self._instance, name)


class _Related:
    def __init__(self, items: list):
        self._items = items

    def all(self) -> list:
        return self._items

    def prefetch_related(self, *lookups):
        return self

    def order_by(self, *fields) -> list:
        return self._items


def _rated_product(product: Product) -> _Preloaded:
    factors = product.rating_factors.prefetch_related("bands").order_by("position", "code")
    return _Preloaded(
        product, rating_factors=[_Preloaded(factor, bands=list(factor.bands.all())) for factor in factors]
    )


class Catalogue:
    """The demo products (created when missing, see `policies.demo.create_demo_products`) and their coverages."""

    def __init__(self):
        create_demo_products()
        products = {product.code: product for product in Product.objects.filter(code__in=PRODUCT_CODES.values())}
        self.products = {line: products[code] for line, code in PRODUCT_CODES.items()}
        self.rated = {line: _rated_product(product) for line, product in self.products.items()}
        self.coverages: dict[int, dict[str, Coverage]] = {}
        for line, product in self.products.items():
            by_code = {coverage.code: coverage for coverage in product.coverages.all()}
            missing = [code for code, _ in COVERAGES[line] if code not in by_code]
            if missing:
                raise LookupError(f"product {product.code} has no coverage {', '.join(missing)}")
            self.coverages[line] = by_code

    def lines_of(self, line: int, mask: int) -> list[Coverage]:
        return [self.coverages[line][code] for code, bit in COVERAGES[line] if not bit or mask & bit]


@dataclass
class PolicyRows:
    """One policy's rows; `policy_id`, `holder_id` and `agent_id` are filled in once the policy has its key."""

    policy: dict
    lines: list[dict]
    risk_model: type
    risk: dict
    instalments: list[dict] = field(default_factory=list)


def _at(day: date, rng, hours: tuple[int, int] = (8, 19)) -> datetime:
    return datetime.combine(day, time(rng.randint(*hours), rng.randint(0, 59)), tzinfo=UTC)


def _risk(line: int, holder: Person, rng, effective: date) -> tuple[type, dict]:
    if line == AUTO:
        make, model, new_price = rng.choice(VEHICLES)
        age = rng.randint(0, 14)
        value = Decimal(max(2000, round(new_price * 0.88**age * rng.uniform(0.85, 1.1) / 500) * 500))
        return InsuredVehicle, {
            "make": make,
            "model": model,
            "year": effective.year - age,
            "vin": "".join(rng.choice(VIN_ALPHABET) for _ in range(17)),
            "value": value,
            "use": "commuting" if rng.random() < 0.3 else "private",
        }
    if line == HOME:
        details = holder.contact
        return InsuredProperty, {
            "address_line1": details.address_line1,
            "city": details.city,
            "postal_code": details.postal_code,
            "region": details.region,
            "construction_year": rng.randint(1900, 2022),
            "value": Decimal(rng.randrange(120_000, 900_000, 5000)),
        }
    return InsuredPerson, {
        "full_name": holder.full_name,
        "date_of_birth": holder.date_of_birth,
        "smoker": rng.random() < 0.18,
        "health_declarations": [],
    }


def line_requests(plan: Plan, catalogue: Catalogue, index: int) -> list[LineRequest]:
    """The policy's coverage lines with their limits and deductibles (drawn apart, so claims can rebuild them)."""
    rng = record_rng(plan.seed, LINE_TERMS, index)
    requests = []
    for coverage in catalogue.lines_of(int(plan.line[index]), int(plan.cover[index])):
        limit, deductible = Decimal(coverage.default_limit), Decimal(coverage.default_deductible)
        if coverage.code == "liability":
            limit = Decimal(rng.choice((50_000, 100_000, 100_000, 300_000)))
        elif coverage.code == "collision":
            deductible = Decimal(rng.choice((250, 500, 500, 1000)))
        requests.append(LineRequest(coverage, limit, deductible))
    return requests


def policy_rows(plan: Plan, catalogue: Catalogue, holder: Person, index: int, marker: dict) -> PolicyRows:
    rng = record_rng(plan.seed, POLICIES, index)
    line = int(plan.line[index])
    effective, expiry = plan.effective_date(index), plan.expiry_date(index)
    number = policy_number(index)
    risk_model, risk = _risk(line, holder, rng, effective)
    risk_key = {InsuredVehicle: "vehicle", InsuredProperty: "property", InsuredPerson: "person"}[risk_model]
    inputs = rating_inputs(
        effective_date=effective,
        holder_date_of_birth=holder.date_of_birth,
        territory=holder.contact.region,
        prior_claims_3y=rng.choices((0, 1, 2), weights=(75, 18, 7))[0],
        **{risk_key: risk},
    )
    rated = rate(product=catalogue.rated[line], lines=line_requests(plan, catalogue, index), inputs=inputs)
    count = int(plan.instalments[index])
    stop_kind = int(plan.stop_kind[index])
    status = PolicyStatus.IN_FORCE if expiry > plan.as_of else PolicyStatus.EXPIRED
    policy = {
        "number": number,
        "product_id": catalogue.products[line].pk,
        "status": status,
        "effective_date": effective,
        "expiry_date": expiry,
        "quote_expires_on": None,
        "currency": catalogue.products[line].currency,
        "premium": rated.premium,
        "rating_inputs": inputs,
        "rating_breakdown": rated.breakdown,
        "underwriting_outcome": UnderwritingOutcome.PASS,
        "underwriting_reasons": [],
        "instalment_count": count,
        "version": 1,
        "bound_at": _at(effective - timedelta(days=rng.randint(1, 20)), rng),
        "cancelled_on": None,
        "cancellation_reason": "",
        "refund_amount": None,
        "lapsed_on": None,
        "attributes": {"generated": marker},
    }
    schedule = instalment_schedule(
        premium=rated.premium, count=count, effective_date=effective, expiry_date=expiry, term_months=12
    )
    stop_day = effective + timedelta(days=int(plan.stop[index]))
    unpaid_from = stop_day - timedelta(days=GRACE_DAYS + 1) if stop_kind in (STOP_LAPSED, STOP_OVERDUE) else None
    instalments = []
    for sequence, (due, amount) in enumerate(schedule, start=1):
        row = {
            "sequence": sequence,
            "due_date": due,
            "amount": amount,
            "status": InstalmentStatus.DUE,
            "paid_at": None,
            "payment_reference": "",
            "note": "",
        }
        if stop_kind == STOP_CANCELLED and due >= stop_day:
            row.update(status=InstalmentStatus.VOID, note="(voided on cancellation)")
        elif due < plan.as_of and (unpaid_from is None or due < unpaid_from):
            paid = min(due + timedelta(days=rng.choice((0, 0, 1, 3, 7, 12))), plan.as_of - timedelta(days=1))
            row.update(
                status=InstalmentStatus.PAID, paid_at=_at(paid, rng), payment_reference=f"GEN-{number}-{sequence}"
            )
        instalments.append(row)
    if stop_kind == STOP_CANCELLED:
        paid = sum((row["amount"] for row in instalments if row["status"] == InstalmentStatus.PAID), Decimal("0"))
        earned = rated.premium - pro_rata(
            rated.premium, days=(expiry - stop_day).days, term_days=(expiry - effective).days
        )
        policy.update(
            status=PolicyStatus.CANCELLED,
            cancelled_on=stop_day,
            cancellation_reason=rng.choice(CANCELLATION_REASONS),
            refund_amount=money(max(paid - earned, Decimal("0"))),
        )
    elif stop_kind == STOP_LAPSED:
        policy.update(status=PolicyStatus.LAPSED, lapsed_on=stop_day)
    lines = [
        {"coverage_id": item.coverage.pk, "limit": item.limit, "deductible": item.deductible, "premium": item.premium}
        for item in rated.lines
    ]
    return PolicyRows(policy=policy, lines=lines, risk_model=risk_model, risk=risk, instalments=instalments)
