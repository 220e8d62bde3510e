from drf_spectacular.utils import extend_schema
from rest_framework.generics import RetrieveAPIView
from rest_framework.permissions import IsAuthenticated

from insurance.core.api.viewsets import ScopedReadOnlyViewSet, ScopedUpdateViewSet

from .. import services
from ..models import AgentProfile, CustomerProfile
from .serializers import AgentProfileSerializer, CustomerProfileSerializer, MeSerializer


@extend_schema(tags=["accounts"])
class MeView(RetrieveAPIView):
    """The authenticated user and their roles."""

    serializer_class = MeSerializer
    permission_classes = [IsAuthenticated]

    def get_object(self):
        return self.request.user


@extend_schema(tags=["accounts"])
class CustomerProfileViewSet(ScopedUpdateViewSet):
    """Customers' contact details: a customer sees their own, an agent their customers', staff everyone's."""

    queryset = CustomerProfile.objects.select_related("user").order_by("pk")
    serializer_class = CustomerProfileSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def perform_update(self, serializer) -> None:
        serializer.instance = services.customer_profile_update(
            actor=self.request.user, profile=serializer.instance, **serializer.validated_data
        )


@extend_schema(tags=["accounts"])
class AgentProfileViewSet(ScopedReadOnlyViewSet):
    """Agents: an agent sees their own profile, staff see every agent."""

    queryset = AgentProfile.objects.select_related("user").order_by("pk")
    serializer_class = AgentProfileSerializer
