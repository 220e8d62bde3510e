"""The role vocabulary. Each role is a Django group of the same name, created by the accounts data migration."""

from django.db import models


class Role(models.TextChoices):
    CUSTOMER = "Customer", "Customer"
    AGENT = "Agent", "Agent"
    UNDERWRITER = "Underwriter", "Underwriter"
    ADMIN = "Admin", "Admin"
    ANALYTICS_READER = "AnalyticsReader", "Analytics reader"


# Roles that work on the whole book (they see and change every record their model permissions allow).
BOOK_WIDE_ROLES = frozenset({Role.UNDERWRITER, Role.ADMIN})
# Roles that use the Django admin.
STAFF_ROLES = frozenset({Role.UNDERWRITER, Role.ADMIN})


def user_roles(user) -> frozenset[str]:
    """The role names of `user`, read once per user object (one query) and cached on it."""
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._role_names = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))


def holds_role(user, *roles: str) -> bool:
    """`has_role`, with a superuser holding every role: who may open a portal page made for `roles`."""
    return bool(getattr(user, "is_superuser", False) or has_role(user, *roles))
