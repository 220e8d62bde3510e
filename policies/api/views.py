from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.viewsets import ReadOnlyModelViewSet

from accounts.access_log import AccessLoggedViewSetMixin
from insurance.core.api.exceptions import ErrorSerializer
from insurance.core.api.viewsets import ScopedReadOnlyViewSet, ScopedViewSetMixin

from .. import selectors, services
from ..filters import PolicyFilter
from ..models import Policy, Product
from .serializers import (
    CancelRequestSerializer,
    EndorsementResultSerializer,
    EndorseRequestSerializer,
    InstalmentSerializer,
    PayRequestSerializer,
    PolicySerializer,
    ProductSerializer,
    QuoteRequestSerializer,
    ReasonSerializer,
)

ENDORSE_EXAMPLE = OpenApiExample(
    "Lower the collision deductible",
    request_only=True,
    value={
        "kind": "deductible",
        "effective_date": "2027-03-01",
        "changes": {"coverage": "collision", "deductible": "250.00"},
        "reason": "Customer asked",
    },
)
CANCEL_EXAMPLE = OpenApiExample("Cancel today", request_only=True, value={"reason": "Vehicle sold"})
PAY_EXAMPLE = OpenApiExample(
    "Record a bank transfer", request_only=True, value={"sequence": 2, "amount": "55.00", "reference": "BACS-0042"}
)
REASON_EXAMPLE = OpenApiExample("With a reason", request_only=True, value={"reason": "Telematics box fitted"})

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input; `fields` names the offending fields."),
    403: OpenApiResponse(ErrorSerializer, description="Your role may not do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such policy among those you may see."),
    409: OpenApiResponse(ErrorSerializer, description="Not allowed in the policy's state; `allowed` names what is."),
}

QUOTE_EXAMPLE = OpenApiExample(
    "Auto quote",
    request_only=True,
    value={
        "product": "auto-comprehensive",
        "effective_date": "2026-12-01",
        "instalment_count": 12,
        "prior_claims_3y": 0,
        "coverages": [{"coverage": "collision", "deductible": "500.00"}],
        "vehicle": {
            "make": "Toyota",
            "model": "Corolla",
            "year": 2021,
            "vin": "JTDBR32E720123456",
            "value": "18000.00",
            "use": "commuting",
        },
    },
)


@extend_schema(tags=["policies"])
class ProductViewSet(ScopedReadOnlyViewSet):
    """The product catalogue: what can be quoted, with its coverages and defaults."""

    queryset = Product.objects.filter(is_active=True).prefetch_related("coverages").order_by("code")
    serializer_class = ProductSerializer
    lookup_field = "code"


@extend_schema_view(
    list=extend_schema(summary="Policies and quotes you may see"),
    retrieve=extend_schema(summary="One policy with its breakdown, instalments, endorsements and timeline"),
)
@extend_schema(tags=["policies"])
class PolicyViewSet(AccessLoggedViewSetMixin, ScopedViewSetMixin, ReadOnlyModelViewSet):
    """Quotes and policies. Customers see theirs, agents their customers', underwriters and admins all."""

    queryset = (
        Policy.objects.select_related(*selectors.POLICY_DETAIL_RELATED)
        .prefetch_related(*selectors.POLICY_DETAIL_PREFETCH)
        .order_by("-pk")
    )
    serializer_class = PolicySerializer
    filterset_class = PolicyFilter
    required_actions = {
        "quote": "add",
        "referrals": "underwrite",
        "bind": "bind",
        "endorse": "endorse",
        "renew": "renew",
        "cancel": "cancel",
        "reinstate": "reinstate",
        "approve_referral": "underwrite",
        "decline_referral": "underwrite",
        "pay": "pay",
    }

    def _policy_response(self, policy: Policy, status_code: int = status.HTTP_200_OK) -> Response:
        # The caller may act on a policy without seeing the result (a renewal made for them): answer with it anyway.
        fresh = self.get_queryset().filter(pk=policy.pk).first() or policy
        return Response(PolicySerializer(fresh, context=self.get_serializer_context()).data, status=status_code)

    @extend_schema(
        request=QuoteRequestSerializer,
        responses={201: PolicySerializer, **ERRORS},
        examples=[QUOTE_EXAMPLE],
        summary="Ask for a quote: premium, breakdown and underwriting result",
    )
    @action(detail=False, methods=["post"])
    def quote(self, request):
        serializer = QuoteRequestSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        policy = services.quote_create(
            actor=request.user,
            product=data["product"],
            holder=data["holder"],
            effective_date=data["effective_date"],
            expiry_date=data.get("expiry_date"),
            coverages=data.get("coverages"),
            vehicle=data.get("vehicle"),
            property=data.get("property"),
            person=data.get("person"),
            prior_claims_3y=data["prior_claims_3y"],
            instalment_count=data["instalment_count"],
        )
        return self._policy_response(policy, status.HTTP_201_CREATED)

    @extend_schema(responses={200: PolicySerializer(many=True), **ERRORS}, summary="The underwriter's queue")
    @action(detail=False, methods=["get"])
    def referrals(self, request):
        queue = selectors.referral_queue(user=request.user)
        page = self.paginate_queryset(queue)
        return self.get_paginated_response(
            PolicySerializer(page, many=True, context=self.get_serializer_context()).data
        )

    @extend_schema(request=None, responses={200: PolicySerializer, **ERRORS}, summary="Bind the quote")
    @action(detail=True, methods=["post"])
    def bind(self, request, pk=None):
        return self._policy_response(services.policy_bind(actor=request.user, policy=self.get_object()))

    @extend_schema(
        request=EndorseRequestSerializer,
        examples=[ENDORSE_EXAMPLE],
        responses={200: EndorsementResultSerializer, **ERRORS},
        summary="Endorse mid-term: re-rate from the effective date",
    )
    @action(detail=True, methods=["post"])
    def endorse(self, request, pk=None):
        # The policy first: one out of the caller's scope is 404 whatever the body (validated next) holds.
        policy = self.get_object()
        serializer = EndorseRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endorsement = services.policy_endorse(actor=request.user, policy=policy, **serializer.validated_data)
        policy = self.get_queryset().filter(pk=endorsement.policy_id).first() or endorsement.policy
        return Response(
            EndorsementResultSerializer(
                {"endorsement": endorsement, "policy": policy}, context=self.get_serializer_context()
            ).data
        )

    @extend_schema(
        request=None,
        responses={201: PolicySerializer, **ERRORS},
        summary="Offer a renewal: a new quote for the next term",
    )
    @action(detail=True, methods=["post"])
    def renew(self, request, pk=None):
        renewal = services.policy_offer_renewal(actor=request.user, policy=self.get_object())
        return self._policy_response(renewal, status.HTTP_201_CREATED)

    @extend_schema(
        request=CancelRequestSerializer,
        examples=[CANCEL_EXAMPLE],
        responses={200: PolicySerializer, **ERRORS},
        summary="Cancel, with a pro-rata refund",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        policy = self.get_object()
        serializer = CancelRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        policy = services.policy_cancel(actor=request.user, policy=policy, **serializer.validated_data)
        return self._policy_response(policy)

    @extend_schema(
        request=ReasonSerializer,
        examples=[REASON_EXAMPLE],
        responses={200: PolicySerializer, **ERRORS},
        summary="Reinstate a cancelled or lapsed policy",
    )
    @action(detail=True, methods=["post"])
    def reinstate(self, request, pk=None):
        policy = self.get_object()
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        policy = services.policy_reinstate(actor=request.user, policy=policy, **serializer.validated_data)
        return self._policy_response(policy)

    @extend_schema(
        request=ReasonSerializer,
        examples=[REASON_EXAMPLE],
        responses={200: PolicySerializer, **ERRORS},
        summary="Approve a referred quote (or override a decline)",
    )
    @action(detail=True, methods=["post"], url_path="approve-referral")
    def approve_referral(self, request, pk=None):
        policy = self.get_object()
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        policy = services.referral_approve(actor=request.user, policy=policy, **serializer.validated_data)
        return self._policy_response(policy)

    @extend_schema(
        request=ReasonSerializer,
        examples=[REASON_EXAMPLE],
        responses={200: PolicySerializer, **ERRORS},
        summary="Decline a referred quote",
    )
    @action(detail=True, methods=["post"], url_path="decline-referral")
    def decline_referral(self, request, pk=None):
        policy = self.get_object()
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        policy = services.referral_decline(actor=request.user, policy=policy, **serializer.validated_data)
        return self._policy_response(policy)

    @extend_schema(
        request=PayRequestSerializer,
        examples=[PAY_EXAMPLE],
        responses={200: InstalmentSerializer, **ERRORS},
        summary="Record an instalment payment",
    )
    @action(detail=True, methods=["post"])
    def pay(self, request, pk=None):
        policy = self.get_object()
        serializer = PayRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instalment = services.instalment_pay(actor=request.user, policy=policy, **serializer.validated_data)
        return Response(InstalmentSerializer(instalment).data)
