from django.contrib.auth import authenticate, user_logged_in
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.generics import RetrieveAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from insurance.core.api.exceptions import ErrorSerializer
from insurance.core.api.permissions import PublicEndpoint
from insurance.core.api.viewsets import ScopedReadOnlyViewSet, ScopedUpdateViewSet
from insurance.core.exceptions import ServiceError

from .. import services
from ..access_log import AccessLoggedViewSetMixin
from ..backends import LOCKED_OUT_CODE, lockout_message
from ..models import AgentProfile, CustomerProfile
from .serializers import (
    AgentProfileSerializer,
    CustomerProfileSerializer,
    MeSerializer,
    TokenLoginSerializer,
    TokenSerializer,
)


class LockedOut(ServiceError):
    status_code = 429
    code = LOCKED_OUT_CODE


@extend_schema(
    tags=["accounts"],
    auth=[],
    request=TokenLoginSerializer,
    responses={
        200: TokenSerializer,
        400: OpenApiResponse(ErrorSerializer, description="Missing fields, or a wrong username or password."),
        403: OpenApiResponse(ErrorSerializer, description="Analytics accounts use expiring analytics tokens."),
        429: OpenApiResponse(ErrorSerializer, description="Locked out after too many failed logins; see Retry-After."),
    },
    summary="Log in for an API token",
)
class TokenLoginView(APIView):
    """Username and password for the user's API token (made on first use): the API's login.

    It is a login like the portal's and the admin's: `authenticate()` with the Django request, so django-axes counts
    each failure for the username and client address and locks the pair out after `AXES_FAILURE_LIMIT` failures on
    any of the three paths together (429, Retry-After), and a success clears the count. The body's credentials
    decide whose token it is; the usual authentication still runs first, so an analytics credential is refused here
    as on every route outside the analytics API (insurance.core.confinement).
    """

    permission_classes = [PublicEndpoint]

    def post(self, request):
        serializer = TokenLoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        django_request = request._request  # axes reads the client address from, and flags a lockout on, this one
        user = authenticate(request=django_request, **serializer.validated_data)
        if user is None:
            if getattr(django_request, "axes_locked_out", False):
                raise LockedOut(lockout_message(django_request))
            raise ServiceError("Unable to log in with that username and password.", code="invalid_credentials")
        token = services.api_token_issue(actor=user)
        # A login: the last login time, and axes clears the failures of this username and address.
        user_logged_in.send(sender=type(user), request=django_request, user=user)
        return Response(TokenSerializer({"token": token.key}).data)


@extend_schema(tags=["accounts"])
class MeView(RetrieveAPIView):
    """The authenticated user and their roles."""

    serializer_class = MeSerializer
    permission_classes = [IsAuthenticated]

    def get_object(self):
        return self.request.user


@extend_schema(tags=["accounts"])
class CustomerProfileViewSet(AccessLoggedViewSetMixin, ScopedUpdateViewSet):
    """Customers' contact details: a customer sees their own, an agent their customers', staff everyone's. Each
    profile shown is recorded in the read audit."""

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
