"""Shared views and portal mixins.

Portal pages are denied to anonymous users by `LoginRequiredMiddleware`; the mixins here add the role check (403)
and the row scope (404), the same rules the API applies.
"""

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import health
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
