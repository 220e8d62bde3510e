"""The API's login (`POST /api/accounts/token/`): a user's token for their password, under the same lockout as the
portal's and the admin's login pages (one count per username and address for all three paths)."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.accounts.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = reverse("accounts-api:token")
WRONG = "wrong-password"


def token_login(username="alice", password=WRONG, client=None, ip="127.0.0.1"):
    client = client or APIClient()
    return client.post(TOKEN_URL, {"username": username, "password": password}, format="json", REMOTE_ADDR=ip)


def portal_login(username="alice", password=WRONG, ip="127.0.0.1"):
    return Client().post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def admin_login(username, password, ip="127.0.0.1"):
    client = Client()
    response = client.post(reverse("admin:login"), {"username": username, "password": password}, REMOTE_ADDR=ip)
    return response, client


def test_the_right_password_gets_the_users_token_which_opens_the_api(personas):
    response = token_login(password=TEST_PASSWORD)
    assert response.status_code == 200, response.content
    key = response.json()["token"]
    assert Token.objects.get(user=personas.alice).key == key
    assert token_login(password=TEST_PASSWORD).json()["token"] == key, "the same token each time"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(reverse("accounts-api:me")).json()["username"] == "alice"
    personas.alice.refresh_from_db()
    assert personas.alice.last_login is not None


def test_a_wrong_password_is_400_with_a_message_and_counted(personas):
    response = token_login()
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_credentials"
    assert "username and password" in error["message"]
    assert not Token.objects.filter(user=personas.alice).exists()
    assert AccessAttempt.objects.get(username="alice").failures_since_start == 1


@pytest.mark.parametrize("body", [{}, {"username": "alice"}, {"password": "x"}, {"username": ["a"], "password": 1}])
def test_missing_or_malformed_fields_are_400_naming_them(personas, body):
    response = APIClient().post(TOKEN_URL, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"]


def test_the_bodys_credentials_decide_not_the_callers_token(personas, api_client):
    response = token_login(username="bob", password=WRONG, client=api_client(personas.alice))
    assert response.status_code == 400
    assert not Token.objects.filter(user=personas.bob).exists()


def test_the_lockout_answers_429_with_a_json_message_even_for_the_right_password(personas, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert token_login().status_code == 400
    locked = token_login()
    assert locked.status_code == 429, locked.content
    assert locked["Content-Type"] == "application/json"
    error = locked.json()["error"]
    assert error["code"] == "locked_out"
    assert "try again in 15 minutes" in error["message"]
    assert locked["Retry-After"] == str(15 * 60)
    right = token_login(password=TEST_PASSWORD)
    assert right.status_code == 429
    assert "token" not in right.json()
    assert not Token.objects.filter(user=personas.alice).exists()
    # Another address is another pair: alice elsewhere still logs in.
    assert token_login(password=TEST_PASSWORD, ip="10.0.0.9").status_code == 200


def test_one_count_for_every_login_path(personas, settings):
    """Failures on the API and the portal add up; the lock then holds on the API, the portal and the admin."""
    username = personas.underwriter.username  # staff, so the admin's login page would let them in
    for _ in range(settings.AXES_FAILURE_LIMIT - 2):
        assert token_login(username=username).status_code == 400
    assert portal_login(username=username).status_code == 200  # the form again, with its error
    admin_failure, _ = admin_login(username, WRONG)
    assert admin_failure.status_code == 429, "the fifth failure, on the admin's page, locks"
    assert token_login(username=username, password=TEST_PASSWORD).status_code == 429
    portal = portal_login(username=username, password=TEST_PASSWORD)
    assert portal.status_code == 429
    assert "registration/lockout.html" in [template.name for template in portal.templates], "pages keep the page"
    admin, client = admin_login(username, TEST_PASSWORD)
    assert admin.status_code == 429
    assert SESSION_KEY not in client.session


def test_a_success_before_the_limit_starts_the_count_again(personas, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        token_login()
    assert token_login(password=TEST_PASSWORD).status_code == 200
    assert not AccessAttempt.objects.filter(username="alice").exists()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert token_login().status_code == 400
    assert token_login(password=TEST_PASSWORD).status_code == 200


def test_analytics_accounts_get_no_token_here(personas):
    """They use expiring analytics tokens (reports), held to /api/analytics/; a token for life would escape that."""
    personas.analyst.set_password(TEST_PASSWORD)
    personas.analyst.save()
    response = token_login(username="analyst", password=TEST_PASSWORD)
    assert response.status_code == 403, response.content
    assert "issue_analytics_token" in response.json()["error"]["message"]
    assert not Token.objects.filter(user=personas.analyst).exists()


def test_inactive_users_cannot_log_in(personas):
    personas.bob.is_active = False
    personas.bob.save()
    assert token_login(username="bob", password=TEST_PASSWORD).status_code == 400
    assert not Token.objects.filter(user=personas.bob).exists()


def test_an_unknown_username_is_answered_exactly_as_a_wrong_password(personas):
    """The answer must not tell which usernames exist."""
    unknown, wrong = token_login(username="nobody-here"), token_login(username="alice")
    assert (unknown.status_code, unknown.json()) == (wrong.status_code, wrong.json())


def test_a_forwarded_for_header_does_not_start_a_new_count(personas, settings):
    """The lockout counts the connection's address: a client cannot claim another in X-Forwarded-For."""
    for number in range(settings.AXES_FAILURE_LIMIT):
        APIClient().post(
            TOKEN_URL,
            {"username": "alice", "password": WRONG},
            format="json",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{number}",
        )
    assert token_login(password=TEST_PASSWORD).status_code == 429


@pytest.mark.parametrize("change", ["portal", "set_password"])
def test_a_password_change_revokes_the_api_token(personas, client, change):
    """A token got with the old password must not outlive it, whatever changed the password."""
    old = token_login(password=TEST_PASSWORD).json()["token"]
    new_password = "a-new-horse-battery-2026"
    if change == "portal":
        client.force_login(personas.alice)
        response = client.post(
            reverse("password_change"),
            {"old_password": TEST_PASSWORD, "new_password1": new_password, "new_password2": new_password},
        )
        assert response.status_code == 302
    else:
        personas.alice.set_password(new_password)
        personas.alice.save()
    assert not Token.objects.filter(key=old).exists()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert api.get(reverse("accounts-api:me")).status_code == 401
    fresh = token_login(password=new_password).json()["token"]
    assert fresh != old
    personas.alice.first_name = "Alicia"
    personas.alice.save()  # any other save leaves the token alone
    assert Token.objects.filter(key=fresh).exists()
