"""Accounts pages: log in with lockout, password change and reset by email, the profile, the agent's book of
customers, the role-aware navigation and the error pages."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.views.defaults import server_error

from accounts import views as account_views
from insurance.core.exceptions import ServiceError
from insurance.core.roles import Role
from tests.accounts.factories import TEST_PASSWORD, AgentProfileFactory, CustomerProfileFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")
PROFILE = reverse("accounts:profile")
CUSTOMERS = reverse("accounts:customer-list")


WRONG_PASSWORD = "wrong-password"


def attempt(client, username="alice", password=WRONG_PASSWORD, ip="127.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


# --- log in, log out, lockout -----------------------------------------------------------------------------------


def test_the_login_page_fits_the_design(client):
    response = client.get(LOGIN)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en-gb">' in html
    assert '<a class="skip-link" href="#main">Skip to content</a>' in html
    assert '<label for="id_username">Username</label>' in html
    assert "csrfmiddlewaretoken" in html
    assert reverse("password_reset") in html
    assert 'aria-label="Main"' not in html  # no portal navigation before signing in


def test_a_right_password_logs_in_and_goes_home(client, personas):
    response = attempt(client, password=TEST_PASSWORD)
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert client.session[SESSION_KEY] == str(personas.alice.pk)


def test_a_wrong_password_says_so_without_locking(client, personas):
    response = attempt(client)
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert not signed_in(client)


def test_the_fifth_failure_locks_and_the_sixth_attempt_is_refused_even_with_the_right_password(client, personas):
    for _ in range(4):
        assert attempt(client).status_code == 200
    locked = attempt(client)
    assert locked.status_code == 429
    assert "registration/lockout.html" in [template.name for template in locked.templates]
    html = locked.content.decode()
    assert "Too many failed logins" in html
    assert "failed 5 times" in html
    assert "Try again in 15 minutes" in html

    sixth = attempt(client, password=TEST_PASSWORD)
    assert sixth.status_code == 429
    assert not signed_in(client)


def test_the_lock_is_for_that_username_from_that_address_only(client, personas):
    for _ in range(5):
        attempt(client)
    assert attempt(client, password=TEST_PASSWORD).status_code == 429
    assert attempt(Client(), password=TEST_PASSWORD, ip="10.0.0.9").status_code == 302  # alice elsewhere
    assert attempt(Client(), username="bob", password=TEST_PASSWORD).status_code == 302  # bob here


def test_the_lock_ends_after_the_cool_off(client, personas):
    for _ in range(5):
        attempt(client)
    assert attempt(client, password=TEST_PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert attempt(client, password=TEST_PASSWORD).status_code == 302
    assert signed_in(client)


def test_a_success_before_the_limit_starts_the_count_again(client, personas):
    for _ in range(4):
        attempt(client)
    assert attempt(client, password=TEST_PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username="alice").exists()
    client.post(reverse("logout"))
    for _ in range(4):
        assert attempt(client).status_code == 200
    assert attempt(client, password=TEST_PASSWORD).status_code == 302  # four failures again: not locked
    assert signed_in(client)


def test_the_test_clients_login_still_works(client, personas):
    """A login without a request (Client.login, a shell) has no client address to lock: it passes through."""
    assert client.login(username="alice", password=TEST_PASSWORD)
    assert not client.login(username="alice", password=WRONG_PASSWORD)


def test_log_out_is_a_post(client, personas):
    client.force_login(personas.alice)
    html = client.get(PROFILE).content.decode()
    assert re.search(rf'<form method="post" action="{reverse("logout")}"[^>]*>', html)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response.url == LOGIN
    assert not signed_in(client)


# --- passwords ----------------------------------------------------------------------------------------------------


def test_a_password_change(client, personas):
    client.force_login(personas.alice)
    page = client.get(reverse("password_change"))
    assert page.status_code == 200
    assert 'aria-current="page">Change password</a>' in page.content.decode()
    new = "a-new-long-passphrase-42"
    wrong = client.post(
        reverse("password_change"),
        {"old_password": "not-it", "new_password1": new, "new_password2": new},
    )
    assert wrong.status_code == 200
    assert "Your old password was entered incorrectly" in wrong.content.decode()
    response = client.post(
        reverse("password_change"),
        {"old_password": TEST_PASSWORD, "new_password1": new, "new_password2": new},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("password_change_done")
    assert "Your password has been changed" in response.content.decode()
    personas.alice.refresh_from_db()
    assert personas.alice.check_password(new)


def test_password_change_needs_a_login(client):
    response = client.get(reverse("password_change"))
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)


def test_a_password_reset_by_email(client, personas):
    form = client.get(reverse("password_reset"))
    assert form.status_code == 200
    assert "Reset your password" in form.content.decode()
    response = client.post(reverse("password_reset"), {"email": personas.alice.email}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("password_reset_done")
    assert "Check your email" in response.content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [personas.alice.email]
    assert message.subject == "Set a new password for the insurance platform"
    link = re.search(r"http://testserver(/password/reset/\S+/)", message.body).group(1)

    confirm = client.get(link, follow=True)  # Django swaps the token for a session key, then shows the form
    assert confirm.status_code == 200
    assert confirm.context["validlink"] is True
    new = "a-new-long-passphrase-42"
    done = client.post(confirm.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}, follow=True)
    assert done.redirect_chain[-1][0] == reverse("password_reset_complete")
    assert "Your new password is set" in done.content.decode()
    assert attempt(Client(), password=new).status_code == 302

    reused = client.get(link, follow=True)
    assert reused.context["validlink"] is False
    assert "This link no longer works" in reused.content.decode()


def test_a_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client, personas):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("password_reset_done")
    assert mail.outbox == []


# --- profile ------------------------------------------------------------------------------------------------------


def test_a_customer_sees_their_contact_details(client, personas):
    profile = personas.alice.customer_profile
    client.force_login(personas.alice)
    response = client.get(PROFILE)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'value="{profile.city}"' in html
    assert 'autocomplete="postal-code"' in html
    assert str(profile.agent) in html
    assert 'aria-current="page">Profile</a>' in html


def test_a_customer_edits_their_address_and_history_names_them(client, personas):
    profile = personas.alice.customer_profile
    data = {
        "phone": "+44 20 7946 0000",
        "address_line1": "1 New Street",
        "address_line2": "",
        "city": "Leeds",
        "postal_code": "LS1 1AA",
        "region": "West Yorkshire",
        "country": "gb",
    }
    client.force_login(personas.alice)
    response = client.post(PROFILE, data, follow=True)
    assert response.redirect_chain[-1][0] == PROFILE
    assert "Your details have been saved." in response.content.decode()
    profile.refresh_from_db()
    assert (profile.city, profile.address_line1, profile.country) == ("Leeds", "1 New Street", "GB")
    latest = profile.history.latest()
    assert latest.history_user == personas.alice
    assert latest.city == "Leeds"


def test_an_unchanged_profile_writes_nothing(client, personas):
    profile = personas.alice.customer_profile
    rows = profile.history.count()
    data = {name: getattr(profile, name) for name in ("phone", "address_line1", "address_line2", "city")}
    data.update(postal_code=profile.postal_code, region=profile.region, country=profile.country)
    client.force_login(personas.alice)
    response = client.post(PROFILE, data, follow=True)
    assert "Nothing was changed." in response.content.decode()
    assert profile.history.count() == rows


def test_a_bad_country_is_shown_on_the_form(client, personas):
    client.force_login(personas.alice)
    response = client.post(PROFILE, {"city": "Leeds", "country": "G1"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter the two-letter country code" in html
    assert 'aria-invalid="true"' in html
    personas.alice.customer_profile.refresh_from_db()
    assert personas.alice.customer_profile.city != "Leeds"


def test_a_service_refusal_is_a_form_error_not_a_500(client, personas, monkeypatch):
    def refuse(**kwargs):
        raise ServiceError("Postcode is not in the region.", fields={"postal_code": ["not in the region"]})

    monkeypatch.setattr(account_views.services, "customer_profile_update", refuse)
    client.force_login(personas.alice)
    response = client.post(PROFILE, {"postal_code": "ZZ1", "country": "GB"})
    assert response.status_code == 400
    assert "not in the region" in response.content.decode()


def test_the_profile_form_needs_its_csrf_token(personas):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.alice)
    assert client.post(PROFILE, {"city": "Leeds", "country": "GB"}).status_code == 403


@pytest.mark.parametrize(("persona", "shown"), [("alice_agent", "North Agency"), ("underwriter", "Underwriter")])
def test_other_roles_see_their_account_details(client, personas, persona, shown):
    client.force_login(getattr(personas, persona))
    response = client.get(PROFILE)
    assert response.status_code == 200
    assert shown in response.content.decode()
    assert response.context.get("form") is None
    assert client.post(PROFILE, {"city": "Leeds", "country": "GB"}).status_code == 403


def test_a_user_without_a_role_is_told_to_ask_for_one(client, personas):
    client.force_login(personas.outsider)
    assert "None yet: ask an administrator" in client.get(PROFILE).content.decode()


# --- the agent's book of customers --------------------------------------------------------------------------------


def names(response) -> list[str]:
    return [str(profile) for profile in response.context["customers"]]


def test_an_agent_sees_only_their_customers(client, personas):
    client.force_login(personas.alice_agent)
    response = client.get(CUSTOMERS)
    assert response.status_code == 200
    assert names(response) == [str(personas.alice.customer_profile)]
    html = response.content.decode()
    assert reverse("reports:customer-360", args=[personas.alice.customer_profile.pk]) in html
    assert str(personas.bob.customer_profile) not in html
    assert 'aria-current="page">Customers</a>' in html


def test_underwriters_see_every_customer(client, personas):
    client.force_login(personas.underwriter)
    assert set(names(client.get(CUSTOMERS))) == {
        str(personas.alice.customer_profile),
        str(personas.bob.customer_profile),
    }


def test_the_search_matches_name_email_and_number(client, personas):
    agent = personas.alice_agent.agent_profile
    ada = CustomerProfileFactory(
        user__first_name="Ada", user__last_name="Lovelace", user__email="ada@engine.test", agent=agent
    )
    ada.external_reference = "CUST-7781"
    ada.save()
    CustomerProfileFactory(user__first_name="Charles", user__last_name="Babbage", agent=agent)
    CustomerProfileFactory(user__first_name="Ada", user__last_name="Byron", agent=personas.other_agent.agent_profile)
    client.force_login(personas.alice_agent)
    for search in ("lovelace", "Ada Lovelace", "engine.test", "7781", str(ada.pk)):
        assert names(client.get(CUSTOMERS, {"q": search})) == ["Ada Lovelace"], search
    assert names(client.get(CUSTOMERS, {"q": "ada"})) == ["Ada Lovelace"]  # not the other agent's Ada
    empty = client.get(CUSTOMERS, {"q": "nobody-like-this"})
    assert names(empty) == []
    assert "No customer matches" in empty.content.decode()


def test_a_number_too_big_for_an_id_finds_nothing_rather_than_failing(client, personas):
    client.force_login(personas.underwriter)
    response = client.get(CUSTOMERS, {"q": "9" * 40})
    assert response.status_code == 200
    assert names(response) == []


def test_the_book_is_paginated(client, personas):
    agent = AgentProfileFactory(user__username="busy_agent")
    for _ in range(30):
        CustomerProfileFactory(agent=agent)
    client.force_login(agent.user)
    first = client.get(CUSTOMERS)
    assert len(first.context["customers"]) == 25
    assert "Page 1 of 2" in first.content.decode()
    second = client.get(CUSTOMERS, {"page": 2})
    assert len(second.context["customers"]) == 5
    assert set(names(first)).isdisjoint(names(second))
    searched = client.get(CUSTOMERS, {"q": "example.com"})
    assert 'href="?q=example.com&amp;page=2"' in searched.content.decode()  # the next page keeps the search


def test_an_agent_without_customers_gets_an_empty_state(client, personas):
    agent = AgentProfileFactory(user__username="new_agent")
    client.force_login(agent.user)
    assert "No customers in your book yet." in client.get(CUSTOMERS).content.decode()


@pytest.mark.parametrize("persona", ["alice", "outsider", "analyst"])
def test_the_book_is_refused_to_other_roles(client, personas, persona):
    client.force_login(getattr(personas, persona))
    response = client.get(CUSTOMERS)
    assert response.status_code == 403


def test_the_book_needs_a_login(client):
    response = client.get(CUSTOMERS)
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)


# --- navigation and error pages ------------------------------------------------------------------------------------


def nav_labels(html: str) -> list[str]:
    nav = re.search(r'<nav class="site-nav" aria-label="Main">(.*?)</nav>', html, re.S).group(1)
    return re.findall(r">([^<>]+)</a>", nav)


@pytest.mark.parametrize(
    ("persona", "labels"),
    [
        ("alice", ["Home", "Policies", "Claims", "Get a quote", "Profile"]),
        ("alice_agent", ["Home", "Customers", "Quotes and policies", "Claims", "Renewals"]),
        ("underwriter", ["Home", "Referrals", "Claim review", "KPI dashboard", "Admin"]),
        ("admin", ["Home", "Referrals", "Claim review", "KPI dashboard", "Admin"]),
        ("outsider", ["Home"]),
    ],
)
def test_the_navigation_follows_the_role(client, personas, persona, labels):
    client.force_login(getattr(personas, persona))
    html = client.get(reverse("home")).content.decode()
    assert nav_labels(html) == labels
    assert f'<a href="{reverse("home")}" aria-current="page">Home</a>' in html
    assert "Change password" in html


def test_a_user_with_two_roles_gets_both_sets_of_links(client, personas):
    from django.contrib.auth.models import Group

    personas.alice_agent.groups.add(Group.objects.get(name=Role.UNDERWRITER))
    client.force_login(personas.alice_agent)
    labels = nav_labels(client.get(CUSTOMERS).content.decode())
    assert labels[:5] == ["Home", "Referrals", "Claim review", "KPI dashboard", "Admin"]
    assert {"Customers", "Renewals"} <= set(labels)
    assert labels.count("Home") == 1


def test_a_page_below_a_link_marks_its_section(client, personas):
    client.force_login(personas.alice_agent)
    url = reverse("accounts:customer-detail", args=[personas.alice.customer_profile.pk])
    html = client.get(url).content.decode()
    assert f'<a href="{CUSTOMERS}" aria-current="true">Customers</a>' in html


def test_not_found_and_forbidden_pages_use_the_design(client, personas):
    client.force_login(personas.alice)
    missing = client.get(reverse("accounts:customer-detail", args=[personas.bob.customer_profile.pk]))
    assert missing.status_code == 404
    assert "404.html" in [template.name for template in missing.templates]
    assert "Page not found" in missing.content.decode()
    forbidden = client.get(CUSTOMERS)
    assert forbidden.status_code == 403
    assert "403.html" in [template.name for template in forbidden.templates]
    assert "This page is not available to you" in forbidden.content.decode()
    assert 'aria-label="Main"' in forbidden.content.decode()


def test_the_server_error_page_needs_no_database_and_no_context(django_assert_num_queries):
    request = RequestFactory().get("/")
    with django_assert_num_queries(0):
        response = server_error(request)
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    assert "/static/css/site.css" in html


def test_every_user_can_reach_the_stylesheet():
    from django.contrib.staticfiles import finders

    css = finders.find("css/site.css")
    text = Path(css).read_text(encoding="utf-8")
    for selector in (
        ".page-header",
        ".cards",
        ".card h2",
        ".table-wrap",
        "table.data",
        ".badge--approved",
        ".button--danger",
        "form.stack",
        ".form-errors",
        ".empty",
        ".message--error",
        "dl.facts",
        "ol.timeline",
        ".timeline-when",
        ".dropzone",
        "progress",
        ".search",
        ".pagination",
        ".split",
        ".score",
        ":focus-visible",
    ):
        assert selector in text, selector
    assert "http://" not in text
    assert "https://" not in text
    assert "@import" not in text
