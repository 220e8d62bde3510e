"""Policies portal pages: who sees what (403/404), quote and buy through the services, referrals, renewals and
lapses, and form errors that store nothing."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from policies import services
from policies.choices import InstalmentStatus, LineOfBusiness, PolicyStatus, ReferralStatus
from policies.models import InsuredPerson, InsuredProperty, Policy, PolicyEvent, Referral
from tests.policies.factories import VIN, make_test_product, policy_in_state, quote, set_holder

PERSONA_STATUS = [
    ("alice", 200),
    ("alice_agent", 200),
    ("bob", 404),
    ("other_agent", 404),
    ("underwriter", 200),
    ("admin", 200),
    ("outsider", 403),
    ("analyst", 403),
]
QUOTE_URL = reverse("policies:quote-create")


def today() -> date:
    return timezone.localdate()


def soon() -> date:
    return today() + timedelta(days=10)


def quote_for(holder, product, **kwargs) -> Policy:
    """A quote made today, starting soon (so it can be bound today)."""
    return quote(actor=holder, holder=holder, product=product, effective_date=soon(), today=today(), **kwargs)


def login(client: Client, user) -> Client:
    client.force_login(user)
    return client


def vehicle_post(**overrides) -> dict:
    return {
        "effective_date": soon().isoformat(),
        "instalment_count": "4",
        "prior_claims_3y": "0",
        "coverages": ["collision"],
        "vehicle-make": "Toyota",
        "vehicle-model": "Corolla",
        "vehicle-year": "2021",
        "vehicle-vin": VIN,
        "vehicle-value": "18000",
        "vehicle-use": "private",
        **overrides,
    }


def quote_url(product, customer=None) -> str:
    query = f"?product={product.code}"
    if customer is not None:
        query += f"&customer={customer.customer_profile.pk}"
    return QUOTE_URL + query


@pytest.mark.django_db
def test_every_page_the_nav_links_to_exists_and_needs_a_login(client, book, product):
    policy = quote_for(book.alice, product)
    urls = [
        reverse("policies:policy-list"),
        reverse("policies:policy-detail", args=[policy.pk]),
        reverse("policies:policy-schedule", args=[policy.pk]),
        reverse("policies:policy-bind", args=[policy.pk]),
        QUOTE_URL,
        reverse("policies:renewals"),
        reverse("policies:referral-queue"),
        reverse("policies:referral-decide", args=[policy.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url


# --- the policy list -----------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "sees_alice", "sees_bob"),
    [
        ("alice", True, False),
        ("bob", False, True),
        ("alice_agent", True, False),
        ("other_agent", False, True),
        ("underwriter", True, True),
        ("admin", True, True),
    ],
)
def test_the_policy_list_holds_only_policies_in_scope(client, book, product, persona, sees_alice, sees_bob):
    alices = quote_for(book.alice, product)
    bobs = quote_for(book.bob, product)
    response = login(client, getattr(book, persona)).get(reverse("policies:policy-list"))
    assert response.status_code == 200
    assert (alices in response.context["policies"]) is sees_alice
    assert (bobs in response.context["policies"]) is sees_bob
    assert (alices.number in response.content.decode()) is sees_alice
    assert 'class="badge badge--quote"' in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["outsider", "analyst"])
def test_the_policy_list_is_refused_to_roles_without_policies(client, book, persona):
    assert login(client, getattr(book, persona)).get(reverse("policies:policy-list")).status_code == 403


@pytest.mark.django_db
def test_the_policy_list_filters_by_status_and_pages(client, book, product):
    in_force = policy_in_state(PolicyStatus.IN_FORCE, holder=book.alice, product=product, effective_date=soon())
    quotes = [quote_for(book.alice, product) for _ in range(25)]
    login(client, book.alice)

    response = client.get(reverse("policies:policy-list"), {"status": "in_force"})
    assert list(response.context["policies"]) == [in_force]
    assert response.context["filter"].form["status"].value() == ["in_force"]  # the filter stays ticked

    first = client.get(reverse("policies:policy-list"))
    assert first.context["paginator"].count == 26
    assert len(first.context["policies"]) == 25
    second = client.get(reverse("policies:policy-list"), {"page": 2})
    assert list(second.context["policies"]) == [in_force]  # the oldest, last
    assert quotes[-1].number in first.content.decode()
    assert 'rel="prev"' in second.content.decode()


@pytest.mark.django_db
def test_an_empty_list_says_how_to_start(client, book, product):
    response = login(client, book.alice).get(reverse("policies:policy-list"))
    assert '<p class="empty">' in response.content.decode()
    assert reverse("policies:quote-create") in response.content.decode()


# --- the policy page -------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("persona", "status"), PERSONA_STATUS)
@pytest.mark.parametrize("page", ["policies:policy-detail", "policies:policy-schedule"])
def test_a_policy_page_is_scoped(client, book, product, persona, status, page):
    policy = quote_for(book.alice, product, coverages=[{"coverage": "collision"}])
    response = login(client, getattr(book, persona)).get(reverse(page, args=[policy.pk]))
    assert response.status_code == status
    if status == 200:
        body = response.content.decode()
        assert policy.number in body
        assert "660.00" in body  # the priced premium
        assert "Collision" in body
        assert "Liability" in body


@pytest.mark.django_db
def test_the_policy_page_shows_the_breakdown_instalments_and_history(client, book, product):
    policy = policy_in_state(
        PolicyStatus.IN_FORCE, holder=book.alice, product=product, effective_date=today() - timedelta(days=40)
    )
    response = login(client, book.alice).get(reverse("policies:policy-detail", args=[policy.pk]))
    body = response.content.decode()
    # The breakdown as the rating recorded it: base rate, each factor's band and multiplier, the line premium.
    assert "How the premium is built" in body
    for step in ("Driver age", "25+", "Territory"):
        assert step in body
    assert "500.00" in body
    # The one instalment is unpaid 40 days after it fell due.
    assert [instalment.state for instalment in response.context["policy"].instalments.all()] == ["overdue"]
    assert 'class="badge badge--overdue"' in body
    # History and the generated schedule (policies keep no uploaded documents).
    assert "Quoted 500.00 USD" in body
    assert reverse("policies:policy-schedule", args=[policy.pk]) in body
    # A customer is offered no staff actions.
    assert response.context["staff_actions"] == []
    assert "Underwriting actions" not in body


@pytest.mark.django_db
@pytest.mark.parametrize(("persona", "can_bind"), [("alice", True), ("alice_agent", True), ("underwriter", False)])
def test_buying_is_offered_on_a_quote_to_its_customer_and_agent(client, book, product, persona, can_bind):
    policy = quote_for(book.alice, product)
    response = login(client, getattr(book, persona)).get(reverse("policies:policy-detail", args=[policy.pk]))
    assert response.context["can_bind"] is can_bind
    assert (reverse("policies:policy-bind", args=[policy.pk]) in response.content.decode()) is can_bind


@pytest.mark.django_db
def test_staff_see_the_lifecycle_actions_the_state_allows(client, book, product):
    policy = policy_in_state(PolicyStatus.IN_FORCE, holder=book.alice, product=product, effective_date=soon())
    response = login(client, book.underwriter).get(reverse("policies:policy-detail", args=[policy.pk]))
    assert [action["name"] for action in response.context["staff_actions"]] == ["renew", "cancel"]
    assert reverse("policies:policy-action", args=[policy.pk, "cancel"]) in response.content.decode()


@pytest.mark.django_db
def test_an_underwriter_cancels_with_a_reason_from_the_policy_page(client, book, product):
    policy = policy_in_state(PolicyStatus.IN_FORCE, holder=book.alice, product=product, effective_date=soon())
    url = reverse("policies:policy-action", args=[policy.pk, "cancel"])
    login(client, book.underwriter)

    response = client.post(url, {"cancel-reason": "  "})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    policy.refresh_from_db()
    assert policy.status == PolicyStatus.IN_FORCE

    response = client.post(url, {"cancel-reason": "Vehicle sold"})
    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.status, policy.cancellation_reason) == (PolicyStatus.CANCELLED, "Vehicle sold")
    assert policy.history.latest().history_user == book.underwriter
    assert policy.events.filter(kind="cancelled", actor=book.underwriter).exists()

    response = client.post(url, {"cancel-reason": "again"})
    assert response.status_code == 409  # the service refuses the transition; shown on the page
    assert "Cannot cancel" in response.content.decode()


@pytest.mark.django_db
def test_an_underwriter_offers_a_renewal_from_the_policy_page(client, book, product):
    policy = policy_in_state(PolicyStatus.IN_FORCE, holder=book.alice, product=product, effective_date=soon())
    response = login(client, book.underwriter).post(reverse("policies:policy-action", args=[policy.pk, "renew"]))
    assert response.status_code == 302
    renewal = Policy.objects.get(renewal_of=policy)
    assert renewal.effective_date == policy.expiry_date
    response = client.post(reverse("policies:policy-action", args=[policy.pk, "renew"]))
    assert response.status_code == 409
    assert "already been offered" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(("persona", "status"), [("alice", 403), ("alice_agent", 403), ("bob", 403)])
def test_customers_and_agents_cannot_post_staff_actions(client, book, product, persona, status):
    policy = policy_in_state(PolicyStatus.IN_FORCE, holder=book.alice, product=product, effective_date=soon())
    url = reverse("policies:policy-action", args=[policy.pk, "cancel"])
    response = login(client, getattr(book, persona)).post(url, {"cancel-reason": "mine"})
    assert response.status_code == status
    policy.refresh_from_db()
    assert policy.status == PolicyStatus.IN_FORCE


@pytest.mark.django_db
def test_an_unknown_action_is_not_found(client, book, product):
    policy = policy_in_state(PolicyStatus.IN_FORCE, holder=book.alice, product=product, effective_date=soon())
    response = login(client, book.underwriter).post(reverse("policies:policy-action", args=[policy.pk, "explode"]))
    assert response.status_code == 404


# --- quote and buy -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_customer_quotes_sees_the_breakdown_and_buys(client, book, product):
    login(client, book.alice)
    response = client.get(QUOTE_URL)
    assert response.status_code == 200
    assert "customer" not in response.context["start_form"].fields  # a customer quotes for themself
    assert "Test Auto" in response.content.decode()

    response = client.get(quote_url(product))
    body = response.content.decode()
    assert 'name="vehicle-vin"' in body
    assert '<label for="id_vehicle-vin">' in body
    assert "Liability" in body  # the included coverage is named

    response = client.post(quote_url(product), vehicle_post())
    assert response.status_code == 302
    policy = Policy.objects.get()
    assert response.url == reverse("policies:policy-detail", args=[policy.pk])
    # Age 25+ in OH: liability 500, collision 200 x 0.8 deductible credit = 160.
    assert (policy.holder, policy.status, policy.premium) == (book.alice, PolicyStatus.QUOTE, Decimal("660.00"))
    assert policy.vehicle.vin == VIN
    detail = client.get(response.url)
    assert "Quote " + policy.number in detail.content.decode()
    assert "Deductible credit" in detail.content.decode()

    bind_url = reverse("policies:policy-bind", args=[policy.pk])
    confirm = client.get(bind_url)
    assert confirm.status_code == 200
    assert [amount for _due, amount in confirm.context["schedule"]] == [Decimal("165.00")] * 4
    assert "Confirm and buy for 660.00 USD" in confirm.content.decode()

    response = client.post(bind_url)
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.status == PolicyStatus.IN_FORCE
    assert policy.premium == Decimal("660.00")
    assert policy.bound_at is not None
    assert sum(instalment.amount for instalment in policy.instalments.all()) == Decimal("660.00")
    assert [event.kind for event in policy.events.all()] == ["quoted", "bound"]
    assert policy.history.latest().history_user == book.alice
    page = client.get(response.url).content.decode()
    assert f"Policy {policy.number} is in force" in page
    assert "Policy issued, premium 660.00" in page


@pytest.mark.django_db
def test_an_agent_quotes_and_buys_for_a_customer_of_theirs(client, book, product):
    login(client, book.alice_agent)
    response = client.get(QUOTE_URL)
    customers = list(response.context["start_form"].fields["customer"].queryset)
    assert customers == [book.alice.customer_profile]

    response = client.get(QUOTE_URL, {"customer": book.alice.customer_profile.pk})
    assert response.context["start_form"]["customer"].value() == book.alice.customer_profile.pk

    response = client.post(quote_url(product, book.alice), vehicle_post(coverages=[]))
    assert response.status_code == 302
    policy = Policy.objects.get()
    assert (policy.holder, policy.agent, policy.premium) == (
        book.alice,
        book.alice_agent.agent_profile,
        Decimal("500.00"),
    )
    assert policy.events.get().actor == book.alice_agent
    assert client.post(reverse("policies:policy-bind", args=[policy.pk])).status_code == 302
    policy.refresh_from_db()
    assert policy.status == PolicyStatus.IN_FORCE


@pytest.mark.django_db
def test_an_agent_cannot_quote_outside_their_book(client, book, product):
    login(client, book.alice_agent)
    assert client.get(QUOTE_URL, {"customer": book.bob.customer_profile.pk}).status_code == 404
    assert client.get(QUOTE_URL, {"customer": "nope"}).status_code == 404
    assert client.post(quote_url(product, book.bob), vehicle_post()).status_code == 404
    assert not Policy.objects.exists()


@pytest.mark.django_db
def test_an_agent_must_name_the_customer(client, book, product):
    response = login(client, book.alice_agent).get(QUOTE_URL, {"product": product.code})
    assert response.status_code == 200
    assert response.context["start_form"].errors["customer"]
    assert "quote_form" not in response.context


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["underwriter", "outsider"])
def test_quoting_is_for_customers_and_agents(client, book, product, persona):
    assert login(client, getattr(book, persona)).get(QUOTE_URL).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "form", "field"),
    [
        ({"vehicle-value": "-5"}, "risk_form", "value"),
        ({"vehicle-make": ""}, "risk_form", "make"),
        ({"effective_date": ""}, "quote_form", "effective_date"),
        ({"effective_date": "2030-13-45"}, "quote_form", "effective_date"),
        ({"prior_claims_3y": "-1"}, "quote_form", "prior_claims_3y"),
        ({"coverages": ["flood"]}, "quote_form", "coverages"),
    ],
)
def test_bad_input_is_a_form_error_and_stores_nothing(client, book, product, overrides, form, field):
    response = login(client, book.alice).post(quote_url(product), vehicle_post(**overrides))
    assert response.status_code == 200
    assert field in response.context[form].errors
    assert 'class="errorlist' in response.content.decode()
    assert not Policy.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "form", "field"),
    [
        ({"vehicle-vin": "IOQ45678901234567"}, "risk_form", "vin"),
        ({"effective_date": "2000-01-01"}, "quote_form", "effective_date"),
        ({"vehicle-year": str(date.today().year + 5)}, "risk_form", "year"),
    ],
)
def test_a_service_refusal_is_shown_on_its_field_and_stores_nothing(client, book, product, overrides, form, field):
    response = login(client, book.alice).post(quote_url(product), vehicle_post(**overrides))
    assert response.status_code == 400
    assert field in response.context[form].errors
    assert not Policy.objects.exists()
    assert not PolicyEvent.objects.exists()


@pytest.mark.django_db
def test_a_home_quote_asks_for_the_property_and_prefills_the_address(client, book):
    home = make_test_product(code="test-home", name="Test Home", line_of_business=LineOfBusiness.HOME)
    profile = book.alice.customer_profile
    login(client, book.alice)
    response = client.get(quote_url(home))
    assert response.context["risk_kind"] == "property"
    assert response.context["risk_form"]["city"].value() == profile.city
    post = {
        "effective_date": soon().isoformat(),
        "instalment_count": "1",
        "prior_claims_3y": "0",
        "property-address_line1": "1 Main St",
        "property-city": "Columbus",
        "property-postal_code": "43215",
        "property-region": "OH",
        "property-construction_year": "1990",
        "property-value": "250000",
    }
    response = client.post(quote_url(home), post)
    assert response.status_code == 302
    assert InsuredProperty.objects.get().policy.holder == book.alice


@pytest.mark.django_db
def test_a_life_quote_asks_for_the_person_and_their_declarations(client, book):
    life = make_test_product(code="test-life", name="Test Life", line_of_business=LineOfBusiness.LIFE)
    login(client, book.alice)
    response = client.get(quote_url(life))
    assert response.context["risk_form"]["date_of_birth"].value() == date(1980, 5, 17)
    post = {
        "effective_date": soon().isoformat(),
        "instalment_count": "12",
        "prior_claims_3y": "0",
        "person-full_name": "Alice Example",
        "person-date_of_birth": "1980-05-17",
        "person-health_declarations": "Asthma\n\n  Hay fever  ",
    }
    assert client.post(quote_url(life), post).status_code == 302
    person = InsuredPerson.objects.get()
    assert (person.smoker, person.health_declarations) == (False, ["Asthma", "Hay fever"])


# --- referrals ------------------------------------------------------------------------------------------------


def make_young(holder) -> None:
    """Under 21: the test product refers the quote (rule DRIVER_UNDER_21)."""
    set_holder(holder, born=today().replace(year=today().year - 19, day=1), region="OH")


@pytest.mark.django_db
def test_a_referred_quote_cannot_be_bought_and_waits_in_the_queue(client, book, product):
    make_young(book.alice)
    login(client, book.alice)
    response = client.post(quote_url(product), vehicle_post())
    policy = Policy.objects.get()
    assert policy.status == PolicyStatus.REFERRED
    page = client.get(response.url)
    assert "referred to an underwriter" in page.content.decode().lower()
    assert page.context["can_bind"] is False
    assert reverse("policies:policy-bind", args=[policy.pk]) not in page.content.decode()

    bind_url = reverse("policies:policy-bind", args=[policy.pk])
    assert "Confirm and buy" not in client.get(bind_url).content.decode()
    response = client.post(bind_url)
    assert response.status_code == 409
    assert "Cannot bind" in response.content.decode()
    policy.refresh_from_db()
    assert policy.status == PolicyStatus.REFERRED
    assert not policy.instalments.exists()

    queue = login(Client(), book.underwriter).get(reverse("policies:referral-queue"))
    assert [referral.policy for referral in queue.context["referrals"]] == [policy]
    assert "Driver under 21" in queue.content.decode()
    assert reverse("policies:referral-decide", args=[policy.pk]) in queue.content.decode()


@pytest.mark.django_db
def test_the_queue_is_oldest_first_and_holds_only_pending_referrals(client, book, product):
    make_young(book.alice)
    make_young(book.bob)
    older = quote_for(book.bob, product)
    newer = quote_for(book.alice, product)
    decided = quote_for(book.alice, product)
    Referral.objects.filter(policy=older).update(created_at=timezone.now() - timedelta(days=3))
    decided.status = PolicyStatus.DECLINED
    decided.save()
    response = login(client, book.admin).get(reverse("policies:referral-queue"))
    assert [referral.policy for referral in response.context["referrals"]] == [older, newer]


@pytest.mark.django_db
def test_an_empty_queue_says_so(client, book):
    response = login(client, book.underwriter).get(reverse("policies:referral-queue"))
    assert '<p class="empty">' in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["alice", "alice_agent", "outsider", "analyst"])
def test_the_referral_pages_are_for_underwriters(client, book, product, persona):
    make_young(book.alice)
    policy = quote_for(book.alice, product)
    login(client, getattr(book, persona))
    assert client.get(reverse("policies:referral-queue")).status_code == 403
    url = reverse("policies:referral-decide", args=[policy.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"decision": "approve", "reason": "mine"}).status_code == 403
    policy.refresh_from_db()
    assert policy.status == PolicyStatus.REFERRED


@pytest.mark.django_db
@pytest.mark.parametrize("decision", ["approve", "decline"])
def test_a_decision_needs_a_reason(client, book, product, decision):
    make_young(book.alice)
    policy = quote_for(book.alice, product)
    url = reverse("policies:referral-decide", args=[policy.pk])
    login(client, book.underwriter)
    page = client.get(url)
    assert page.status_code == 200
    assert "Driver under 21" in page.content.decode()
    for reason in ("", "   "):
        response = client.post(url, {"decision": decision, "reason": reason})
        assert response.status_code == 200
        assert "reason" in response.context["form"].errors
    policy.refresh_from_db()
    assert policy.status == PolicyStatus.REFERRED
    assert Referral.objects.get(policy=policy).status == ReferralStatus.PENDING
    assert [event.kind for event in policy.events.all()] == ["quoted"]


@pytest.mark.django_db
def test_an_approved_referral_can_then_be_bought(client, book, product):
    make_young(book.alice)
    policy = quote_for(book.alice, product)
    url = reverse("policies:referral-decide", args=[policy.pk])
    response = login(client, book.underwriter).post(url, {"decision": "approve", "reason": "Telematics fitted"})
    assert response.status_code == 302
    assert response.url == reverse("policies:referral-queue")
    referral = Referral.objects.get(policy=policy)
    assert (referral.status, referral.decided_by, referral.decision_reason) == (
        ReferralStatus.APPROVED,
        book.underwriter,
        "Telematics fitted",
    )
    assert client.get(reverse("policies:referral-queue")).context["referrals"].count() == 0

    customer = login(Client(), book.alice)
    assert customer.post(reverse("policies:policy-bind", args=[policy.pk])).status_code == 302
    policy.refresh_from_db()
    assert policy.status == PolicyStatus.IN_FORCE
    assert [event.kind for event in policy.events.all()] == ["quoted", "referral_approved", "bound"]
    underwriter_name = book.underwriter.get_full_name() or book.underwriter.username
    history = customer.get(reverse("policies:policy-detail", args=[policy.pk])).content.decode()
    assert "by an underwriter" in history
    assert underwriter_name not in history, "staff are not named to customers"
    staff_view = client.get(reverse("policies:policy-detail", args=[policy.pk])).content.decode()
    assert f"by {underwriter_name}" in staff_view

    page = client.get(url)  # decided already: no form, says why
    assert page.context["can_decide"] is False
    assert "not waiting for a decision" in page.content.decode()


@pytest.mark.django_db
def test_a_declined_referral_is_recorded_with_its_reason(client, book, product):
    make_young(book.alice)
    policy = quote_for(book.alice, product)
    url = reverse("policies:referral-decide", args=[policy.pk])
    login(client, book.underwriter)
    assert client.post(url, {"decision": "decline", "reason": "Too young for this vehicle"}).status_code == 302
    policy.refresh_from_db()
    assert policy.status == PolicyStatus.DECLINED
    assert policy.events.filter(kind="referral_declined", message="Declined: Too young for this vehicle").exists()
    response = client.post(url, {"decision": "approve-ish", "reason": "x"})
    assert response.status_code == 200
    assert "decision" in response.context["form"].errors
    response = client.post(url, {"decision": "decline", "reason": "again"})
    assert response.status_code == 409  # no longer referred: the service refuses it


# --- renewals and lapses -------------------------------------------------------------------------------------


@pytest.fixture
def renewal_book(book, product):
    """Alice: a policy ending in about a month and one that lapsed ten days ago. Bob: one ending in a month."""
    ending = policy_in_state(
        PolicyStatus.IN_FORCE,
        holder=book.alice,
        product=product,
        effective_date=today() - timedelta(days=335),
    )
    lapsed = policy_in_state(
        PolicyStatus.LAPSED, holder=book.alice, product=product, effective_date=today() - timedelta(days=50)
    )
    bobs = policy_in_state(
        PolicyStatus.IN_FORCE, holder=book.bob, product=product, effective_date=today() - timedelta(days=335)
    )
    return {"ending": ending, "lapsed": lapsed, "bobs": bobs}


@pytest.mark.django_db
def test_an_agent_sees_the_renewals_and_lapses_of_their_book(client, book, renewal_book):
    ending, lapsed = renewal_book["ending"], renewal_book["lapsed"]
    response = login(client, book.alice_agent).get(reverse("policies:renewals"))
    assert response.status_code == 200
    assert response.context["days"] == 60
    assert response.context["renewals"] == [ending]
    assert response.context["renewals"][0].renewal_number is None
    # Its first instalment has been unpaid since the term began, 335 days ago: past the 30-day grace period.
    assert response.context["arrears"] == [ending]
    assert response.context["arrears"][0].lapses_on == ending.effective_date + timedelta(days=31)
    assert response.context["lapsed"] == [lapsed]
    body = response.content.decode()
    assert ending.number in body
    assert lapsed.number in body
    assert renewal_book["bobs"].number not in body
    assert "Not offered yet" in body


@pytest.mark.django_db
def test_the_lapse_date_shown_is_the_one_the_lapse_records(client, book, renewal_book):
    ending = renewal_book["ending"]
    shown = login(client, book.alice_agent).get(reverse("policies:renewals")).context["arrears"][0].lapses_on
    lapsed = services.policy_lapse(actor=book.underwriter, policy=ending, today=today())
    assert lapsed.status == PolicyStatus.LAPSED
    assert lapsed.lapsed_on == shown


@pytest.mark.django_db
def test_the_renewal_window_is_chosen_in_days(client, book, renewal_book):
    login(client, book.alice_agent)
    response = client.get(reverse("policies:renewals"), {"days": 10})
    assert response.context["renewals"] == []
    assert response.context["lapsed"] == [renewal_book["lapsed"]]  # lapsed ten days ago
    response = client.get(reverse("policies:renewals"), {"days": 5})
    assert response.context["lapsed"] == []
    response = client.get(reverse("policies:renewals"), {"days": "soon"})
    assert response.status_code == 200
    assert response.context["form"].errors["days"]
    assert response.context["days"] == 60


@pytest.mark.django_db
def test_an_offered_renewal_shows_against_its_policy(client, book, renewal_book):
    ending = renewal_book["ending"]
    ending.instalments.update(status=InstalmentStatus.PAID)
    renewal = services.policy_offer_renewal(actor=book.underwriter, policy=ending)
    response = login(client, book.underwriter).get(reverse("policies:renewals"))
    rows = {policy.number: policy for policy in response.context["renewals"]}
    assert set(rows) == {ending.number, renewal_book["bobs"].number}
    assert rows[ending.number].renewal_number == renewal.number
    assert response.context["arrears"] == [renewal_book["bobs"]]
    assert "Quote" in response.content.decode()


@pytest.mark.django_db
def test_an_empty_book_has_empty_states(client, book):
    response = login(client, book.other_agent).get(reverse("policies:renewals"))
    assert response.content.decode().count('<p class="empty">') == 3


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["alice", "outsider"])
def test_renewals_are_for_agents_and_staff(client, book, persona):
    assert login(client, getattr(book, persona)).get(reverse("policies:renewals")).status_code == 403


# --- CSRF -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_portal_post_needs_the_csrf_token(book, product):
    make_young(book.bob)
    quote_ = quote_for(book.alice, product)
    referred = quote_for(book.bob, product)
    in_force = policy_in_state(PolicyStatus.IN_FORCE, holder=book.alice, product=product, effective_date=soon())
    customer = login(Client(enforce_csrf_checks=True), book.alice)
    underwriter = login(Client(enforce_csrf_checks=True), book.underwriter)
    bind_url = reverse("policies:policy-bind", args=[quote_.pk])
    decide_url = reverse("policies:referral-decide", args=[referred.pk])
    posts = [  # (client, where the form is, where it posts, what it posts)
        (customer, quote_url(product), quote_url(product), vehicle_post()),
        (customer, bind_url, bind_url, {}),
        (underwriter, decide_url, decide_url, {"decision": "approve", "reason": "ok"}),
        (
            underwriter,
            reverse("policies:policy-detail", args=[in_force.pk]),
            reverse("policies:policy-action", args=[in_force.pk, "cancel"]),
            {"cancel-reason": "sold"},
        ),
    ]
    for client, page_url, url, data in posts:
        assert client.post(url, data).status_code == 403, url
        page = client.get(page_url)
        assert 'name="csrfmiddlewaretoken"' in page.content.decode(), page_url
    assert Policy.objects.count() == 3
    assert {policy.status for policy in Policy.objects.all()} == {
        PolicyStatus.QUOTE,
        PolicyStatus.REFERRED,
        PolicyStatus.IN_FORCE,
    }


@pytest.mark.django_db
def test_the_policy_page_reads_a_fixed_number_of_queries(client, book, product, django_assert_max_num_queries):
    policy = quote_for(book.alice, product, instalment_count=12, coverages=[{"coverage": "collision"}])
    services.policy_bind(actor=book.alice, policy=policy)
    login(client, book.alice_agent)
    url = reverse("policies:policy-detail", args=[policy.pk])
    client.get(url)  # warm the session and permission caches
    with django_assert_max_num_queries(12):
        response = client.get(url)
    assert len(response.context["policy"].instalments.all()) == 12
