"""A small product whose premiums are easy to compute by hand, and helpers to quote and to build any state."""

from datetime import date, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from policies import services
from policies.choices import FactorKind, InstalmentStatus, LineOfBusiness, PolicyStatus, RatingInput, RuleOperator
from policies.models import Coverage, Instalment, Policy, Product, RatingBand, RatingFactor, UnderwritingRule

D = Decimal
VIN = "JTDBR32E720123456"


def make_test_product(**overrides) -> Product:
    """test-auto: liability 500 (mandatory), collision 200 (optional, deductible credit 0.8 from 500);
    drivers under 25 pay 1.5; territory IL 1.2, OH 1.0; under 21 is referred; more than 3 claims declined."""
    fields = {
        "code": "test-auto",
        "name": "Test Auto",
        "line_of_business": LineOfBusiness.AUTO,
        "currency": "USD",
        "term_months": 12,
        "min_premium": D("100"),
        "quote_validity_days": 30,
        "grace_period_days": 30,
        "reinstatement_window_days": 90,
        "renewal_offer_days": 30,
        **overrides,
    }
    product = Product.objects.create(**fields)
    Coverage.objects.create(
        product=product,
        code="liability",
        name="Liability",
        base_rate=D("500"),
        default_limit=D("100000"),
        default_deductible=D("0"),
        is_mandatory=True,
        covered_loss_types=["injury"],
    )
    collision = Coverage.objects.create(
        product=product,
        code="collision",
        name="Collision",
        base_rate=D("200"),
        default_limit=D("20000"),
        default_deductible=D("500"),
        is_mandatory=False,
        covered_loss_types=["collision"],
    )
    age = RatingFactor.objects.create(
        product=product, code="driver-age", name="Driver age", input=RatingInput.HOLDER_AGE, position=1
    )
    RatingBand.objects.create(factor=age, lower=D(0), upper=D(25), multiplier=D("1.5"), label="under 25")
    RatingBand.objects.create(factor=age, lower=D(25), upper=None, multiplier=D("1.0"), label="25+")
    territory = RatingFactor.objects.create(
        product=product,
        code="territory",
        name="Territory",
        input=RatingInput.TERRITORY,
        kind=FactorKind.LOOKUP,
        position=2,
    )
    RatingBand.objects.create(factor=territory, value="IL", multiplier=D("1.2"))
    RatingBand.objects.create(factor=territory, value="OH", multiplier=D("1.0"))
    credit = RatingFactor.objects.create(
        product=product,
        code="deductible-credit",
        name="Deductible credit",
        input=RatingInput.DEDUCTIBLE,
        coverage=collision,
        position=3,
    )
    RatingBand.objects.create(factor=credit, lower=D(0), upper=D(500), multiplier=D("1.0"))
    RatingBand.objects.create(factor=credit, lower=D(500), upper=None, multiplier=D("0.8"))
    UnderwritingRule.objects.create(
        product=product,
        code="DRIVER_UNDER_21",
        description="Driver under 21",
        input=RatingInput.HOLDER_AGE,
        operator=RuleOperator.LT,
        value="21",
        outcome="refer",
    )
    UnderwritingRule.objects.create(
        product=product,
        code="MORE_THAN_3_CLAIMS",
        description="More than 3 claims",
        input=RatingInput.PRIOR_CLAIMS,
        operator=RuleOperator.GT,
        value="3",
        outcome="decline",
    )
    return product


def vehicle(**overrides) -> dict:
    return {
        "make": "Toyota",
        "model": "Corolla",
        "year": 2021,
        "vin": VIN,
        "value": D("18000"),
        "use": "private",
        **overrides,
    }


def set_holder(holder, *, born: date, region: str = "OH") -> None:
    profile = holder.customer_profile
    profile.date_of_birth = born
    profile.region = region
    profile.save()


def quote(*, actor, holder, product, effective_date: date, today: date | None = None, **kwargs) -> Policy:
    kwargs.setdefault("vehicle", vehicle())
    return services.quote_create(
        actor=actor,
        product=product,
        holder=holder,
        effective_date=effective_date,
        today=today or effective_date,
        **kwargs,
    )


def policy_in_state(state: str, *, holder, product, effective_date: date) -> Policy:
    """A policy stored directly in `state`, with what each state implies (dates, one instalment)."""
    policy = quote(actor=holder, holder=holder, product=product, effective_date=effective_date)
    policy.status = state
    policy.quote_expires_on = effective_date + timedelta(days=30)
    if state == PolicyStatus.REFERRED:
        policy.referrals.create(reasons=[{"code": "TEST"}])
    if state in {
        PolicyStatus.IN_FORCE,
        PolicyStatus.CANCELLED,
        PolicyStatus.LAPSED,
        PolicyStatus.EXPIRED,
        PolicyStatus.RENEWED,
    }:
        paid = state != PolicyStatus.IN_FORCE  # an in-force policy owes its first instalment (so it can lapse)
        Instalment.objects.create(
            policy=policy,
            sequence=1,
            due_date=effective_date,
            amount=policy.premium,
            status=InstalmentStatus.PAID if paid else InstalmentStatus.DUE,
        )
    if state == PolicyStatus.CANCELLED:
        policy.cancelled_on = effective_date + timedelta(days=10)
    if state == PolicyStatus.LAPSED:
        policy.lapsed_on = effective_date + timedelta(days=40)
    policy.save()
    return policy


def term_end(effective_date: date, months: int = 12) -> date:
    return effective_date + relativedelta(months=months)


def pay(policy: Policy, sequence: int, *, actor) -> Instalment:
    """Record the payment of one instalment, as the finance team would."""
    instalment = policy.instalments.get(sequence=sequence)
    return services.instalment_pay(
        actor=actor,
        policy=policy,
        sequence=sequence,
        amount=instalment.amount,
        reference=f"TEST-{policy.number}-{sequence}",
    )
