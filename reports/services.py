"""Every write in reports: issuing and revoking the analytics tokens of BI service accounts, with an actor."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from insurance.core.audit import acting_as
from insurance.core.exceptions import ServiceError, field_error, required_text
from insurance.core.roles import Role, has_role

from .models import AnalyticsToken

# Recognisable in logs and secret scanners, and never taken for one of DRF's 40-hex-digit tokens.
TOKEN_PREFIX = "bi_"  # noqa: S105 (a prefix, not a secret)


def token_hash(token: str) -> str:
    """sha256 is enough: the token is 256 random bits, so there is nothing to guess that a slow hash would protect."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    """The stored token and, once only, its secret."""

    token: AnalyticsToken
    secret: str


@transaction.atomic
def analytics_token_issue(*, actor, user, days: int | None = None, name: str = "") -> IssuedToken:
    """A new token for an analytics reader, valid `days` days (`ANALYTICS_TOKEN_DEFAULT_DAYS` by default, at most
    `ANALYTICS_TOKEN_MAX_DAYS`). The secret is returned here and never again."""
    if not has_role(user, Role.ANALYTICS_READER):
        raise field_error("user", f"{user.username} is not an analytics reader; only they get analytics tokens")
    if not user.is_active:
        raise field_error("user", f"{user.username} is inactive")
    days = settings.ANALYTICS_TOKEN_DEFAULT_DAYS if days is None else days
    if not 1 <= days <= settings.ANALYTICS_TOKEN_MAX_DAYS:
        raise field_error("days", f"must be between 1 and {settings.ANALYTICS_TOKEN_MAX_DAYS}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with acting_as(actor):
        token = AnalyticsToken.objects.create(
            user=user,
            name=name.strip(),
            prefix=secret[:10],
            key_hash=token_hash(secret),
            expires_at=timezone.now() + timedelta(days=days),
            issued_by=actor,
        )
    return IssuedToken(token=token, secret=secret)


@transaction.atomic
def analytics_token_revoke(*, actor, token: AnalyticsToken, reason: str) -> AnalyticsToken:
    """Stop a token at once. Revoking a revoked token is refused, so the first revocation's who and why stay."""
    reason = required_text(reason)
    token = AnalyticsToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise ServiceError(f"Token {token.prefix}… was revoked already.", code="conflict")
    token.revoked_at = timezone.now()
    token.revoked_by = actor
    token.revoke_reason = reason
    with acting_as(actor):
        token.save(update_fields=["revoked_at", "revoked_by", "revoke_reason", "updated_at"])
    return token
