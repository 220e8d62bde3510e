"""Accounts services: users in roles, profile changes, per-object grants with expiry."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import AgentProfile, CustomerProfile, ObjectAccessGrant, User
from insurance.core.audit import system_account
from insurance.core.exceptions import ServiceError
from insurance.core.roles import Role, user_roles

GOOD_PASSWORD = "a-long-enough-passphrase"


@pytest.mark.django_db
@pytest.mark.parametrize("role", Role.values)
def test_user_create_puts_the_user_in_the_role(role, personas):
    extra = {"agency": "A", "licence_number": f"L-{role}"} if role == Role.AGENT else {}
    user = services.user_create(
        actor=personas.admin, username=f"new-{role}", role=role, password=GOOD_PASSWORD, **extra
    )
    assert user_roles(User.objects.get(pk=user.pk)) == {role}
    assert user.is_staff == (role in {Role.UNDERWRITER, Role.ADMIN})
    assert CustomerProfile.objects.filter(user=user).exists() == (role == Role.CUSTOMER)
    assert AgentProfile.objects.filter(user=user).exists() == (role == Role.AGENT)
    assert user.history.latest().history_user == personas.admin


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"username": "alice", "role": Role.CUSTOMER}, "username"),
        ({"username": "x", "role": "Pirate"}, "role"),
        ({"username": "x", "role": Role.AGENT}, "licence_number"),
        ({"username": "x", "role": Role.CUSTOMER, "password": "short"}, "password"),
        ({"username": "x", "role": Role.CUSTOMER, "customer_details": {"is_staff": True}}, "is_staff"),
    ],
)
def test_user_create_refuses_bad_input_and_stores_nothing(kwargs, field, personas):
    users_before = User.objects.count()
    with pytest.raises(ServiceError) as error:
        services.user_create(actor=personas.admin, **kwargs)
    assert field in error.value.fields
    assert User.objects.count() == users_before


@pytest.mark.django_db
def test_customer_profile_update_only_takes_contact_fields(personas):
    profile = personas.alice.customer_profile
    with pytest.raises(ServiceError):
        services.customer_profile_update(actor=personas.alice, profile=profile, agent=None)
    updated = services.customer_profile_update(actor=personas.alice, profile=profile, city="Bath")
    assert updated.city == "Bath"
    assert updated.history.latest().history_user == personas.alice


@pytest.mark.django_db
def test_a_grant_shows_one_object_until_it_expires(personas):
    bob_profile = personas.bob.customer_profile
    visible = CustomerProfile.objects.restrict(personas.alice_agent, "view")
    assert bob_profile not in visible

    services.object_access_grant(
        actor=personas.underwriter,
        user=personas.alice_agent,
        obj=bob_profile,
        expires_at=timezone.now() + timedelta(days=14),
        reason="covering for a colleague on leave",
    )
    assert bob_profile in CustomerProfile.objects.restrict(personas.alice_agent, "view")
    assert bob_profile not in CustomerProfile.objects.restrict(personas.alice_agent, "change")

    ObjectAccessGrant.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert bob_profile not in CustomerProfile.objects.restrict(personas.alice_agent, "view")


@pytest.mark.django_db
def test_a_grant_lets_a_user_without_the_model_permission_through_the_api(personas, api_client):
    from django.urls import reverse

    bob_profile = personas.bob.customer_profile
    url = reverse("accounts-api:customer-detail", args=[bob_profile.pk])
    assert api_client(personas.outsider).get(url).status_code == 403
    services.object_access_grant(
        actor=personas.admin,
        user=personas.outsider,
        obj=bob_profile,
        expires_at=timezone.now() + timedelta(hours=1),
        reason="external audit 2026-11",
    )
    assert api_client(personas.outsider).get(url).status_code == 200
    other = reverse("accounts-api:customer-detail", args=[personas.alice.customer_profile.pk])
    assert api_client(personas.outsider).get(other).status_code == 404
    assert api_client(personas.outsider).patch(url, {"city": "Nowhere"}, format="json").status_code == 403


@pytest.mark.django_db
def test_grants_need_a_reason_and_a_future_expiry(personas):
    profile = personas.bob.customer_profile
    with pytest.raises(ServiceError):
        services.object_access_grant(
            actor=personas.admin, user=personas.outsider, obj=profile, expires_at=None, reason=" "
        )
    with pytest.raises(ServiceError):
        services.object_access_grant(
            actor=personas.admin,
            user=personas.outsider,
            obj=profile,
            expires_at=timezone.now() - timedelta(days=1),
            reason="audit",
        )
    assert not ObjectAccessGrant.objects.exists()


@pytest.mark.django_db
def test_revoking_expired_grants_keeps_live_ones_and_audits_the_deletion(personas):
    profile = personas.bob.customer_profile
    expired, live = [
        services.object_access_grant(
            actor=personas.admin, user=user, obj=profile, expires_at=timezone.now() + timedelta(hours=1), reason="audit"
        )[0]
        for user in (personas.outsider, personas.analyst)
    ]
    ObjectAccessGrant.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    robot = system_account("celery")
    assert services.object_access_revoke_expired(actor=robot) == 1
    assert list(ObjectAccessGrant.objects.all()) == [live]
    deletion = ObjectAccessGrant.history.filter(id=expired.pk, history_type="-").get()
    assert deletion.history_user == robot


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("actions", "expires_in", "field"),
    [
        (["underwrite"], timedelta(days=1), "actions"),
        (["delete"], timedelta(days=1), "actions"),
        (["view"], None, "expires_at"),
        (["view"], timedelta(days=91), "expires_at"),
    ],
)
def test_only_time_boxed_view_or_change_grants(personas, actions, expires_in, field):
    with pytest.raises(ServiceError) as error:
        services.object_access_grant(
            actor=personas.underwriter,
            user=personas.outsider,
            obj=personas.bob.customer_profile,
            actions=actions,
            expires_at=timezone.now() + expires_in if expires_in else None,
            reason="covering",
        )
    assert field in error.value.fields
    assert not ObjectAccessGrant.objects.exists()


@pytest.mark.django_db
def test_the_admin_refuses_a_grant_the_service_would_refuse(client, personas):
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    client.force_login(personas.admin)
    content_type = ContentType.objects.get_for_model(CustomerProfile)
    form = {
        "user": personas.outsider.pk,
        "content_type": content_type.pk,
        "object_pk": personas.bob.customer_profile.pk,
        "permission": Permission.objects.get(codename="delete_customerprofile").pk,
        "expires_at_0": (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%d"),
        "expires_at_1": "12:00:00",
        "reason": "audit",
    }
    response = client.post("/admin/accounts/objectaccessgrant/add/", form)
    assert response.status_code == 200
    assert b"can be granted" in response.content
    assert not ObjectAccessGrant.objects.exists()
    form["permission"] = Permission.objects.get(codename="view_customerprofile").pk
    response = client.post("/admin/accounts/objectaccessgrant/add/", form)
    assert response.status_code == 302
    assert ObjectAccessGrant.objects.get().granted_by == personas.admin
