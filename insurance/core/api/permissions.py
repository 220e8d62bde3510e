"""The API's permission classes. Deny by default.

`ScopedModelPermission` is the project-wide default: the caller must be authenticated (else 401), hold the model
permission for the action through their role or hold an unexpired per-object grant (else 403). Objects outside
the caller's scope are never found (404), because the base viewsets restrict the queryset first. A write on an
object the caller may see but not change answers 403.
"""

from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission

from ..scoping import active_grants, restrict_queryset


def required_action(request, view) -> str:
    """The permission verb a request needs: "view", "add", "change", "delete", or the one the view names for a
    custom action (`required_actions = {"bind": "bind"}` requires `bind_policy`)."""
    explicit = getattr(view, "required_actions", {}).get(getattr(view, "action", None))
    if explicit:
        return explicit
    if request.method in SAFE_METHODS:
        return "view"
    if request.method == "DELETE":
        return "delete"
    if request.method == "POST" and not getattr(view, "detail", False):
        return "add"
    return "change"


def view_model(view):
    queryset = getattr(view, "queryset", None)
    return queryset.model if queryset is not None else None


def model_permission(model, action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


class ScopedModelPermission(BasePermission):
    """Authenticated, with the role's model permission or a per-object grant, on a view that names its model."""

    message = "You do not have permission to perform this action."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        model = view_model(view)
        if model is None:
            # A view without a model must choose its permission classes itself: nothing is allowed by accident.
            return False
        action = required_action(request, view)
        return user.has_perm(model_permission(model, action)) or active_grants(user, model, action).exists()

    def has_object_permission(self, request, view, obj) -> bool:
        action = required_action(request, view)
        if action == "view":
            return True  # the viewset's queryset holds only what the user may see
        rows = type(obj)._default_manager.filter(pk=obj.pk)
        return restrict_queryset(rows, request.user, action).exists()


class PublicEndpoint(AllowAny):
    """Anonymous access. Only for routes named in `settings.ANONYMOUS_ALLOWED_URL_NAMES` (a test holds this)."""
