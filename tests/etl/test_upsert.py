"""upsert_rows: the same results and the same history on PostgreSQL (COPY and merge) and on SQLite (bulk ORM)."""

from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import CustomerProfile, User
from etl.upsert import upsert_rows
from insurance.core.audit import system_account


@pytest.fixture
def actor(db):
    return system_account("command")


def _users(*names: str, **extra) -> list[dict]:
    return [{"username": name, "first_name": name.title(), "password": "!", **extra} for name in names]


def test_inserts_then_changes_nothing_on_the_same_rows(actor):
    first = upsert_rows(User, _users("ann", "ben"), key=("username",), actor=actor, reason="import batch 1")
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    assert set(first.pks) == {("ann",), ("ben",)} == first.created_keys
    assert User.objects.get(pk=first.pks[("ann",)]).first_name == "Ann"

    again = upsert_rows(User, _users("ann", "ben"), key=("username",), actor=actor, reason="import batch 2")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert again.pks == first.pks
    assert not again.created_keys
    history = User.history.filter(username__in=["ann", "ben"])
    assert history.count() == 2
    assert {(h.history_type, h.history_user_id, h.history_change_reason) for h in history} == {
        ("+", actor.pk, "import batch 1")
    }


def test_updates_only_what_differs_and_records_it(actor):
    upsert_rows(User, _users("ann", "ben"), key=("username",), actor=actor, reason="first")
    before = User.objects.get(username="ben").updated_at
    result = upsert_rows(
        User,
        [{"username": "ann", "first_name": "Annie", "password": "!"}, *_users("ben")],
        key=("username",),
        actor=actor,
        reason="second",
    )
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    assert User.objects.get(username="ann").first_name == "Annie"
    assert User.objects.get(username="ben").updated_at == before
    change = User.history.get(username="ann", history_type="~")
    assert (change.first_name, change.history_user_id, change.history_change_reason) == ("Annie", actor.pk, "second")


def test_columns_not_given_are_left_alone(actor):
    upsert_rows(User, _users("ann", email="ann@example.com"), key=("username",), actor=actor, reason="first")
    upsert_rows(User, [{"username": "ann", "first_name": "Ann"}], key=("username",), actor=actor, reason="second")
    assert User.objects.get(username="ann").email == "ann@example.com"


def test_foreign_keys_json_decimals_and_secrets(actor):
    users = upsert_rows(User, _users("ann"), key=("username",), actor=actor, reason="r")
    rows = [
        {
            "user_id": users.pks[("ann",)],
            "external_reference": "C-1",
            "attributes": {"hobby": "chess", "note": "tab\there, newline\nthere, back\\slash"},
            "city": "Zürich",
        }
    ]
    result = upsert_rows(CustomerProfile, rows, key=("external_reference",), actor=actor, reason="r")
    profile = CustomerProfile.objects.get(pk=result.pks[("C-1",)])
    assert profile.attributes["note"] == "tab\there, newline\nthere, back\\slash"
    assert profile.city == "Zürich"
    assert profile.country == "GB"  # the model default fills what a new row leaves out
    again = upsert_rows(CustomerProfile, rows, key=("external_reference",), actor=actor, reason="r")
    assert again.unchanged == 1
    # Secrets excluded from history never reach it, on either path.
    assert not hasattr(User.history.model, "password")


def test_insert_only_and_duplicate_keys(actor):
    result = upsert_rows(User, _users("ann", "ben"), key=None, actor=actor, reason="r")
    assert result.created == 2
    assert not result.pks
    with pytest.raises(ValueError, match="duplicate keys"):
        upsert_rows(User, _users("cat", "cat"), key=("username",), actor=actor, reason="r")
    with pytest.raises(ValueError, match="no column"):
        upsert_rows(User, [{"username": "dan", "nope": 1}], key=("username",), actor=actor, reason="r")


def test_decimal_scale_is_not_a_change(actor):
    from tests.policies.factories import make_test_product

    product = make_test_product()
    coverage = product.coverages.get(code="liability")
    from policies.models import Coverage

    row = {
        "product_id": product.pk,
        "code": "liability",
        "name": coverage.name,
        "base_rate": Decimal("500.0"),
        "default_limit": Decimal("100000"),
        "default_deductible": Decimal("0.00"),
    }
    result = upsert_rows(Coverage, [row], key=("product_id", "code"), actor=actor, reason="r")
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)
    assert result.pks[(product.pk, "liability")] == coverage.pk


@pytest.mark.postgres
def test_postgresql_uses_the_copy_path(actor, django_assert_max_num_queries):
    assert connection.vendor == "postgresql"
    with django_assert_max_num_queries(8):
        result = upsert_rows(
            User, _users(*[f"user{i}" for i in range(500)]), key=("username",), actor=actor, reason="r"
        )
    assert result.created == 500
    assert User.history.filter(history_change_reason="r").count() == 500


def test_a_given_creation_time_is_kept_on_every_database(actor):
    """The synthetic book dates its timeline: bulk_create's auto_now_add must not overwrite the given time."""
    from datetime import UTC, datetime

    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    result = upsert_rows(User, [{"username": "old", "created_at": when}], key=("username",), actor=actor, reason="r")
    assert User.objects.get(pk=result.pks[("old",)]).created_at == when
    assert User.history.get(username="old").created_at == when
