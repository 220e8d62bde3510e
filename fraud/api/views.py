import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.permissions import SAFE_METHODS
from rest_framework.viewsets import ReadOnlyModelViewSet

from accounts.access_log import AccessLoggedViewSetMixin
from insurance.core.api.permissions import ScopedModelPermission
from insurance.core.api.viewsets import ScopedViewSetMixin
from insurance.core.filters import InstantFilter
from insurance.core.roles import Role, has_role

from .. import selectors
from ..choices import ModelStage, RiskBand, ScoreMethod
from ..models import FraudScore, ModelVersion
from .serializers import FraudScoreSerializer, ModelVersionSerializer


class StaffOnlyPermission(ScopedModelPermission):
    """The scoped model permission, except that customers and agents are answered as if nothing were there (an
    empty list, 404 on any detail) rather than 403: these endpoints never tell a claimant, or their agent, that
    fraud scoring exists. Their querysets are empty, because scores and models have no owner."""

    def has_permission(self, request, view) -> bool:
        if super().has_permission(request, view):
            return True
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and request.method in SAFE_METHODS
            and has_role(user, Role.CUSTOMER, Role.AGENT)
        )


class FraudScoreFilter(django_filters.FilterSet):
    claim = django_filters.CharFilter(field_name="claim__number", help_text="Claim number, e.g. CLM-2026-000123.")
    model_key = django_filters.CharFilter(help_text="'v7' for model version 7, 'rules-1' for the rule-based score.")
    risk_band = django_filters.ChoiceFilter(choices=RiskBand.choices)
    method = django_filters.ChoiceFilter(choices=ScoreMethod.choices)
    created_after = InstantFilter(field_name="created_at", lookup_expr="gte")
    created_before = InstantFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = FraudScore
        fields = ["claim", "model_key", "risk_band", "method", "created_after", "created_before"]


class ModelVersionFilter(django_filters.FilterSet):
    stage = django_filters.ChoiceFilter(choices=ModelStage.choices)

    class Meta:
        model = ModelVersion
        fields = ["stage"]


@extend_schema_view(
    list=extend_schema(summary="Fraud scores, newest first"),
    retrieve=extend_schema(summary="One fraud score with its features and explanation"),
)
@extend_schema(tags=["fraud"])
class FraudScoreViewSet(AccessLoggedViewSetMixin, ScopedViewSetMixin, ReadOnlyModelViewSet):
    """Fraud scores with the model that gave them and why. Underwriters, admins and analytics readers only."""

    queryset = FraudScore.objects.select_related("claim", "model_version").order_by("-created_at", "-pk")
    serializer_class = FraudScoreSerializer
    permission_classes = [StaffOnlyPermission]
    filterset_class = FraudScoreFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return FraudScore.objects.none()
        return selectors.score_list(user=self.request.user).order_by("-created_at", "-pk")


@extend_schema_view(
    list=extend_schema(summary="Registered fraud models, newest first"),
    retrieve=extend_schema(summary="One fraud model: training, metrics, threshold and stage"),
)
@extend_schema(tags=["fraud"])
class ModelVersionViewSet(ScopedViewSetMixin, ReadOnlyModelViewSet):
    """The model registry, without artifacts. Underwriters and admins only; promoting is done in the admin."""

    queryset = ModelVersion.objects.order_by("-version")
    serializer_class = ModelVersionSerializer
    permission_classes = [StaffOnlyPermission]
    filterset_class = ModelVersionFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ModelVersion.objects.none()
        return selectors.model_version_list(user=self.request.user).order_by("-version")
