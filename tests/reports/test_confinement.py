"""Analytics readers reach only /api/analytics/: every other API route, portal page and admin page refuses them (403),
by token or by session. Walks the URL resolver, so a route added later is held to the rule too."""

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.urls import get_resolver, reverse

from reports.services import analytics_token_issue
from tests.accounts.factories import TEST_PASSWORD
from tests.core.test_anonymous import _concrete, _walk

pytestmark = pytest.mark.django_db

ALLOWED_PAGES = set(settings.ANALYTICS_READER_ALLOWED_URL_NAMES)


def routes(prefix: str) -> list[tuple[str, str]]:
    found = sorted({(path, name) for path, name in _walk(get_resolver().url_patterns) if path.startswith(prefix)})
    return [(path, name) for path, name in found if _concrete(path) is not None]


def other_api_routes() -> list[tuple[str, str]]:
    return [(path, name) for path, name in routes("api/") if not path.startswith("api/analytics/")]


def portal_routes() -> list[tuple[str, str]]:
    return [(path, name) for path, name in routes("") if not path.startswith("api/")]


def test_the_walk_finds_routes_on_both_sides():
    names = {name for _, name in other_api_routes()}
    assert {"claims-api:claim-list", "fraud-api:score-list", "accounts-api:me", "schema"} <= names
    analytics = {name for _, name in routes("api/analytics/")}
    assert {"analytics-api:claims", "analytics-api:dictionary"} <= analytics
    assert {"home", "admin:index"} <= {name for _, name in portal_routes()}


@pytest.fixture
def analyst_callers(personas, api_client, client):
    """The analytics reader three ways: its analytics token, a DRF token, a session."""
    client.force_login(personas.analyst)
    secret = analytics_token_issue(actor=personas.admin, user=personas.analyst).secret
    by_token = api_client(None)
    by_token.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return {"analytics token": by_token, "drf token": api_client(personas.analyst), "session": client}


@pytest.mark.parametrize(("route", "name"), other_api_routes())
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_analytics_reader_is_refused_on_every_other_api_route(route, name, method, analyst_callers):
    path = _concrete(route)
    for how, caller in analyst_callers.items():
        response = getattr(caller, method)(path)
        assert response.status_code == 403, f"{how}: {method.upper()} {path} answered {response.status_code}"
        if response["Content-Type"].startswith("application/json"):  # the docs answer in their own formats
            assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize(("route", "name"), routes("api/analytics/"))
def test_an_analytics_reader_reaches_the_analytics_api(route, name, analyst_callers):
    for how in ("analytics token", "session"):
        response = analyst_callers[how].get(_concrete(route))
        assert response.status_code == 200, f"{how}: {route}"


@pytest.mark.parametrize(("route", "name"), portal_routes())
def test_an_analytics_reader_is_refused_on_every_page(route, name, personas, client):
    client.force_login(personas.analyst)
    response = client.get(_concrete(route))
    if name in ALLOWED_PAGES:
        assert response.status_code != 403, route
    else:
        assert response.status_code == 403, f"{route} answered {response.status_code}"


def test_other_roles_are_not_confined(personas, api_client, client):
    client.force_login(personas.alice_agent)
    assert client.get(reverse("home")).status_code == 200
    assert api_client(personas.alice_agent).get(reverse("accounts-api:me")).status_code == 200


def test_an_analytics_token_confines_whoever_holds_it(personas, analytics_client):
    """A token is for analytics even if its user later gains another role."""
    caller = analytics_client(personas.analyst)
    personas.analyst.groups.add(Group.objects.get(name="Underwriter"))
    assert caller.get(reverse("claims-api:claim-list")).status_code == 403
    assert caller.get(reverse("analytics-api:claims")).status_code == 200


def test_an_analytics_reader_signs_in_and_reads_the_dictionary_page(personas, client):
    target = reverse("analytics-api:dictionary") + "?format=html"
    response = client.post(
        reverse("login") + "?next=" + target.replace("?", "%3F").replace("=", "%3D"),
        {"username": "analyst", "password": TEST_PASSWORD},
    )
    assert response.status_code == 302
    assert response.url == target
    page = client.get(response.url)
    assert page.status_code == 200
    assert b"/api/analytics/fraud-scores/" in page.content
    assert client.get(reverse("home")).status_code == 403
