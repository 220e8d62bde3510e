"""Base viewsets: every list and detail is restricted to the caller's scope before DRF looks anything up.

DRF runs no object check on list and none on GET unless asked; restricting the queryset closes both holes at
once and makes out-of-scope objects answer 404. Writes go through services: subclasses implement
`perform_create`/`perform_update` by calling a service with `actor=self.request.user`.
"""

from rest_framework import mixins, viewsets

from ..scoping import restrict_queryset
from .permissions import ScopedModelPermission


class ScopedViewSetMixin:
    permission_classes = [ScopedModelPermission]
    # Optional: {"approve": "change"} when a custom action needs another model action than its HTTP method implies.
    required_actions: dict[str, str] = {}

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):  # schema generation has no real user
            return queryset.none()
        return restrict_queryset(queryset, self.request.user, "view")


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """List and retrieve, scoped."""


class ScopedUpdateViewSet(ScopedViewSetMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """List, retrieve and update, scoped; `perform_update` must call a service."""

    def perform_update(self, serializer) -> None:
        raise NotImplementedError(f"{type(self).__name__} must save through a service")


class ScopedModelViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """Full CRUD, scoped; `perform_create`, `perform_update` and `perform_destroy` must call services."""

    def perform_create(self, serializer) -> None:
        raise NotImplementedError(f"{type(self).__name__} must create through a service")

    def perform_update(self, serializer) -> None:
        raise NotImplementedError(f"{type(self).__name__} must save through a service")

    def perform_destroy(self, instance) -> None:
        raise NotImplementedError(f"{type(self).__name__} must delete through a service")
