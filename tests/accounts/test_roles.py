"""Role groups: created by the data migration, with their permissions, idempotently."""

import pytest
from django.contrib.auth.models import Group, Permission

from accounts.roles import declared_permissions, sync_role_groups
from insurance.core.roles import Role


def _snapshot() -> dict[str, set[str]]:
    return {
        group.name: set(group.permissions.values_list("content_type__app_label", "codename"))
        for group in Group.objects.order_by("name")
    }


@pytest.mark.django_db
def test_every_role_group_exists_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)


@pytest.mark.django_db
def test_running_the_role_sync_twice_changes_nothing():
    before = _snapshot()
    sync_role_groups()
    sync_role_groups()
    assert _snapshot() == before


@pytest.mark.django_db
def test_sync_restores_a_missing_group_without_touching_hand_added_permissions():
    Group.objects.get(name=Role.CUSTOMER).delete()
    underwriters = Group.objects.get(name=Role.UNDERWRITER)
    extra = Permission.objects.get(codename="add_agentprofile")
    underwriters.permissions.add(extra)
    sync_role_groups()
    assert Group.objects.filter(name=Role.CUSTOMER).exists()
    assert underwriters.permissions.filter(pk=extra.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "has", "lacks"),
    [
        (
            Role.CUSTOMER,
            {"view_customerprofile", "change_customerprofile"},
            {"add_customerprofile", "view_agentprofile"},
        ),
        (Role.AGENT, {"view_customerprofile", "add_customerprofile", "view_agentprofile"}, {"change_agentprofile"}),
        (Role.UNDERWRITER, {"view_customerprofile", "add_objectaccessgrant"}, {"delete_customerprofile"}),
        (Role.ANALYTICS_READER, set(), {"view_customerprofile", "view_user"}),
    ],
)
def test_role_permissions(role, has, lacks):
    codenames = set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))
    assert has <= codenames
    assert not (lacks & codenames)


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.AGENT])
def test_claimants_hold_the_document_permission_their_role_declares(role):
    """claims/apps.py declares view and add on claim documents for customers and agents; a spread of read-only
    parts once overrode it with view alone."""
    assert ("claims", "add_claimdocument") in declared_permissions()[role]
    group = Group.objects.get(name=role)
    add_document = Permission.objects.get(content_type__app_label="claims", codename="add_claimdocument")
    assert set(
        group.permissions.filter(content_type__app_label="claims", codename__endswith="_claimdocument").values_list(
            "codename", flat=True
        )
    ) == {"view_claimdocument", "add_claimdocument"}
    # A database whose groups were synced before the fix gets it at its next migrate (post_migrate runs the sync).
    group.permissions.remove(add_document)
    sync_role_groups()
    assert group.permissions.filter(pk=add_document.pk).exists()


@pytest.mark.django_db
def test_a_customer_may_add_documents_to_claims(personas):
    assert personas.alice.has_perm("claims.add_claimdocument")
    assert personas.alice_agent.has_perm("claims.add_claimdocument")
    assert not personas.alice.has_perm("claims.change_claimdocument")


@pytest.mark.django_db
def test_admin_role_holds_every_project_permission():
    from django.conf import settings

    admin_codes = set(Group.objects.get(name=Role.ADMIN).permissions.values_list("pk", flat=True))
    project = set(
        Permission.objects.filter(content_type__app_label__in=settings.PROJECT_APPS).values_list("pk", flat=True)
    )
    assert project
    assert project <= admin_codes


@pytest.mark.django_db
def test_system_accounts_exist_and_cannot_log_in():
    from django.conf import settings

    from accounts.models import User

    for username in settings.SYSTEM_ACCOUNTS.values():
        user = User.objects.get(username=username)
        assert user.is_system
        assert not user.is_active
        assert not user.has_usable_password()
