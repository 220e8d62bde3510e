"""Security review of the portal, across apps: no open redirect through `next`, and the profile form writes only
the contact fields a customer may change."""

from datetime import date

import pytest
from django.urls import reverse

from tests.accounts.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

ELSEWHERE = ["https://evil.example/phish", "//evil.example/phish", "/\\evil.example", "http:evil.example"]


@pytest.mark.parametrize("target", ELSEWHERE)
def test_logging_in_never_sends_the_user_to_another_site(client, personas, target):
    page = client.get(reverse("login"), {"next": target})
    assert "evil.example" not in page.content.decode()
    response = client.post(reverse("login"), {"username": "alice", "password": TEST_PASSWORD, "next": target})
    assert response.status_code == 302
    assert response.url == reverse("home")


@pytest.mark.parametrize("target", ELSEWHERE)
def test_logging_out_never_sends_the_user_to_another_site(client, personas, target):
    client.force_login(personas.alice)
    response = client.post(reverse("logout"), {"next": target})
    assert response.status_code == 302
    assert response.url == reverse("login")


def test_a_page_inside_the_site_is_still_reached_after_logging_in(client, personas):
    wanted = reverse("claims:claim-list")
    response = client.post(reverse("login"), {"username": "alice", "password": TEST_PASSWORD, "next": wanted})
    assert response.url == wanted


def test_the_profile_form_cannot_move_a_customer_to_another_agent(client, personas):
    profile = personas.alice.customer_profile
    profile.date_of_birth = date(1980, 5, 17)
    profile.save()
    client.force_login(personas.alice)
    response = client.post(
        reverse("accounts:profile"),
        {
            "phone": "+44 20 7946 0000",
            "address_line1": "1 Main St",
            "city": "Bath",
            "postal_code": "BA1 1AA",
            "country": "GB",
            "agent": personas.other_agent.agent_profile.pk,
            "user": personas.bob.pk,
            "date_of_birth": "2001-01-01",
            "external_reference": "CUST-1",
        },
    )
    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.city, profile.agent.user, profile.user) == ("Bath", personas.alice_agent, personas.alice)
    assert (profile.date_of_birth, profile.external_reference) == (date(1980, 5, 17), None)
