"""Expiring analytics tokens: `Authorization: Token bi_...` (or `Bearer bi_...`, which BI tools often send).

Keys that do not start with `bi_` are left to DRF's own token class, so existing users' tokens work as before. A
revoked or expired token, or one whose user is no longer an active analytics reader, is refused (401). Whoever
holds an analytics token is held to the analytics API (`insurance.core.confinement`).
"""

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from insurance.core.api.authentication import ConfinedAuthenticationMixin
from insurance.core.roles import Role, has_role

from .. import selectors
from ..services import TOKEN_PREFIX

KEYWORDS = (b"token", b"bearer")


class AnalyticsTokenCredentials(BaseAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() not in KEYWORDS:
            return None
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            return None
        if not key.startswith(TOKEN_PREFIX):
            return None
        token = selectors.analytics_token_for_key(key=key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This analytics token was revoked.")
        if token.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed(
                f"This analytics token expired at {token.expires_at:%Y-%m-%d %H:%M} UTC; ask for a new one."
            )
        user = token.user
        if not user.is_active or not has_role(user, Role.ANALYTICS_READER):
            raise exceptions.AuthenticationFailed("This token's account is no longer an active analytics reader.")
        return user, token

    def authenticate_header(self, request) -> str:
        return "Token"


class AnalyticsTokenAuthentication(ConfinedAuthenticationMixin, AnalyticsTokenCredentials):
    """The analytics token class of `REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]`."""


class AnalyticsTokenScheme(OpenApiAuthenticationExtension):
    target_class = AnalyticsTokenAuthentication
    name = "analyticsToken"

    def get_security_definition(self, auto_schema) -> dict:
        definition = build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")  # noqa: S106 (a header keyword)
        definition["description"] = (
            "An expiring analytics token (`bi_...`, from `manage.py issue_analytics_token`), as "
            "`Authorization: Token <token>`. It reaches only /api/analytics/."
        )
        return definition
