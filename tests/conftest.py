"""Suite-wide fixtures: the personas every test speaks of, API clients, and the database and broker notes."""

import os
from types import SimpleNamespace

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from insurance.core.roles import Role
from tests.accounts.factories import AgentProfileFactory, CustomerProfileFactory, UserFactory

# CHECK_TEMPLATES=1 (make test): a run of the whole suite fails when a project template was never rendered.
# Always: a run fails when any log record it wrote holds a planted secret (tests/log_watch.py).
pytest_plugins = ["tests.template_coverage", "tests.log_watch"]


def _database_vendor() -> str:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    return "postgresql" if "postgresql" in engine else connection.vendor


def pytest_report_header(config) -> list[str]:
    from django.conf import settings

    vendor = _database_vendor()
    if vendor == "postgresql":
        name = settings.DATABASES["default"].get("NAME")
        return [f"database: PostgreSQL ({name}, tests use a fresh test_ copy)"]
    return ["database: SQLite — tests marked `postgres` are SKIPPED (set DATABASE_URL or start PostgreSQL)"]


def pytest_collection_modifyitems(config, items) -> None:
    if _database_vendor() == "postgresql":
        return
    if os.environ.get("REQUIRE_POSTGRES"):
        raise pytest.UsageError("REQUIRE_POSTGRES is set but DATABASE_URL does not point to PostgreSQL")
    skip = pytest.mark.skip(reason="needs PostgreSQL; this run uses SQLite")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def personas(db) -> SimpleNamespace:
    """Alice and her agent, Bob of another agent, an underwriter, an admin, an analytics reader, an outsider."""
    alice_agent = AgentProfileFactory(user__username="alice_agent", agency="North Agency")
    other_agent = AgentProfileFactory(user__username="other_agent", agency="South Agency")
    alice = CustomerProfileFactory(user__username="alice", agent=alice_agent)
    bob = CustomerProfileFactory(user__username="bob", agent=other_agent)
    return SimpleNamespace(
        alice=alice.user,
        bob=bob.user,
        alice_agent=alice_agent.user,
        other_agent=other_agent.user,
        underwriter=UserFactory(username="underwriter", role=Role.UNDERWRITER),
        admin=UserFactory(username="admin_user", role=Role.ADMIN),
        analyst=UserFactory(username="analyst", role=Role.ANALYTICS_READER),
        outsider=UserFactory(username="outsider"),
    )


@pytest.fixture
def api_client(db):
    """`api_client(user)`: an APIClient authenticated with that user's token; `api_client(None)` is anonymous."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make
