"""Deny by default: every route refuses anonymous requests unless it is on the explicit allow-list."""

import re

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

ALLOWED = set(settings.ANONYMOUS_ALLOWED_URL_NAMES)


def _walk(patterns, prefix="", namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), f"{namespace}{pattern.name}" if pattern.name else None


def _concrete(route: str) -> str | None:
    """A requestable path for a route: parameters filled with 1 (or a word); regex-only routes are skipped."""
    route = re.sub(r"\(\?P<format>[^)]*\)", "", route)  # DRF's optional format suffix
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "1", route)  # router regex groups
    route = route.replace("^", "").replace("$", "")
    route = re.sub(r"<(?:int:)?(\w*pk|\w*id)>", "1", route)
    route = re.sub(r"<(?:\w+:)?\w+>", "x", route)
    route = route.replace("\\.", ".")
    if any(char in route for char in "()[]?*+\\^$"):
        return None
    return "/" + route


def api_routes():
    return sorted({(path, name) for path, name in _walk(get_resolver().url_patterns) if path.startswith("api/")})


def app_routes():
    return sorted(
        {(path, name) for path, name in _walk(get_resolver().url_patterns) if not path.startswith(("api/", "admin/"))}
    )


def test_the_walk_finds_the_api():
    names = {name for _, name in api_routes()}
    assert {"accounts-api:customer-list", "accounts-api:me", "schema"} <= names


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "name"), api_routes())
@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
def test_api_route_refuses_anonymous(client, route, name, method):
    path = _concrete(route)
    if path is None:
        pytest.skip(f"no concrete path for {route}")
    response = getattr(client, method)(path)
    if name in ALLOWED:
        # 400: a login route answers an empty body on its merits (no credentials), never with a refusal.
        assert response.status_code in (200, 400, 405), f"{path} is allow-listed"
    else:
        assert response.status_code in (401, 403), f"{method.upper()} {path} answered {response.status_code}"
        if response.status_code == 401:
            assert response.headers["WWW-Authenticate"].startswith("Token")


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "name"), app_routes())
def test_portal_route_refuses_anonymous(client, route, name):
    path = _concrete(route)
    if path is None:
        pytest.skip(f"no concrete path for {route}")
    response = client.get(path)
    if name in ALLOWED:
        assert response.status_code in (200, 405, 503), f"{path} is allow-listed"
    else:
        assert response.status_code == 302, f"{path} answered {response.status_code}"
        assert response.url.startswith(settings.LOGIN_URL if settings.LOGIN_URL.startswith("/") else "/login/")


@pytest.mark.django_db
def test_admin_requires_login(client):
    response = client.get("/admin/accounts/customerprofile/")
    assert response.status_code == 302
    assert "login" in response.url
