"""Demo products and a small book of policies for `make run` (the synthetic data generator comes later)."""

import random
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from faker import Faker

from accounts import services as account_services
from accounts.models import AgentProfile, User
from insurance.core.roles import Role

from . import services
from .choices import FactorKind, LineOfBusiness, RatingInput, RuleOperator, UnderwritingOutcome
from .models import Coverage, Policy, Product, RatingBand, RatingFactor, UnderwritingRule

D = Decimal
OPEN = None

PRODUCTS = [
    {
        "code": "auto-comprehensive",
        "name": "Auto Comprehensive",
        "line_of_business": LineOfBusiness.AUTO,
        "min_premium": D("300"),
        "claim_auto_approve_limit": D("2500"),
        "claim_required_documents": ["invoice"],
        "coverages": [
            ("liability", "Third-party liability", ["injury"], D("400"), D("100000"), D("0"), True),
            ("collision", "Own-vehicle collision", ["collision"], D("300"), D("25000"), D("500"), False),
            ("theft", "Theft and fire", ["theft", "fire"], D("80"), D("25000"), D("250"), False),
        ],
        "factors": [
            (
                "driver-age",
                "Driver age",
                RatingInput.HOLDER_AGE,
                FactorKind.BAND,
                None,
                [(D(16), D(21), "1.80"), (D(21), D(25), "1.40"), (D(25), D(65), "1.00"), (D(65), OPEN, "1.20")],
            ),
            (
                "vehicle-age",
                "Vehicle age",
                RatingInput.VEHICLE_AGE,
                FactorKind.BAND,
                None,
                [(D(0), D(3), "1.10"), (D(3), D(10), "1.00"), (D(10), OPEN, "0.90")],
            ),
            (
                "vehicle-value",
                "Vehicle value",
                RatingInput.VEHICLE_VALUE,
                FactorKind.BAND,
                None,
                [(D(0), D(20000), "1.00"), (D(20000), D(50000), "1.15"), (D(50000), OPEN, "1.35")],
            ),
            (
                "territory",
                "Territory",
                RatingInput.TERRITORY,
                FactorKind.LOOKUP,
                None,
                [("IL", "1.10"), ("OH", "1.00"), ("IN", "0.95")],
            ),
            (
                "prior-claims",
                "Claims in 3 years",
                RatingInput.PRIOR_CLAIMS,
                FactorKind.BAND,
                None,
                [(D(0), D(1), "1.00"), (D(1), D(2), "1.15"), (D(2), D(4), "1.35"), (D(4), OPEN, "1.60")],
            ),
            (
                "collision-deductible",
                "Deductible credit",
                RatingInput.DEDUCTIBLE,
                FactorKind.BAND,
                "collision",
                [(D(0), D(500), "1.00"), (D(500), D(1000), "0.90"), (D(1000), OPEN, "0.80")],
            ),
            (
                "liability-limit",
                "Liability limit",
                RatingInput.LIMIT,
                FactorKind.BAND,
                "liability",
                [(D(0), D(100001), "1.00"), (D(100001), OPEN, "1.25")],
            ),
        ],
        "rules": [
            (
                "DRIVER_UNDER_21",
                "Driver under 21",
                RatingInput.HOLDER_AGE,
                RuleOperator.LT,
                "21",
                UnderwritingOutcome.REFER,
            ),
            (
                "VEHICLE_VALUE_OVER_150K",
                "Vehicle value over 150,000",
                RatingInput.VEHICLE_VALUE,
                RuleOperator.GT,
                "150000",
                UnderwritingOutcome.REFER,
            ),
            (
                "BUSINESS_USE",
                "Vehicle used for business",
                RatingInput.VEHICLE_USE,
                RuleOperator.IN,
                "business",
                UnderwritingOutcome.REFER,
            ),
            (
                "MORE_THAN_3_CLAIMS_IN_3Y",
                "More than 3 claims in 3 years",
                RatingInput.PRIOR_CLAIMS,
                RuleOperator.GT,
                "3",
                UnderwritingOutcome.DECLINE,
            ),
        ],
    },
    {
        "code": "home-standard",
        "name": "Home Standard",
        "line_of_business": LineOfBusiness.HOME,
        "min_premium": D("200"),
        "claim_auto_approve_limit": D("5000"),
        "claim_required_documents": ["invoice"],
        "coverages": [
            ("buildings", "Buildings", ["fire", "water_damage", "storm"], D("250"), D("300000"), D("1000"), True),
            ("contents", "Contents", ["theft", "fire", "water_damage"], D("120"), D("50000"), D("250"), False),
        ],
        "factors": [
            (
                "property-age",
                "Property age",
                RatingInput.PROPERTY_AGE,
                FactorKind.BAND,
                None,
                [(D(0), D(20), "0.95"), (D(20), D(60), "1.00"), (D(60), OPEN, "1.20")],
            ),
            (
                "property-value",
                "Property value",
                RatingInput.PROPERTY_VALUE,
                FactorKind.BAND,
                None,
                [(D(0), D(250000), "1.00"), (D(250000), D(750000), "1.30"), (D(750000), OPEN, "1.70")],
            ),
            (
                "territory",
                "Territory",
                RatingInput.TERRITORY,
                FactorKind.LOOKUP,
                None,
                [("IL", "1.05"), ("OH", "1.00"), ("IN", "1.00")],
            ),
            (
                "prior-claims",
                "Claims in 3 years",
                RatingInput.PRIOR_CLAIMS,
                FactorKind.BAND,
                None,
                [(D(0), D(1), "1.00"), (D(1), D(3), "1.25"), (D(3), OPEN, "1.60")],
            ),
        ],
        "rules": [
            (
                "PROPERTY_OVER_125_YEARS",
                "Property older than 125 years",
                RatingInput.PROPERTY_AGE,
                RuleOperator.GT,
                "125",
                UnderwritingOutcome.REFER,
            ),
            (
                "PROPERTY_VALUE_OVER_2M",
                "Property value over 2,000,000",
                RatingInput.PROPERTY_VALUE,
                RuleOperator.GT,
                "2000000",
                UnderwritingOutcome.DECLINE,
            ),
        ],
    },
    {
        "code": "term-life",
        "name": "Term Life",
        "line_of_business": LineOfBusiness.LIFE,
        "min_premium": D("120"),
        "claim_auto_approve_limit": D("0"),
        "claim_required_documents": ["claim_form"],
        "coverages": [("death-benefit", "Death benefit", ["death"], D("200"), D("250000"), D("0"), True)],
        "factors": [
            (
                "age",
                "Age",
                RatingInput.HOLDER_AGE,
                FactorKind.BAND,
                None,
                [(D(18), D(30), "0.80"), (D(30), D(45), "1.00"), (D(45), D(60), "1.90"), (D(60), OPEN, "3.50")],
            ),
            ("smoker", "Smoker", RatingInput.SMOKER, FactorKind.LOOKUP, None, [("yes", "1.80"), ("no", "1.00")]),
        ],
        "rules": [
            (
                "AGE_OVER_70",
                "Insured person over 70",
                RatingInput.HOLDER_AGE,
                RuleOperator.GT,
                "70",
                UnderwritingOutcome.DECLINE,
            ),
        ],
    },
]


@transaction.atomic
def create_demo_products() -> list[Product]:
    """The demo catalogue, created once (an existing product code is left as the admins edited it)."""
    products = []
    for spec in PRODUCTS:
        product, created = Product.objects.get_or_create(
            code=spec["code"],
            defaults={key: value for key, value in spec.items() if key not in {"coverages", "factors", "rules"}},
        )
        products.append(product)
        if not created:
            continue
        coverages = {}
        for code, name, losses, base, limit, deductible, mandatory in spec["coverages"]:
            coverages[code] = Coverage.objects.create(
                product=product,
                code=code,
                name=name,
                covered_loss_types=losses,
                base_rate=base,
                default_limit=limit,
                default_deductible=deductible,
                is_mandatory=mandatory,
            )
        for position, (code, name, rating_input, kind, coverage, bands) in enumerate(spec["factors"]):
            factor = RatingFactor.objects.create(
                product=product,
                code=code,
                name=name,
                input=rating_input,
                kind=kind,
                position=position,
                coverage=coverages.get(coverage),
            )
            for band in bands:
                if kind == FactorKind.LOOKUP:
                    RatingBand.objects.create(factor=factor, value=band[0], multiplier=D(band[1]))
                else:
                    lower, upper, multiplier = band
                    label = f"{lower}+" if upper is None else f"{lower} to {upper}"
                    RatingBand.objects.create(
                        factor=factor, lower=lower, upper=upper, multiplier=D(multiplier), label=label
                    )
        for code, description, rating_input, operator, value, outcome in spec["rules"]:
            UnderwritingRule.objects.create(
                product=product,
                code=code,
                description=description,
                input=rating_input,
                operator=operator,
                value=value,
                outcome=outcome,
            )
    return products


def _vin(rng: random.Random) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(17))


def _demo_risk(product: Product, holder: User, rng: random.Random, today: date) -> dict:
    profile = holder.customer_profile
    if product.line_of_business == LineOfBusiness.AUTO:
        return {
            "vehicle": {
                "make": rng.choice(["Toyota", "Ford", "Honda", "BMW"]),
                "model": rng.choice(["Corolla", "Focus", "Civic", "X3"]),
                "year": rng.randint(2008, today.year),
                "vin": _vin(rng),
                "value": D(rng.randrange(6000, 60000, 500)),
                "use": rng.choice(["private", "commuting"]),
            }
        }
    if product.line_of_business == LineOfBusiness.HOME:
        return {
            "property": {
                "address_line1": profile.address_line1 or "1 Main St",
                "city": profile.city or "Columbus",
                "postal_code": profile.postal_code or "43215",
                "region": profile.region,
                "construction_year": rng.randint(1900, 2020),
                "value": D(rng.randrange(120000, 900000, 5000)),
            }
        }
    return {
        "person": {
            "full_name": holder.get_full_name(),
            "date_of_birth": profile.date_of_birth,
            "smoker": rng.random() < 0.2,
        }
    }


def create_demo_book(*, actor, customers: int = 12, seed: int = 7) -> list[Policy]:
    """Demo customers for the demo agent and a book of policies in every state. Skipped when it exists."""
    if Policy.objects.exists():
        return []
    create_demo_products()
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    agent = AgentProfile.objects.filter(user__username="agnes").first()
    auto, home, life = (Product.objects.get(code=code) for code in ("auto-comprehensive", "home-standard", "term-life"))
    holders = list(User.objects.filter(username="alice"))
    for index in range(customers):
        holders.append(
            account_services.user_create(
                actor=actor,
                username=f"customer{index + 1:02d}",
                role=Role.CUSTOMER,
                password=None,
                email=f"customer{index + 1:02d}@example.com",
                first_name=fake.first_name(),
                last_name=fake.last_name(),
                agent=agent,
                customer_details={
                    "phone": fake.numerify("###-###-####"),
                    "address_line1": fake.street_address(),
                    "city": fake.city(),
                    "postal_code": fake.zipcode(),
                    "region": rng.choice(["OH", "IL", "IN"]),
                    "country": "US",
                    "date_of_birth": fake.date_of_birth(minimum_age=19, maximum_age=75),
                },
            )
        )
    today = timezone.localdate()
    policies = []
    for index, holder in enumerate(holders):
        product = (auto, home, life)[index % 3]
        risk = _demo_risk(product, holder, rng, today)
        stays_a_quote = index % 4 == 3
        # Most of the book was bound months ago (so it can have claims); some quotes are for the coming weeks.
        effective = (
            today + timedelta(days=rng.randint(1, 20))
            if stays_a_quote
            else today - timedelta(days=rng.randint(30, 330))
        )
        coverages = [{"coverage": "collision"}, {"coverage": "theft"}] if product == auto else None
        quote = services.quote_create(
            actor=actor,
            product=product,
            holder=holder,
            effective_date=effective,
            today=min(effective, today),
            coverages=coverages,
            instalment_count=rng.choice([1, 4, 12]),
            prior_claims_3y=rng.choice([0, 0, 0, 1, 2]),
            **risk,
        )
        policies.append(quote)
        if quote.status == "quote" and not stays_a_quote:
            policy = services.policy_bind(actor=actor, policy=quote, today=effective)
            for instalment in policy.instalments.filter(due_date__lte=today):
                services.instalment_pay(
                    actor=actor,
                    policy=policy,
                    sequence=instalment.sequence,
                    amount=instalment.amount,
                    reference=f"DEMO-{policy.number}-{instalment.sequence}",
                )
            if index % 7 == 5:
                services.policy_cancel(
                    actor=actor, policy=policy, reason="Customer sold the vehicle", effective_date=today
                )
    # The underwriter's queue is never empty in the demo: a vehicle used for business is referred.
    referred_risk = _demo_risk(auto, holders[0], rng, today)
    referred_risk["vehicle"]["use"] = "business"
    policies.append(
        services.quote_create(
            actor=actor, product=auto, holder=holders[0], effective_date=today + timedelta(days=14), **referred_risk
        )
    )
    return policies
