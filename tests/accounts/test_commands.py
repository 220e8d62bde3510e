"""Management commands: thin, audited as the command system account (or --actor)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.demo import DEMO_USERS
from accounts.models import User
from insurance.core.roles import Role, user_roles


@pytest.mark.django_db
def test_create_user_records_the_command_account_as_actor():
    out = StringIO()
    call_command("create_user", "carol", "--role", Role.UNDERWRITER, "--password", "carol-strong-pass-1", stdout=out)
    carol = User.objects.get(username="carol")
    assert user_roles(carol) == {Role.UNDERWRITER}
    assert carol.is_staff
    assert carol.history.latest().history_user.username == "system-command"
    assert "Created Underwriter carol" in out.getvalue()


@pytest.mark.django_db
def test_create_user_with_actor_and_agent(personas):
    call_command(
        "create_user",
        "dave",
        "--role",
        Role.CUSTOMER,
        "--agent",
        "alice_agent",
        "--actor",
        "admin_user",
        "--token",
        stdout=StringIO(),
    )
    dave = User.objects.get(username="dave")
    assert dave.customer_profile.agent.user == personas.alice_agent
    assert dave.history.latest().history_user == personas.admin
    assert not dave.has_usable_password()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["erin", "--role", Role.CUSTOMER, "--agent", "nobody"], "--agent: no agent named 'nobody'"),
        (["erin", "--role", Role.AGENT], "An agent needs an agency and a licence number."),
        (["erin", "--role", Role.CUSTOMER, "--actor", "ghost"], "--actor: no user named 'ghost'"),
    ],
)
def test_create_user_errors_are_clear(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_user", *args, stdout=StringIO())
    assert not User.objects.filter(username="erin").exists()


@pytest.mark.django_db
def test_demo_users_are_created_once_with_working_passwords(client):
    first, second = StringIO(), StringIO()
    call_command("create_demo_users", stdout=first)
    call_command("create_demo_users", stdout=second)
    assert "already there" in second.getvalue()
    for demo in DEMO_USERS:
        assert demo.password in first.getvalue()
        assert user_roles(User.objects.get(username=demo.username)) == {demo.role}
        assert client.login(username=demo.username, password=demo.password)
        client.logout()
