"""Demo products and a small book of policies for `make run` (the synthetic data generator comes later)."""

import json
import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from faker import Faker

from accounts import services as account_services
from accounts.models import AgentProfile, User
from insurance.core.roles import Role

from . import services
from .choices import LineOfBusiness
from .models import Coverage, Policy, Product, RatingBand, RatingFactor, UnderwritingRule

DEMO_PRODUCTS = settings.BASE_DIR / "fixtures" / "demo_products.json"


@transaction.atomic
def create_demo_products(path: Path = DEMO_PRODUCTS) -> list[Product]:
    """The demo catalogue from `fixtures/demo_products.json`, created once (a product code that exists is left as
    the admins edited it)."""
    specs = json.loads(path.read_text(encoding="utf-8"))["products"]
    products = []
    for spec in specs:
        parts = {"coverages", "rating_factors", "underwriting_rules"}
        product, created = Product.objects.get_or_create(
            code=spec["code"], defaults={key: value for key, value in spec.items() if key not in parts}
        )
        products.append(product)
        if not created:
            continue
        coverages = {item["code"]: Coverage.objects.create(product=product, **item) for item in spec["coverages"]}
        for position, item in enumerate(spec["rating_factors"]):
            bands = item.pop("bands")
            factor = RatingFactor.objects.create(
                product=product, position=position, **{**item, "coverage": coverages.get(item["coverage"])}
            )
            for band in bands:
                label = band.get("value") or (
                    f"{band['lower']}+" if band.get("upper") is None else f"{band['lower']} to {band['upper']}"
                )
                RatingBand.objects.create(factor=factor, label=label, **band)
        for item in spec["underwriting_rules"]:
            UnderwritingRule.objects.create(product=product, **item)
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
                "value": Decimal(rng.randrange(6000, 60000, 500)),
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
                "value": Decimal(rng.randrange(120000, 900000, 5000)),
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
