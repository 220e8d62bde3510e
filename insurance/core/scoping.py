"""Row-level scope: which rows of a model a user may see or change. One rule, used by every API and portal view.

A model says who owns its rows with two class attributes (both lookup paths ending at a user):

- `scope_owner_field`: the customer who owns the row (`"holder"` on a policy, `"policy__holder"` on a claim,
  `"user"` on a profile, `""` for the user row itself). `None` means no customer owns it.
- `scope_agent_field`: the agent who serves the row; by default the owner's agent, found through
  `<owner>__customer_profile__agent__user`.
- `scope_public = True` makes a reference table (a product catalogue) readable by every role with the model's view
  permission.

Rules, deny by default:
- anonymous or inactive users: nothing; superusers and system accounts: everything;
- underwriters and admins: every row (their model permissions decide what they may do with it);
- analytics readers: every row, read-only (their model permissions name the fact tables they may read);
- customers: rows they own; agents: rows they own or serve;
- anyone: rows granted to them one by one (django-guardian, with an expiry) for that action.

Actions are "view", "add", "change", "delete" or a model's own permission verb ("bind" for `bind_policy`); any
action but "view" follows the write rules (analytics readers get nothing). Model permissions (may this role bind
policies at all?) are checked separately, by the API permission class and the portal mixins; this module answers
only "which rows".
"""

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.db.models.functions import Cast
from django.utils import timezone

from .roles import BOOK_WIDE_ROLES, Role, user_roles

CRUD_ACTIONS = ("view", "add", "change", "delete")
AGENT_OF_CUSTOMER = "customer_profile__agent__user"


def _join(*parts: str) -> str:
    return "__".join(part for part in parts if part)


def _owned_by(path: str, user) -> Q:
    return Q(pk=user.pk) if path == "" else Q(**{path: user})


def agent_path(model) -> str | None:
    explicit = getattr(model, "scope_agent_field", None)
    if explicit is not None:
        return explicit
    owner = getattr(model, "scope_owner_field", None)
    if owner is None:
        return None
    return _join(owner, AGENT_OF_CUSTOMER)


def grant_codenames(model, action: str) -> list[str]:
    """Codenames that grant `action` on one object: a change grant also lets its holder see the object."""
    name = model._meta.model_name
    if action == "view":
        return [f"view_{name}", f"change_{name}"]
    return [f"{action}_{name}"]


def active_grants(user, model, action: str):
    """Unexpired per-object grants that `user` holds for `action` on rows of `model`."""
    from guardian.utils import get_user_obj_perms_model

    grant_model = get_user_obj_perms_model()
    return grant_model.objects.filter(
        user=user,
        content_type=ContentType.objects.get_for_model(model),
        permission__codename__in=grant_codenames(model, action),
    ).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))


def _pk_cast_field(model) -> models.Field:
    """Guardian stores object ids as text; cast them to the type of the model's primary key."""
    pk = model._meta.pk
    if isinstance(pk, models.IntegerField | models.AutoField | models.BigAutoField):
        return models.BigIntegerField()
    if isinstance(pk, models.UUIDField):
        return models.UUIDField()
    return models.CharField(max_length=255)


def is_unrestricted(user) -> bool:
    return bool(user.is_superuser or getattr(user, "is_system", False) or user_roles(user) & BOOK_WIDE_ROLES)


def restrict_queryset(queryset: models.QuerySet, user, action: str = "view") -> models.QuerySet:
    """Narrow `queryset` to the rows `user` may `action` ("view", "change", or a verb such as "bind")."""
    if not action.isidentifier():
        raise ValueError(f"unknown action {action!r}: an action is a permission verb such as {CRUD_ACTIONS}")
    if user is None or not user.is_authenticated:
        return queryset.none()
    if getattr(user, "is_system", False):
        return queryset
    if not user.is_active:
        return queryset.none()
    if is_unrestricted(user):
        return queryset
    model = queryset.model
    roles = user_roles(user)
    if action == "view" and (Role.ANALYTICS_READER in roles or getattr(model, "scope_public", False)):
        return queryset

    allowed = Q(pk__in=[])
    owner = getattr(model, "scope_owner_field", None)
    if owner is not None and roles & {Role.CUSTOMER, Role.AGENT}:
        allowed |= _owned_by(owner, user)
    served_by = agent_path(model)
    if served_by is not None and Role.AGENT in roles:
        allowed |= _owned_by(served_by, user)
    granted_pks = (
        active_grants(user, model, action)
        .annotate(granted_pk=Cast("object_pk", output_field=_pk_cast_field(model)))
        .values("granted_pk")
    )
    allowed |= Q(pk__in=granted_pks)
    return queryset.filter(allowed)


class RestrictedQuerySet(models.QuerySet):
    """The queryset of every project model: `Model.objects.restrict(user, "view")`."""

    def restrict(self, user, action: str = "view") -> "RestrictedQuerySet":
        return restrict_queryset(self, user, action)
