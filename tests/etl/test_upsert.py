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


def test_a_companion_row_with_history_for_each_created_record_only(actor, personas):
    from datetime import UTC, date, datetime

    from claims.models import Claim, ClaimEvent
    from etl.upsert import Companion
    from tests.policies.factories import make_test_product, policy_in_state

    policy = policy_in_state(
        "in_force", holder=personas.alice, product=make_test_product(), effective_date=date(2025, 1, 1)
    )
    when = datetime(2025, 3, 1, 12, tzinfo=UTC)
    base = {"policy_id": policy.pk, "claimant_id": personas.alice.pk, "incident_at": when, "reported_at": when}
    base |= {"loss_type": "collision", "amount_claimed": Decimal("100.00"), "currency": "GBP"}
    rows = [{**base, "number": f"CMP-{i}", "description": "tab\there \\N"} for i in range(3)]
    event = Companion(model=ClaimEvent, link="claim_id", values={"kind": "imported", "actor_id": actor.pk})

    first = upsert_rows(
        Claim,
        rows,
        key=("number",),
        actor=actor,
        reason="first",
        insert_only={"reported_by_id": actor.pk},
        companion=event,
    )
    events = ClaimEvent.objects.filter(kind="imported").order_by("pk")
    assert [e.claim_id for e in events] == sorted(first.pks.values())
    assert {(e.actor_id, e.message, e.customer_visible) for e in events} == {(actor.pk, "", True)}  # defaults fill
    assert ClaimEvent.history.filter(history_change_reason="first", history_type="+").count() == 3
    assert Claim.objects.get(number="CMP-0").description == "tab\there \\N"

    rows[0]["description"] = "changed"
    again = upsert_rows(
        Claim,
        rows,
        key=("number",),
        actor=actor,
        reason="again",
        insert_only={"reported_by_id": actor.pk},
        companion=event,
    )
    assert (again.created, again.updated, again.unchanged) == (0, 1, 2)
    assert events.count() == 3  # an update adds no event
    assert not ClaimEvent.history.filter(history_change_reason="again").exists()
    with pytest.raises(ValueError, match="companion needs a key"):
        upsert_rows(Claim, rows, key=None, actor=actor, reason="r", companion=event)


def test_nulls_and_special_characters_survive_staging(actor):
    rows = [
        {"username": "tabby", "first_name": "a\tb", "last_name": "back\\slash", "email": ""},
        {"username": "liney", "first_name": "line\nbreak\r", "last_name": r"\N", "email": "x@example.com"},
    ]
    upsert_rows(User, rows, key=("username",), actor=actor, reason="r", insert_only={"password": "!"})
    tabby, liney = User.objects.get(username="tabby"), User.objects.get(username="liney")
    assert (tabby.first_name, tabby.last_name, tabby.email) == ("a\tb", "back\\slash", "")
    assert (liney.first_name, liney.last_name) == ("line\nbreak\r", r"\N")
    again = upsert_rows(User, rows, key=("username",), actor=actor, reason="r", insert_only={"password": "!"})
    assert again.unchanged == 2
