"""Accounts API: profiles scoped by persona, through the generic API test base, plus the specific rules."""

import pytest
from django.urls import reverse

from insurance.core.testing import DEFAULT_DETAIL_STATUS, ScopedEndpointTests, ScopedWritableEndpointTests


class TestCustomerProfileEndpoint(ScopedWritableEndpointTests):
    basename = "accounts-api:customer"
    update_payload = {"city": "York", "postal_code": "YO1 7HH"}

    def make_object(self, personas):
        return personas.alice.customer_profile


class TestCustomerProfileUpdatedByAgent(TestCustomerProfileEndpoint):
    update_as = "alice_agent"


class TestAgentProfileEndpoint(ScopedEndpointTests):
    basename = "accounts-api:agent"
    # Customers hold no permission on agent records at all (403); another agent's record is out of scope (404).
    detail_status = {**DEFAULT_DETAIL_STATUS, "alice": 403, "bob": 403}

    def make_object(self, personas):
        return personas.alice_agent.agent_profile


@pytest.mark.django_db
def test_alice_cannot_see_bobs_profile_but_her_agent_sees_hers(personas, api_client):
    bob_url = reverse("accounts-api:customer-detail", args=[personas.bob.customer_profile.pk])
    alice_url = reverse("accounts-api:customer-detail", args=[personas.alice.customer_profile.pk])

    response = api_client(personas.alice).get(bob_url)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"

    response = api_client(personas.alice_agent).get(alice_url)
    assert response.status_code == 200
    assert response.json()["user"]["username"] == "alice"


@pytest.mark.django_db
def test_customer_cannot_reassign_their_agent(personas, api_client):
    profile = personas.alice.customer_profile
    other_agent = personas.other_agent.agent_profile
    url = reverse("accounts-api:customer-detail", args=[profile.pk])
    response = api_client(personas.alice).patch(url, {"agent": other_agent.pk, "city": "Hull"}, format="json")
    assert response.status_code == 200
    profile.refresh_from_db()
    assert profile.agent == personas.alice_agent.agent_profile
    assert profile.city == "Hull"


@pytest.mark.django_db
def test_invalid_input_answers_400_with_the_field_named(personas, api_client):
    profile = personas.alice.customer_profile
    url = reverse("accounts-api:customer-detail", args=[profile.pk])
    before = profile.history.count()
    response = api_client(personas.alice).patch(url, {"date_of_birth": "31/02/1990"}, format="json")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["status"] == 400
    assert "date_of_birth" in body["fields"]
    assert body["message"].startswith("date_of_birth:")
    assert profile.history.count() == before


@pytest.mark.django_db
def test_delete_is_not_offered(personas, api_client):
    url = reverse("accounts-api:customer-detail", args=[personas.alice.customer_profile.pk])
    assert api_client(personas.admin).delete(url).status_code == 405


@pytest.mark.django_db
def test_me_names_the_roles(personas, api_client):
    response = api_client(personas.alice_agent).get(reverse("accounts-api:me"))
    assert response.status_code == 200
    assert response.json()["roles"] == ["Agent"]
    assert api_client(None).get(reverse("accounts-api:me")).status_code == 401


@pytest.mark.django_db
def test_session_login_works_for_the_api_too(personas, client):
    from tests.accounts.factories import TEST_PASSWORD

    assert client.login(username="alice", password=TEST_PASSWORD)
    response = client.get(reverse("accounts-api:me"))
    assert response.status_code == 200
    assert response.json()["username"] == "alice"
