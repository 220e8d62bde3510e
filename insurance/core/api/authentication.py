"""The API's authentication classes: no credentials in URLs, and analytics accounts held to the analytics API.

`RefuseQueryStringCredentials` runs first on every request: a token in a query string ends up in server logs, proxy
logs, browser history and Referer headers, so it is refused (401) and never tried. The token classes then apply the
analytics confinement (`insurance.core.confinement`) as soon as they know the user, so no view can forget it.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, TokenAuthentication

from ..confinement import REFUSAL, confined_may_reach, is_confined

QUERY_STRING_CREDENTIALS = frozenset({"token", "access_token", "auth_token", "key", "api_key", "apikey"})


class RefuseQueryStringCredentials(BaseAuthentication):
    """Refuses a request that carries a credential-looking query parameter, before any authenticator reads it."""

    def authenticate(self, request):
        named = sorted(name for name in request.query_params if name.lower() in QUERY_STRING_CREDENTIALS)
        if named:
            raise exceptions.AuthenticationFailed(
                f"Credentials are not accepted in the URL ({', '.join(named)}); "
                "send them in the header: Authorization: Token <key>."
            )
        return None

    def authenticate_header(self, request) -> str:
        return "Token"


class ConfinedAuthenticationMixin:
    """After a successful authentication, refuse (403) a confined user outside the analytics API."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            user, auth = result
            if is_confined(user, auth) and not confined_may_reach(request._request):
                raise exceptions.PermissionDenied(REFUSAL)
        return result


class ConfinedTokenAuthentication(ConfinedAuthenticationMixin, TokenAuthentication):
    """DRF's token authentication (`Authorization: Token <key>`), with the analytics confinement."""


class QueryStringRefusalScheme(OpenApiAuthenticationExtension):
    """For the OpenAPI schema: the refusal is no way to authenticate, so it adds no security scheme."""

    target_class = RefuseQueryStringCredentials
    name: list[str] = []

    def get_security_requirement(self, auto_schema):
        return None

    def get_security_definition(self, auto_schema) -> list:
        return []
