"""Shared views and portal mixins.

Portal pages are denied to anonymous users by `LoginRequiredMiddleware`; the mixins here add the role check (403)
and the row scope (404), the same rules the API applies.
"""

import sys

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import health, unavailable
from .errors import error_response, is_api_request
from .roles import holds_role
from .scoping import restrict_queryset


class RoleRequiredMixin(AccessMixin):
    """Allow only users holding one of `allowed_roles` (superusers always pass); others get 403."""

    allowed_roles: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return self.handle_no_permission()
        if not holds_role(user, *self.allowed_roles):
            raise PermissionDenied("This page is not available to your role.")
        return super().dispatch(request, *args, **kwargs)


class ScopedObjectMixin:
    """For ListView/DetailView/UpdateView: the queryset is restricted to the user, so others' objects are 404."""

    scope_action = "view"

    def get_queryset(self):
        return restrict_queryset(super().get_queryset(), self.request.user, self.scope_action)


@login_not_required
@never_cache
@require_GET
def health_view(request: HttpRequest) -> JsonResponse:
    """Liveness and dependencies: 200 when every check is ok, 503 otherwise. No personal data."""
    checks = health.run_checks()
    healthy = all(result.get("ok") for result in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503
    )


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """`handler404`: a URL under /api/ that names no route (`/api/claims/4.8/`) answers in the API's error body, as
    every other API error does; elsewhere Django's 404 page (our 404.html)."""
    if is_api_request(request):
        return error_response(status_code=404, code="not_found", message="Not found.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: a database error raised before any view ran (a middleware reading the session or the user's
    roles) is a 503 like one raised in a view; anything else is a 500: the API's error body under /api/, Django's
    plain 500 page elsewhere."""
    exc = sys.exc_info()[1]
    if unavailable.is_database_unavailable(exc):
        unavailable.log_unavailable(request, exc)
        return unavailable.unavailable_response(request)
    if is_api_request(request):
        return error_response(status_code=500, code="server_error", message="A server error occurred.")
    return defaults.server_error(request)
