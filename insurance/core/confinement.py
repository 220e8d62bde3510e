"""Analytics readers (BI service accounts) reach only the analytics API. Deny by default: every other route refuses
them with 403, whatever its own permission classes say.

One rule, two doors. A signed-in (session) user is known before any view runs, so `ConfinementMiddleware` refuses a
confined user on every portal page, admin page and API route outside the analytics API. A token is known only
inside DRF, so the API's token authentication classes apply the same rule once they have found the user
(`insurance.core.api.authentication`). The analytics API is found by its URL namespace
(`settings.ANALYTICS_API_NAMESPACE`), never by a flag a view could set on itself.

Who is confined: a holder of the AnalyticsReader role, and anyone authenticated by a credential that says it is for
analytics only (the reports app's expiring analytics tokens set `confines_to_analytics`).
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse

from .errors import error_response, is_api_request
from .roles import Role, user_roles

REFUSAL = "Analytics accounts may use only the analytics API (/api/analytics/)."


def is_confined(user, auth=None) -> bool:
    """Whether `user` (authenticated with `auth`, a token object or None for a session) is held to analytics."""
    if getattr(auth, "confines_to_analytics", False):
        return True
    return Role.ANALYTICS_READER in user_roles(user)  # no roles for None or an anonymous user


def confined_may_reach(request: HttpRequest) -> bool:
    """The analytics API, and the few routes a signed-in service account needs (log in, log out, health)."""
    match = getattr(request, "resolver_match", None)
    return bool(
        match
        and (
            settings.ANALYTICS_API_NAMESPACE in match.namespaces
            or match.view_name in settings.ANALYTICS_READER_ALLOWED_URL_NAMES
        )
    )


def api_refusal() -> JsonResponse:
    # The API's one error body, answered here because the middleware runs before DRF's exception handler.
    return error_response(status_code=403, code="permission_denied", message=REFUSAL)


class ConfinementMiddleware:
    """Refuses a confined session user outside the analytics API: 403 (the API's error body under /api/)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if not is_confined(getattr(request, "user", None)) or confined_may_reach(request):
            return None
        if is_api_request(request):
            return api_refusal()
        raise PermissionDenied(REFUSAL)
