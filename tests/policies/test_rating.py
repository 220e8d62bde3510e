"""Premiums against hand-computed figures: base rate times factors, endorsements pro rata, refunds."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from policies import services
from policies.choices import InstalmentStatus
from policies.models import RatingBand
from policies.rating import pro_rata
from tests.policies.conftest import EFFECTIVE
from tests.policies.factories import pay, quote

D = Decimal
WITH_COLLISION = [{"coverage": "collision"}]  # default deductible 500: credit 0.8


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("born", "region", "coverages", "expected"),
    [
        # Alice, 49, Ohio, liability only: 500 x 1.0 x 1.0
        (date(1980, 5, 17), "OH", None, {"liability": "500.00", "total": "500.00"}),
        # + collision: 200 x 1.0 x 1.0 x 0.8 = 160
        (date(1980, 5, 17), "OH", WITH_COLLISION, {"liability": "500.00", "collision": "160.00", "total": "660.00"}),
        # 22 years old in Illinois: 500 x 1.5 x 1.2 = 900; 200 x 1.5 x 1.2 x 0.8 = 288
        (date(2007, 6, 1), "IL", WITH_COLLISION, {"liability": "900.00", "collision": "288.00", "total": "1188.00"}),
        # collision with a 250 deductible: no credit, 200
        (
            date(1980, 5, 17),
            "OH",
            [{"coverage": "collision", "deductible": "250"}],
            {"liability": "500.00", "collision": "200.00", "total": "700.00"},
        ),
    ],
)
def test_premium_is_base_rate_times_factors(book, product, born, region, coverages, expected):
    profile = book.alice.customer_profile
    profile.date_of_birth, profile.region = born, region
    profile.save()
    policy = quote(actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE, coverages=coverages)
    lines = {line.coverage.code: str(line.premium) for line in policy.coverage_lines.all()}
    assert {**lines, "total": str(policy.premium)} == expected
    assert policy.rating_breakdown["total"] == expected["total"]


@pytest.mark.django_db
def test_the_breakdown_says_why(book, product):
    profile = book.alice.customer_profile
    profile.date_of_birth, profile.region = date(2007, 6, 1), "IL"
    profile.save()
    policy = quote(actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE)
    (line,) = policy.rating_breakdown["lines"]
    assert line["base_rate"] == "500.00"
    steps = {step["factor"]: step for step in line["factors"]}
    assert steps["driver-age"] == {
        "factor": "driver-age",
        "name": "Driver age",
        "input": "holder_age",
        "value": "22",
        "band": "under 25",
        "multiplier": "1.5000",
        "effect": "250.00",
    }
    assert steps["territory"]["effect"] == "150.00"  # 750 x 0.2
    assert "deductible-credit" not in steps  # a collision-only factor


@pytest.mark.django_db
def test_rating_is_deterministic(book, product):
    first = quote(
        actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE, coverages=WITH_COLLISION
    )
    second = quote(
        actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE, coverages=WITH_COLLISION
    )
    assert first.rating_breakdown == second.rating_breakdown
    assert first.number != second.number


@pytest.mark.django_db
def test_minimum_premium_tops_up_the_largest_line(book, product):
    product.min_premium = D("1000")
    product.save()
    policy = quote(
        actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE, coverages=WITH_COLLISION
    )
    assert policy.premium == D("1000.00")
    assert policy.rating_breakdown["minimum_premium_adjustment"] == "340.00"
    assert sum(line.premium for line in policy.coverage_lines.all()) == D("1000.00")


@pytest.mark.django_db
def test_an_endorsement_charges_the_difference_pro_rata(book, product):
    policy = services.policy_bind(
        actor=book.alice,
        policy=quote(
            actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE, coverages=WITH_COLLISION
        ),
        today=EFFECTIVE,
    )
    assert policy.premium == D("660.00")
    # 2030-07-02 to 2031-01-01 is 183 of 365 days; the new premium is 700: (700 - 660) x 183 / 365 = 20.05
    endorsement = services.policy_endorse(
        actor=book.alice,
        policy=policy,
        kind="deductible",
        effective_date=date(2030, 7, 2),
        changes={"coverage": "collision", "deductible": "250"},
        reason="lower deductible",
    )
    assert (endorsement.premium_before, endorsement.premium_after) == (D("660.00"), D("700.00"))
    assert endorsement.premium_difference == D("20.05")
    policy.refresh_from_db()
    assert policy.premium == D("700.00")
    assert policy.version == 2
    adjustment = policy.instalments.get(sequence=2)
    assert (adjustment.amount, adjustment.due_date) == (D("20.05"), date(2030, 7, 2))
    assert policy.history.count() >= 3  # quoted, bound, endorsed: the versions are kept


@pytest.mark.django_db
def test_a_change_of_vehicle_and_address_rerate(book, product):
    policy = services.policy_bind(
        actor=book.alice,
        policy=quote(actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE),
        today=EFFECTIVE,
    )
    services.policy_endorse(
        actor=book.alice, policy=policy, kind="address", effective_date=EFFECTIVE, changes={"region": "IL"}
    )
    policy.refresh_from_db()
    assert policy.premium == D("600.00")  # 500 x 1.2
    endorsement = services.policy_endorse(
        actor=book.alice,
        policy=policy,
        kind="vehicle",
        effective_date=date(2030, 3, 1),
        changes={"make": "Honda", "model": "Civic", "vin": "1HGCM82633A004352"},
    )
    policy.refresh_from_db()
    assert policy.vehicle.make == "Honda"
    assert endorsement.premium_difference == D("0.00")


@pytest.mark.django_db
def test_cancellation_refunds_the_unearned_premium(book, product):
    policy = services.policy_bind(
        actor=book.alice,
        policy=quote(
            actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE, coverages=WITH_COLLISION
        ),
        today=EFFECTIVE,
    )
    pay(policy, 1, actor=book.underwriter)
    # 2030-04-01 to 2031-01-01 is 275 of 365 days: unearned 660 x 275 / 365 = 497.26, all of it paid back
    policy = services.policy_cancel(
        actor=book.alice,
        policy=policy,
        reason="sold the car",
        effective_date=date(2030, 4, 1),
        today=date(2030, 4, 1),
    )
    assert policy.refund_amount == D("497.26")


@pytest.mark.django_db
def test_cancellation_refund_nets_off_voided_instalments(book, product):
    policy = services.policy_bind(
        actor=book.alice,
        policy=quote(
            actor=book.alice,
            holder=book.alice,
            product=product,
            effective_date=EFFECTIVE,
            coverages=WITH_COLLISION,
            instalment_count=12,
        ),
        today=EFFECTIVE,
    )
    assert [i.amount for i in policy.instalments.all()] == [D("55.00")] * 12
    for sequence in range(1, 7):
        pay(policy, sequence, actor=book.underwriter)
    # from 2030-07-01: unearned 660 x 184 / 365 = 332.71; the six unpaid instalments (330) are voided: refund 2.71
    policy = services.policy_cancel(
        actor=book.alice, policy=policy, reason="moving", effective_date=date(2030, 7, 1), today=date(2030, 7, 1)
    )
    assert policy.refund_amount == D("2.71")
    assert policy.instalments.filter(status=InstalmentStatus.VOID).count() == 6


@pytest.mark.django_db
def test_cancelling_an_unpaid_policy_charges_the_earned_premium(book, product):
    policy = services.policy_bind(
        actor=book.alice,
        policy=quote(actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE),
        today=EFFECTIVE,
    )
    # Nothing paid, cancelled after 10 days: earned 500 x 10 / 365 = 13.70 is owed, nothing refunded.
    policy = services.policy_cancel(
        actor=book.alice,
        policy=policy,
        reason="changed my mind",
        effective_date=date(2030, 1, 11),
        today=date(2030, 1, 11),
    )
    assert policy.refund_amount == D("0.00")
    balance = policy.instalments.get(status=InstalmentStatus.DUE)
    assert (balance.amount, balance.due_date) == (D("13.70"), date(2030, 1, 11))
    assert policy.instalments.get(sequence=1).status == InstalmentStatus.VOID


@pytest.mark.django_db
def test_customers_cannot_backdate_or_postdate_a_cancellation(book, product):
    from insurance.core.exceptions import ServiceError

    policy = services.policy_bind(
        actor=book.alice,
        policy=quote(actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE),
        today=EFFECTIVE,
    )
    for when in (EFFECTIVE, date(2030, 3, 1)):
        with pytest.raises(ServiceError) as error:
            services.policy_cancel(
                actor=book.alice, policy=policy, reason="x", effective_date=when, today=date(2030, 2, 1)
            )
        assert "effective_date" in error.value.fields
    services.policy_cancel(
        actor=book.underwriter,
        policy=policy,
        reason="fraud at inception",
        effective_date=EFFECTIVE,
        today=date(2030, 2, 1),
    )


@pytest.mark.django_db
def test_an_edited_date_of_birth_does_not_reprice_an_endorsement(book, product):
    policy = services.policy_bind(
        actor=book.alice,
        policy=quote(actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE),
        today=EFFECTIVE,
    )
    profile = book.alice.customer_profile
    profile.date_of_birth = date(2008, 1, 1)  # would be "under 25" and 1.5x
    profile.save()
    endorsement = services.policy_endorse(
        actor=book.alice,
        policy=policy,
        kind="limit",
        effective_date=EFFECTIVE,
        changes={"coverage": "liability", "limit": "100000"},
    )
    assert endorsement.premium_after == endorsement.premium_before == D("500.00")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "changes", "field"),
    [
        ("limit", {"coverage": "liability", "limit": "abc"}, "coverages"),
        ("limit", {"coverage": "liability", "limit": "NaN"}, "coverages"),
        ("vehicle", {"year": "abc"}, "vehicle.year"),
        ("vehicle", {"year": [1]}, "vehicle.year"),
        ("vehicle", {"use": "racing"}, "vehicle.use"),
        ("address", {}, "changes.region"),
    ],
)
def test_bad_endorsements_are_400_not_500(book, product, kind, changes, field):
    from insurance.core.exceptions import ServiceError

    policy = services.policy_bind(
        actor=book.alice,
        policy=quote(actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE),
        today=EFFECTIVE,
    )
    with pytest.raises(ServiceError) as error:
        services.policy_endorse(actor=book.alice, policy=policy, kind=kind, effective_date=EFFECTIVE, changes=changes)
    assert field in error.value.fields
    assert policy.endorsements.count() == 0


def test_short_term_instalments_fall_within_the_term():
    schedule = services.instalment_schedule(
        premium=D("120.00"), count=12, effective_date=EFFECTIVE, expiry_date=date(2030, 4, 1), term_months=12
    )
    assert all(EFFECTIVE <= due < date(2030, 4, 1) for due, _ in schedule)


def test_instalments_add_up_with_the_remainder_first():
    schedule = services.instalment_schedule(
        premium=D("100.00"), count=12, effective_date=EFFECTIVE, expiry_date=date(2031, 1, 1), term_months=12
    )
    amounts = [amount for _, amount in schedule]
    assert amounts[0] == D("8.37")
    assert amounts[1:] == [D("8.33")] * 11
    assert sum(amounts) == D("100.00")
    assert [due for due, _ in schedule][:3] == [EFFECTIVE, date(2030, 2, 1), date(2030, 3, 1)]


def test_pro_rata():
    assert pro_rata(D("365"), days=100, term_days=365) == D("100.00")
    assert pro_rata(D("100"), days=-5, term_days=365) == D("0.00")
    assert pro_rata(D("100"), days=5, term_days=0) == D("0.00")


@pytest.mark.django_db
def test_endorsement_outside_the_term_is_refused(book, product):
    policy = services.policy_bind(
        actor=book.alice,
        policy=quote(actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE),
        today=EFFECTIVE,
    )
    from insurance.core.exceptions import ServiceError

    with pytest.raises(ServiceError) as error:
        services.policy_endorse(
            actor=book.alice,
            policy=policy,
            kind="limit",
            effective_date=EFFECTIVE - timedelta(days=1),
            changes={"coverage": "liability", "limit": "200000"},
        )
    assert "effective_date" in error.value.fields
    assert policy.endorsements.count() == 0


@pytest.mark.django_db
def test_a_short_term_is_priced_pro_rata(book, product):
    # 2030-01-01 to 2030-07-01 is 181 of 365 days: fraction 0.4959; 500 x 0.4959 = 247.95
    policy = quote(
        actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE, expiry_date=date(2030, 7, 1)
    )
    assert policy.premium == D("247.95")
    (line,) = policy.rating_breakdown["lines"]
    assert line["factors"][-1]["factor"] == "short-term"
    assert line["factors"][-1]["multiplier"] == "0.4959"


@pytest.mark.parametrize(
    ("lower", "upper", "label"),
    [("500.00", None, "500.00 and over"), (None, "25.00", "under 25.00"), ("25.00", "70.00", "25.00 to 70.00")],
)
def test_a_band_names_its_open_ends_in_words(lower, upper, label):
    """The premium breakdown shows bands by name: an open end reads as words, never as 'None'."""
    band = RatingBand(lower=lower and Decimal(lower), upper=upper and Decimal(upper))
    assert str(band) == label
