"""Every write in accounts. Each service takes the acting user explicitly and records it on the history rows."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from insurance.core.audit import acting_as
from insurance.core.confinement import is_confined
from insurance.core.exceptions import ServiceError
from insurance.core.logging import current_request
from insurance.core.roles import STAFF_ROLES, Role

from .choices import DataAccessAction
from .models import AgentProfile, CustomerProfile, DataAccessLog, ObjectAccessGrant, User

CUSTOMER_EDITABLE_FIELDS = frozenset(
    {"phone", "date_of_birth", "address_line1", "address_line2", "city", "postal_code", "region", "country"}
)


@transaction.atomic
def user_create(
    *,
    actor: User,
    username: str,
    role: str,
    password: str | None = None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    agent: AgentProfile | None = None,
    agency: str = "",
    licence_number: str = "",
    customer_details: dict | None = None,
) -> User:
    """Create a user in one role, with the profile the role needs (a customer or agent profile).

    Underwriters and admins get staff status so they can use the admin. `password=None` leaves the account
    without a usable password (for BI service accounts that log in with tokens only).
    """
    if role not in Role.values:
        raise ServiceError(
            f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.", fields={"role": ["unknown"]}
        )
    if User.objects.filter(username__iexact=username).exists():
        raise ServiceError(f"A user named {username!r} already exists.", fields={"username": ["taken"]})
    if role == Role.AGENT and not (agency and licence_number):
        raise ServiceError("An agent needs an agency and a licence number.", fields={"licence_number": ["required"]})
    if role == Role.AGENT and AgentProfile.objects.filter(licence_number=licence_number).exists():
        raise ServiceError(
            f"Licence number {licence_number!r} is already registered.", fields={"licence_number": ["taken"]}
        )
    unknown = set(customer_details or {}) - CUSTOMER_EDITABLE_FIELDS
    if unknown:
        raise ServiceError(
            f"Unknown customer fields: {', '.join(sorted(unknown))}.",
            fields={name: ["unknown field"] for name in unknown},
        )

    with acting_as(actor):
        user = User(
            username=username, email=email, first_name=first_name, last_name=last_name, is_staff=role in STAFF_ROLES
        )
        if password:
            try:
                validate_password(password, user)
            except ValidationError as error:
                raise ServiceError(" ".join(error.messages), fields={"password": error.messages}) from None
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get(name=role))
        if role == Role.CUSTOMER:
            CustomerProfile.objects.create(user=user, agent=agent, **(customer_details or {}))
        elif role == Role.AGENT:
            AgentProfile.objects.create(user=user, agency=agency, licence_number=licence_number)
    return user


@transaction.atomic
def customer_profile_update(*, actor: User, profile: CustomerProfile, **changes) -> CustomerProfile:
    """Change a customer's contact details. Only the contact fields; the serving agent is changed elsewhere."""
    unknown = set(changes) - CUSTOMER_EDITABLE_FIELDS
    if unknown:
        raise ServiceError(
            f"These fields cannot be changed here: {', '.join(sorted(unknown))}.",
            fields={name: ["read-only"] for name in unknown},
        )
    profile = CustomerProfile.objects.select_for_update().get(pk=profile.pk)
    for name, value in changes.items():
        setattr(profile, name, value)
    profile.full_clean()
    with acting_as(actor):
        profile.save()
    return profile


@transaction.atomic
def customer_assign_agent(*, actor: User, profile: CustomerProfile, agent: AgentProfile | None) -> CustomerProfile:
    profile = CustomerProfile.objects.select_for_update().get(pk=profile.pk)
    profile.agent = agent
    with acting_as(actor):
        profile.save(update_fields=["agent", "updated_at"])
    return profile


GRANTABLE_ACTIONS = ("view", "change")


def check_grant(*, actions: Iterable[str], expires_at: datetime | None, reason: str) -> None:
    """The rules every per-object grant obeys, from the API, the admin or a command."""
    if not (reason or "").strip():
        raise ServiceError("A grant needs a reason.", fields={"reason": ["required"]})
    refused = sorted(set(actions) - set(GRANTABLE_ACTIONS))
    if refused:
        raise ServiceError(
            f"Only {' and '.join(GRANTABLE_ACTIONS)} can be granted on one object, not {', '.join(refused)}.",
            fields={"actions": ["not grantable"]},
        )
    if expires_at is None:
        raise ServiceError("A grant needs an expiry.", fields={"expires_at": ["required"]})
    now = timezone.now()
    if expires_at <= now:
        raise ServiceError("The expiry must be in the future.", fields={"expires_at": ["in the past"]})
    if expires_at > now + timedelta(days=settings.OBJECT_GRANT_MAX_DAYS):
        raise ServiceError(
            f"A grant lasts at most {settings.OBJECT_GRANT_MAX_DAYS} days.", fields={"expires_at": ["too far"]}
        )


@transaction.atomic
def object_access_grant(
    *,
    actor: User,
    user: User,
    obj: models.Model,
    actions: Iterable[str] = ("view",),
    expires_at: datetime | None,
    reason: str,
) -> list[ObjectAccessGrant]:
    """Give `user` the `actions` on one object until `expires_at`, for `reason` (recorded with who granted it).

    Only seeing or changing an object can be granted (never a workflow power such as approving), always with an
    expiry no further than `settings.OBJECT_GRANT_MAX_DAYS` away.
    """
    check_grant(actions=actions, expires_at=expires_at, reason=reason)
    content_type = ContentType.objects.get_for_model(obj)
    grants = []
    with acting_as(actor):
        for action in actions:
            codename = f"{action}_{content_type.model}"
            try:
                permission = Permission.objects.get(content_type=content_type, codename=codename)
            except Permission.DoesNotExist:
                raise ServiceError(
                    f"Unknown action {action!r} for {content_type.model}.", fields={"actions": ["unknown"]}
                ) from None
            grant, _ = ObjectAccessGrant.objects.update_or_create(
                user=user,
                permission=permission,
                object_pk=str(obj.pk),
                defaults={
                    "content_type": content_type,
                    "expires_at": expires_at,
                    "reason": reason,
                    "granted_by": actor,
                },
            )
            grants.append(grant)
    return grants


def object_access_revoke_expired(*, actor: User, now: datetime | None = None) -> int:
    """Delete grants whose expiry has passed (one history row each, naming `actor`). Returns how many."""
    now = now or timezone.now()
    revoked = 0
    with acting_as(actor):
        for grant in ObjectAccessGrant.objects.filter(expires_at__lte=now).iterator():
            with transaction.atomic():
                grant.delete()
            revoked += 1
    return revoked


# --- API tokens ---------------------------------------------------------------------------------------------------


class TokenRefused(ServiceError):
    status_code = 403
    code = "permission_denied"


def api_token_issue(*, actor: User) -> Token:
    """The API token of `actor`, who has just proven their password (`POST /api/accounts/token/`); made on first use.

    Analytics accounts are refused: they use expiring analytics tokens that reach only the analytics API
    (`manage.py issue_analytics_token`), and a token for life would outlive the reason they were given one.
    """
    if is_confined(actor):
        raise TokenRefused(
            "Analytics accounts do not get an API token here: ask for an expiring analytics token "
            "(manage.py issue_analytics_token), which reaches /api/analytics/."
        )
    token, _ = Token.objects.get_or_create(user=actor)
    return token


def api_tokens_revoke(*, user: User) -> int:
    """Delete `user`'s API token (their next token login makes a new one). Called whenever their password changes,
    by whatever path (password change, reset, the admin, `set_password` in a shell): a token got with the old
    password must not outlive it."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted


# --- the read audit -----------------------------------------------------------------------------------------------


def record_data_access(
    *,
    actor: User,
    action: str,
    objects: Iterable[models.Model] = (),
    model: type[models.Model] | None = None,
    count: int | None = None,
    request: HttpRequest | None = None,
) -> list[DataAccessLog]:
    """Record that `actor` read `objects` (one row each, in one insert), or, given `model` and no objects, one feed
    request over that model returning `count` rows. The request (by default the one being served) gives the request
    id and path, so a row leads to its log lines. Anonymous actors are never recorded: they are shown nothing.

    Rows are written outside any history (bulk insert) and never changed: this table is itself the audit.
    """
    if actor is None or not actor.is_authenticated:
        return []
    action = DataAccessAction(action)
    request = request if request is not None else current_request()
    context = {
        "user": actor,
        "action": action,
        "request_id": (getattr(request, "request_id", "") or "")[:64] if request is not None else "",
        "path": request.path[:255] if request is not None else "",
    }
    rows = [
        DataAccessLog(content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk), **context)
        for obj in objects
    ]
    if not rows and model is not None:
        rows = [DataAccessLog(content_type=ContentType.objects.get_for_model(model), count=count, **context)]
    return DataAccessLog.objects.bulk_create(rows) if rows else []
