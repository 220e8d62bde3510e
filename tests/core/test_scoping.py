"""restrict(user, action): the one rule for which rows a user reaches."""

import pytest

from accounts.models import AgentProfile, CustomerProfile, User
from insurance.core.audit import system_account
from insurance.core.scoping import restrict_queryset


def usernames(queryset) -> set[str]:
    return set(queryset.values_list("username", flat=True))


@pytest.mark.django_db
def test_customer_reaches_only_their_own_rows(personas):
    assert usernames(User.objects.restrict(personas.alice)) == {"alice"}
    assert set(CustomerProfile.objects.restrict(personas.alice)) == {personas.alice.customer_profile}
    assert not AgentProfile.objects.restrict(personas.alice).exists()


@pytest.mark.django_db
def test_agent_reaches_their_customers_and_themselves(personas):
    assert usernames(User.objects.restrict(personas.alice_agent)) == {"alice", "alice_agent"}
    assert set(CustomerProfile.objects.restrict(personas.alice_agent, "change")) == {personas.alice.customer_profile}
    assert set(AgentProfile.objects.restrict(personas.alice_agent)) == {personas.alice_agent.agent_profile}


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["underwriter", "admin"])
def test_book_wide_roles_reach_everything(personas, persona):
    user = getattr(personas, persona)
    assert CustomerProfile.objects.restrict(user, "change").count() == CustomerProfile.objects.count()


@pytest.mark.django_db
def test_analytics_reader_reads_but_never_writes(personas):
    assert CustomerProfile.objects.restrict(personas.analyst, "view").count() == 2
    assert not CustomerProfile.objects.restrict(personas.analyst, "change").exists()


@pytest.mark.django_db
def test_nobody_else_reaches_anything(personas):
    from django.contrib.auth.models import AnonymousUser

    assert not CustomerProfile.objects.restrict(personas.outsider).exists()
    assert not CustomerProfile.objects.restrict(AnonymousUser()).exists()
    assert not CustomerProfile.objects.restrict(None).exists()
    personas.underwriter.is_active = False
    assert not CustomerProfile.objects.restrict(personas.underwriter).exists()


@pytest.mark.django_db
def test_system_accounts_reach_everything(personas):
    robot = system_account("celery")
    assert CustomerProfile.objects.restrict(robot, "delete").count() == 2


@pytest.mark.django_db
def test_unknown_action_is_a_programming_error(personas):
    with pytest.raises(ValueError, match="unknown action"):
        restrict_queryset(User.objects.all(), personas.admin, "approve all")


@pytest.mark.django_db
def test_custom_verbs_follow_the_write_rules(personas):
    assert set(CustomerProfile.objects.restrict(personas.alice, "bind")) == {personas.alice.customer_profile}
    assert not CustomerProfile.objects.restrict(personas.analyst, "bind").exists()
