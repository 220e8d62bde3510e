"""The rating engine: premium = base rate times the product's factors, for each coverage line.

Pure and deterministic: the same product, lines and inputs always give the same premium and the same breakdown.
The breakdown records every factor's input value, the band it fell in, its multiplier and its effect in money,
so anyone who may see the quote can see why the premium is what it is.
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from .choices import FactorKind, RatingInput
from .models import Coverage, Product, RatingFactor

CENT = Decimal("0.01")
LINE_INPUTS = {RatingInput.LIMIT, RatingInput.DEDUCTIBLE}


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def rating_inputs(
    *,
    effective_date: date,
    holder_date_of_birth: date | None,
    territory: str,
    prior_claims_3y: int,
    vehicle: dict | None = None,
    property: dict | None = None,
    person: dict | None = None,
) -> dict:
    """The quote-level inputs the factors and rules read, as JSON-ready values (decimals as strings)."""
    born = (person or {}).get("date_of_birth") or holder_date_of_birth
    inputs: dict = {
        RatingInput.HOLDER_AGE: age_on(born, effective_date) if born else None,
        RatingInput.TERRITORY: (territory or "").strip() or None,
        RatingInput.PRIOR_CLAIMS: int(prior_claims_3y),
    }
    if vehicle:
        inputs[RatingInput.VEHICLE_AGE] = max(effective_date.year - int(vehicle["year"]), 0)
        inputs[RatingInput.VEHICLE_VALUE] = str(vehicle["value"])
        inputs[RatingInput.VEHICLE_USE] = vehicle.get("use") or "private"
    if property:
        inputs[RatingInput.PROPERTY_AGE] = max(effective_date.year - int(property["construction_year"]), 0)
        inputs[RatingInput.PROPERTY_VALUE] = str(property["value"])
    if person:
        inputs[RatingInput.SMOKER] = "yes" if person.get("smoker") else "no"
    return {str(key): value for key, value in inputs.items()}


@dataclass(frozen=True)
class LineRequest:
    coverage: Coverage
    limit: Decimal
    deductible: Decimal


@dataclass(frozen=True)
class RatedLine:
    coverage: Coverage
    limit: Decimal
    deductible: Decimal
    premium: Decimal


@dataclass(frozen=True)
class RatingResult:
    premium: Decimal
    lines: list[RatedLine]
    breakdown: dict


def _multiplier(factor: RatingFactor, value) -> tuple[Decimal, str]:
    """The factor's multiplier for `value`, and the label of the band it matched."""
    bands = list(factor.bands.all())
    if value is None:
        return Decimal(factor.default_multiplier), "not given"
    if factor.kind == FactorKind.LOOKUP:
        for band in bands:
            if band.value.strip().lower() == str(value).strip().lower():
                return Decimal(band.multiplier), band.label or band.value
        return Decimal(factor.default_multiplier), "other"
    number = Decimal(str(value))
    for band in bands:
        if (band.lower is None or number >= band.lower) and (band.upper is None or number < band.upper):
            return Decimal(band.multiplier), str(band)
    return Decimal(factor.default_multiplier), "other"


def rate(
    *, product: Product, lines: list[LineRequest], inputs: dict, term_fraction: Decimal = Decimal("1")
) -> RatingResult:
    """Rate every line. `term_fraction` below 1 prices a short term pro rata (shown as its own step)."""
    factors = list(product.rating_factors.prefetch_related("bands").order_by("position", "code"))
    rated: list[RatedLine] = []
    line_breakdowns = []
    for line in lines:
        running = Decimal(line.coverage.base_rate)
        steps = []
        for factor in factors:
            if factor.coverage_id is not None and factor.coverage_id != line.coverage.pk:
                continue
            if factor.input == RatingInput.LIMIT:
                value = line.limit
            elif factor.input == RatingInput.DEDUCTIBLE:
                value = line.deductible
            else:
                value = inputs.get(factor.input)
            multiplier, band = _multiplier(factor, value)
            after = running * multiplier
            steps.append(
                {
                    "factor": factor.code,
                    "name": factor.name,
                    "input": factor.input,
                    "value": None if value is None else str(value),
                    "band": band,
                    "multiplier": str(multiplier),
                    "effect": str(money(after - running)),
                }
            )
            running = after
        if term_fraction != 1:
            after = running * term_fraction
            steps.append(
                {
                    "factor": "short-term",
                    "name": "Short term",
                    "input": "term_fraction",
                    "value": str(term_fraction),
                    "band": "pro rata",
                    "multiplier": str(term_fraction),
                    "effect": str(money(after - running)),
                }
            )
            running = after
        premium = money(running)
        rated.append(RatedLine(line.coverage, line.limit, line.deductible, premium))
        line_breakdowns.append(
            {
                "coverage": line.coverage.code,
                "limit": str(line.limit),
                "deductible": str(line.deductible),
                "base_rate": str(money(Decimal(line.coverage.base_rate))),
                "factors": steps,
                "premium": str(premium),
            }
        )

    total = sum((line.premium for line in rated), Decimal("0"))
    adjustment = Decimal("0")
    if rated and total < product.min_premium:
        # The minimum premium tops up the largest line, so the lines still add up to the total.
        adjustment = product.min_premium - total
        largest = max(range(len(rated)), key=lambda index: rated[index].premium)
        line = rated[largest]
        rated[largest] = RatedLine(line.coverage, line.limit, line.deductible, line.premium + adjustment)
        line_breakdowns[largest]["premium"] = str(rated[largest].premium)
        total = product.min_premium
    breakdown = {
        "currency": product.currency,
        "lines": line_breakdowns,
        "minimum_premium_adjustment": str(money(adjustment)),
        "total": str(money(total)),
    }
    return RatingResult(premium=money(total), lines=rated, breakdown=breakdown)


def pro_rata(amount: Decimal, *, days: int, term_days: int) -> Decimal:
    """`amount` for `days` out of a term of `term_days` (refunds and endorsement differences)."""
    if term_days <= 0:
        return Decimal("0.00")
    return money(Decimal(amount) * Decimal(max(days, 0)) / Decimal(term_days))
