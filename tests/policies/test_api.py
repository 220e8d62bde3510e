"""Policies API: scoped through the generic base, quoting and transitions, bad input, the referral flow."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from insurance.core.testing import DEFAULT_DETAIL_STATUS, ScopedEndpointTests
from policies.choices import PolicyStatus
from policies.models import Policy, Referral
from tests.api_schema import call_and_validate, token_headers
from tests.policies.factories import VIN, make_test_product, quote, set_holder

QUOTE_URL = reverse("policies-api:policy-quote")


def soon() -> date:
    return timezone.localdate() + timedelta(days=10)


def quote_body(**overrides) -> dict:
    return {
        "product": "test-auto",
        "effective_date": soon().isoformat(),
        "instalment_count": 4,
        "coverages": [{"coverage": "collision", "deductible": "500.00"}],
        "vehicle": {"make": "Toyota", "model": "Corolla", "year": 2021, "vin": VIN, "value": "18000.00"},
        **overrides,
    }


def action_url(policy, name: str) -> str:
    return reverse(f"policies-api:policy-{name}", args=[policy.pk])


class TestPolicyEndpoint(ScopedEndpointTests):
    basename = "policies-api:policy"
    detail_status = DEFAULT_DETAIL_STATUS  # analytics readers read policies only through /api/analytics/

    def make_object(self, personas):
        product = make_test_product()
        set_holder(personas.alice, born=date(1980, 5, 17))
        from policies import services

        return services.quote_create(
            actor=personas.alice,
            product=product,
            holder=personas.alice,
            effective_date=soon(),
            vehicle=quote_body()["vehicle"],
        )


class TestProductEndpoint(ScopedEndpointTests):
    """The catalogue is public to every role; other rows' owners do not matter."""

    basename = "policies-api:product"
    detail_status = {**DEFAULT_DETAIL_STATUS, "bob": 200, "other_agent": 200}  # analysts: /api/analytics/ only

    def make_object(self, personas):
        return make_test_product()

    def detail_url(self, obj) -> str:
        return reverse(f"{self.basename}-detail", args=[obj.code])


@pytest.mark.django_db
def test_customer_quotes_and_binds_with_the_breakdown(book, product, api_client, django_capture_on_commit_callbacks):
    client = api_client(book.alice)
    response = client.post(QUOTE_URL, quote_body(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "quote"
    assert body["premium"] == "660.00"
    assert body["number"].startswith(f"POL-{timezone.localdate().year}-")
    assert [line["premium"] for line in body["rating_breakdown"]["lines"]] == ["160.00", "500.00"]
    assert body["allowed_actions"] == ["expire_quote", "bind"]

    policy = Policy.objects.get(pk=body["id"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(action_url(policy, "bind"))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "in_force"
    assert len(response.json()["instalments"]) == 4
    assert [message.subject for message in mail.outbox] == [f"Your policy {policy.number} is in force"]


@pytest.mark.django_db
def test_a_policy_reads_within_the_schema_with_what_it_does_not_insure_null(book, product):
    """A motor policy has no property, no insured person and renews nothing: nulls the schema did not allow until
    tests/core/test_api_fuzz.py found them."""
    policy = quote(actor=book.alice, holder=book.alice, product=product, effective_date=soon())
    response = call_and_validate("GET", "/api/policies/{id}/", headers=token_headers(book.alice), id=policy.pk)
    body = response.json()
    assert (body["property"], body["insured_person"], body["renewal_of"]) == (None, None, None)
    assert body["vehicle"]["vin"]
    call_and_validate("GET", "/api/policies/", headers=token_headers(book.underwriter))


@pytest.mark.django_db
def test_an_illegal_transition_answers_409_naming_the_allowed_ones(book, product, api_client):
    client = api_client(book.alice)
    policy_id = client.post(QUOTE_URL, quote_body(), format="json").json()["id"]
    policy = Policy.objects.get(pk=policy_id)
    assert client.post(action_url(policy, "bind")).status_code == 200
    response = client.post(action_url(policy, "bind"))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "transition_not_allowed"
    assert error["allowed"] == ["cancel", "endorse", "expire", "lapse", "renew"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"effective_date": "2000-01-01"}, "effective_date"),
        ({"expiry_date": "2000-01-01"}, "expiry_date"),
        ({"expiry_date": "2099-01-01"}, "expiry_date"),
        ({"effective_date": "31/12/2030"}, "effective_date"),
        ({"product": "no-such-product"}, "product"),
        ({"vehicle": {"make": "Ford", "model": "T", "year": 2020, "vin": VIN, "value": "-5"}}, "vehicle"),
        ({"vehicle": {"make": "Ford", "model": "T", "year": 2020, "vin": VIN, "value": "1e12"}}, "vehicle"),
        ({"vehicle": {"make": "Ford", "model": "T", "year": 2020, "vin": "SHORT", "value": "100"}}, "vehicle"),
        (
            {"vehicle": {"make": "Ford", "model": "T", "year": 2020, "vin": "IOQ45678901234567", "value": "100"}},
            "vehicle.vin",
        ),
        (
            {
                "vehicle": None,
                "property": {
                    "address_line1": "x",
                    "city": "y",
                    "postal_code": "1",
                    "construction_year": 2000,
                    "value": "1000",
                },
            },
            "property",
        ),
        ({"coverages": [{"coverage": "flood"}]}, "coverages[0].coverage"),
        ({"coverages": [{"coverage": "collision", "deductible": "30000"}]}, "coverages"),
        ({"instalment_count": 7}, "instalment_count"),
        ({"prior_claims_3y": -1}, "prior_claims_3y"),
    ],
)
def test_bad_quotes_answer_400_naming_the_field_and_store_nothing(book, product, api_client, overrides, field):
    body = {key: value for key, value in quote_body(**overrides).items() if value is not None}
    response = api_client(book.alice).post(QUOTE_URL, body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert field in error["fields"] or error["message"].startswith(field), error
    assert not Policy.objects.exists()


@pytest.mark.django_db
def test_a_customer_cannot_quote_for_another_customer(book, product, api_client):
    response = api_client(book.alice).post(QUOTE_URL, quote_body(holder=book.bob.pk), format="json")
    assert response.status_code == 400
    assert "holder" in response.json()["error"]["fields"]
    assert not Policy.objects.exists()


@pytest.mark.django_db
def test_an_agent_quotes_for_their_customer_but_not_outside_their_book(book, product, api_client):
    agent = api_client(book.alice_agent)
    assert agent.post(QUOTE_URL, quote_body(), format="json").status_code == 400  # must name the customer
    response = agent.post(QUOTE_URL, quote_body(holder=book.alice.pk), format="json")
    assert response.status_code == 201
    policy = Policy.objects.get(pk=response.json()["id"])
    assert policy.agent == book.alice_agent.agent_profile

    assert agent.post(QUOTE_URL, quote_body(holder=book.bob.pk), format="json").status_code == 400
    assert api_client(book.other_agent).post(action_url(policy, "bind")).status_code == 404
    policy.refresh_from_db()
    assert policy.status == PolicyStatus.QUOTE


@pytest.mark.django_db
def test_another_book_s_policy_is_404_even_with_a_bad_body(book, product, api_client):
    """The object lookup comes before the body's validation: a 400 would confirm the policy exists."""
    client = api_client(book.alice)
    policy = Policy.objects.get(pk=client.post(QUOTE_URL, quote_body(), format="json").json()["id"])
    assert client.post(action_url(policy, "bind")).status_code == 200
    outsider = api_client(book.other_agent)
    for name in ("cancel", "endorse"):
        assert outsider.post(action_url(policy, name), {}, format="json").status_code == 404, name
        assert client.post(action_url(policy, name), {}, format="json").status_code == 400, name


@pytest.mark.django_db
def test_customers_may_not_reinstate_or_underwrite(book, product, api_client):
    policy_id = api_client(book.alice).post(QUOTE_URL, quote_body(), format="json").json()["id"]
    policy = Policy.objects.get(pk=policy_id)
    for name in ("reinstate", "approve-referral", "decline-referral"):
        response = api_client(book.alice).post(action_url(policy, name), {"reason": "please"}, format="json")
        assert response.status_code == 403, name


@pytest.mark.django_db
def test_referral_flow_end_to_end(book, product, api_client):
    set_holder(book.bob, born=timezone.localdate().replace(year=timezone.localdate().year - 19), region="IL")
    response = api_client(book.other_agent).post(QUOTE_URL, quote_body(holder=book.bob.pk), format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "referred"
    assert [reason["code"] for reason in body["underwriting_reasons"]] == ["DRIVER_UNDER_21"]
    policy = Policy.objects.get(pk=body["id"])

    queue = api_client(book.underwriter).get(reverse("policies-api:policy-referrals")).json()["results"]
    assert [row["number"] for row in queue] == [policy.number]
    assert api_client(book.bob).get(reverse("policies-api:policy-referrals")).status_code == 403
    assert api_client(book.bob).post(action_url(policy, "bind")).status_code == 409

    response = api_client(book.underwriter).post(action_url(policy, "approve-referral"), {}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["fields"]
    response = api_client(book.underwriter).post(
        action_url(policy, "approve-referral"), {"reason": "Telematics box fitted"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "quote"
    referral = Referral.objects.get(policy=policy)
    assert (referral.status, referral.decided_by, referral.decision_reason) == (
        "approved",
        book.underwriter,
        "Telematics box fitted",
    )
    assert referral.history.latest().history_user == book.underwriter

    assert api_client(book.bob).post(action_url(policy, "bind")).status_code == 200
    assert [event.kind for event in policy.events.all()] == ["quoted", "referral_approved", "bound"]


@pytest.mark.django_db
def test_a_declined_quote_can_be_overridden_with_a_reason(book, product, api_client):
    response = api_client(book.alice).post(QUOTE_URL, quote_body(prior_claims_3y=5), format="json")
    assert response.json()["status"] == "declined"
    policy = Policy.objects.get(pk=response.json()["id"])
    response = api_client(book.underwriter).post(
        action_url(policy, "approve-referral"), {"reason": "Claims were all not-at-fault"}, format="json"
    )
    assert response.status_code == 200
    override = Referral.objects.get(policy=policy)
    assert override.is_override
    assert override.decided_by == book.underwriter


@pytest.mark.django_db
def test_endorse_cancel_and_pay_through_the_api(book, product, api_client):
    client = api_client(book.alice)
    policy = Policy.objects.get(pk=client.post(QUOTE_URL, quote_body(), format="json").json()["id"])
    client.post(action_url(policy, "bind"))
    first = policy.instalments.get(sequence=1)
    payment = {"sequence": 1, "amount": str(first.amount), "reference": "BACS-0042"}
    assert client.post(action_url(policy, "pay"), payment, format="json").status_code == 403, "finance records it"
    finance = api_client(book.underwriter)
    assert finance.post(action_url(policy, "pay"), {**payment, "amount": "1.00"}, format="json").status_code == 400
    response = finance.post(action_url(policy, "pay"), payment, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["payment_reference"]) == ("paid", "BACS-0042")
    assert finance.post(action_url(policy, "pay"), payment, format="json").status_code == 409

    response = client.post(
        action_url(policy, "endorse"),
        {
            "kind": "deductible",
            "effective_date": soon().isoformat(),
            "changes": {"coverage": "collision", "deductible": "250"},
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["policy"]["premium"] == "700.00"
    assert response.json()["endorsement"]["version"] == 2

    # Not started yet: cancelled from its start, and what was paid comes back.
    response = client.post(action_url(policy, "cancel"), {"reason": "sold"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["cancelled_on"]) == ("cancelled", soon().isoformat())
    assert body["refund_amount"] == str(first.amount)
