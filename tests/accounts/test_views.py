"""Portal pages: deny by default, role check (403) and row scope (404) as in the API."""

import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.django_db
def test_login_page_renders(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Log in" in response.content


@pytest.mark.django_db
def test_home_lists_only_customers_in_scope(client, personas):
    client.force_login(personas.alice_agent)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    names = [str(profile) for profile in response.context["customers"].rows]
    assert names == [str(personas.alice.customer_profile)]
    assert response.context["customers"].count == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("alice", 200),
        ("alice_agent", 200),
        ("bob", 404),
        ("other_agent", 404),
        ("underwriter", 200),
        ("outsider", 403),
        ("analyst", 403),
    ],
)
def test_customer_page_is_scoped(client, personas, persona, status):
    client.force_login(getattr(personas, persona))
    response = client.get(reverse("accounts:customer-detail", args=[personas.alice.customer_profile.pk]))
    assert response.status_code == status
    if status == 200:
        assert personas.alice.customer_profile.city.encode() in response.content
