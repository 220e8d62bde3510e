"""BI service accounts: expiring analytics tokens, stored hashed, issued and revoked with an actor, refused when
expired, revoked or sent in a query string; the command prints a token once; the admin issues and revokes."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from insurance.core.exceptions import ServiceError
from reports.models import AnalyticsToken, token_hash
from reports.services import analytics_token_issue, analytics_token_revoke
from tests.reports.conftest import feed_url

pytestmark = pytest.mark.django_db


def bearer(secret: str, keyword: str = "Token") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {secret}")
    return client


def test_a_token_is_stored_only_as_its_hash_and_names_who_issued_it(personas):
    issued = analytics_token_issue(actor=personas.admin, user=personas.analyst, days=30, name="Power BI")
    token = AnalyticsToken.objects.get()
    assert issued.secret.startswith("bi_")
    assert len(issued.secret) > 40
    assert token.key_hash == token_hash(issued.secret) != issued.secret
    assert issued.secret not in {str(value) for value in AnalyticsToken.objects.values().get().values()}
    assert token.prefix == issued.secret[:10]
    assert abs(token.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert token.issued_by == personas.admin
    history = token.history.get()
    assert history.history_user == personas.admin
    assert not hasattr(history, "key_hash"), "the hash stays out of the history"


@pytest.mark.parametrize("persona", ["alice", "alice_agent", "underwriter", "admin", "outsider"])
def test_only_analytics_readers_get_tokens(persona, personas):
    with pytest.raises(ServiceError, match="not an analytics reader"):
        analytics_token_issue(actor=personas.admin, user=getattr(personas, persona))


@pytest.mark.parametrize("days", [0, -1, 366])
def test_a_token_lives_between_one_day_and_the_maximum(days, personas):
    with pytest.raises(ServiceError, match="days"):
        analytics_token_issue(actor=personas.admin, user=personas.analyst, days=days)


def test_a_token_reads_the_feeds_with_token_or_bearer(personas):
    secret = analytics_token_issue(actor=personas.admin, user=personas.analyst).secret
    assert bearer(secret).get(feed_url("claims")).status_code == 200
    assert bearer(secret, "Bearer").get(feed_url("claims")).status_code == 200


def test_an_expired_token_is_refused(personas):
    issued = analytics_token_issue(actor=personas.admin, user=personas.analyst, days=1)
    AnalyticsToken.objects.filter(pk=issued.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = bearer(issued.secret).get(feed_url("claims"))
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Token")


def test_a_revoked_token_is_refused_and_the_revocation_is_audited(personas):
    issued = analytics_token_issue(actor=personas.admin, user=personas.analyst)
    with pytest.raises(ServiceError, match="reason"):
        analytics_token_revoke(actor=personas.admin, token=issued.token, reason=" ")
    analytics_token_revoke(actor=personas.admin, token=issued.token, reason="Laptop lost")
    response = bearer(issued.secret).get(feed_url("claims"))
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]
    token = AnalyticsToken.objects.get()
    assert token.revoked_by == personas.admin
    assert token.revoke_reason == "Laptop lost"
    assert token.history.latest().history_user == personas.admin
    with pytest.raises(ServiceError, match="already"):
        analytics_token_revoke(actor=personas.admin, token=token, reason="Again")


def test_a_token_stops_when_its_user_is_no_longer_an_analytics_reader(personas):
    secret = analytics_token_issue(actor=personas.admin, user=personas.analyst).secret
    personas.analyst.groups.clear()
    assert bearer(secret).get(feed_url("claims")).status_code == 401


def test_an_unknown_analytics_token_is_refused(db):
    assert bearer("bi_" + "x" * 43).get(feed_url("claims")).status_code == 401


def test_an_analytics_reader_needs_an_expiring_token_not_a_drf_token(personas, api_client, client):
    response = api_client(personas.analyst).get(feed_url("claims"))
    assert response.status_code == 401
    assert "expiring analytics token" in response.json()["error"]["message"]
    client.force_login(personas.analyst)  # a session expires too: allowed
    assert client.get(feed_url("claims")).status_code == 200


def test_other_users_drf_tokens_keep_working(personas, api_client):
    assert api_client(personas.underwriter).get(reverse("claims-api:claim-list")).status_code == 200
    assert api_client(personas.alice).get(reverse("policies-api:policy-list")).status_code == 200
    assert api_client(personas.alice_agent).get(feed_url("claims")).status_code == 200


@pytest.mark.parametrize("param", ["token", "access_token", "auth_token", "key", "TOKEN"])
@pytest.mark.parametrize("url_name", ["analytics-api:claims", "claims-api:claim-list", "accounts-api:me"])
def test_a_token_in_the_query_string_is_refused_and_never_authenticates(param, url_name, personas, api_client):
    secret = analytics_token_issue(actor=personas.admin, user=personas.analyst).secret
    url = reverse(url_name)
    anonymous = APIClient().get(url, {param: secret})
    assert anonymous.status_code == 401
    assert "not accepted in the URL" in anonymous.json()["error"]["message"]
    # Even with good credentials in the header, a credential in the URL fails the request.
    with_header = api_client(personas.underwriter).get(url, {param: secret})
    assert with_header.status_code == 401


def test_the_command_prints_the_token_once(personas):
    out, err = StringIO(), StringIO()
    call_command("issue_analytics_token", "analyst", "--days", "7", "--name", "Tableau", stdout=out, stderr=err)
    secret = out.getvalue().strip()
    token = AnalyticsToken.objects.get()
    assert token.key_hash == token_hash(secret)
    assert token.name == "Tableau"
    assert token.expires_at - timezone.now() < timedelta(days=7, minutes=1)
    assert token.history.get().history_user.username == "system-command"
    assert secret not in err.getvalue()
    assert token.prefix in err.getvalue()
    assert bearer(secret).get(feed_url("claims")).status_code == 200


@pytest.mark.parametrize(("args", "message"), [(["nobody"], "No user"), (["alice"], "not an analytics reader")])
def test_the_command_refuses_with_a_reason(args, message, personas):
    with pytest.raises(CommandError, match=message):
        call_command("issue_analytics_token", *args, stdout=StringIO(), stderr=StringIO())


def test_an_admin_issues_a_token_in_the_admin_and_sees_it_once(personas, client):
    client.force_login(personas.admin)
    add_url = reverse("admin:reports_analyticstoken_add")
    assert client.get(add_url).status_code == 200
    response = client.post(add_url, {"user": personas.analyst.pk, "name": "Power BI", "days": 30}, follow=True)
    assert response.status_code == 200
    token = AnalyticsToken.objects.get()
    shown = [str(message) for message in get_messages(response.wsgi_request)] or [response.content.decode()]
    secret = next(word for text in shown for word in text.split() if word.startswith("bi_"))
    assert token.key_hash == token_hash(secret)
    assert token.issued_by == personas.admin
    detail = client.get(reverse("admin:reports_analyticstoken_change", args=[token.pk]))
    assert detail.status_code == 200
    assert secret.encode() not in detail.content


def test_an_admin_revokes_tokens_with_a_reason(personas, client):
    issued = analytics_token_issue(actor=personas.admin, user=personas.analyst)
    client.force_login(personas.admin)
    changelist = reverse("admin:reports_analyticstoken_changelist")
    action = {"action": "analytics_token_revoke", "_selected_action": [issued.token.pk]}
    client.post(changelist, {**action, "apply": "1", "reason": "Contract ended"})
    token = AnalyticsToken.objects.get()
    assert token.revoked_at is not None
    assert token.revoke_reason == "Contract ended"
    assert token.revoked_by == personas.admin
