from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.viewsets import ReadOnlyModelViewSet

from accounts.access_log import AccessLoggedViewSetMixin
from insurance.core.api.exceptions import ErrorSerializer
from insurance.core.api.viewsets import ScopedViewSetMixin
from insurance.core.exceptions import ServiceError

from .. import idempotency, selectors, services
from ..downloads import document_response
from ..filters import ClaimFilter
from ..models import Claim, ClaimDocument, ExtractedField
from ..ocr.filetypes import MIME_TYPES
from .serializers import (
    ApproveSerializer,
    AssignSerializer,
    ClaimDocumentSerializer,
    ClaimNoteSerializer,
    ClaimReasonSerializer,
    ClaimSerializer,
    ClaimSubmitSerializer,
    DocumentRequestSerializer,
    DocumentUploadSerializer,
    ExtractedFieldSerializer,
    FieldVerifySerializer,
    InvestigationOutcomeSerializer,
    NoteRequestSerializer,
    PartialApproveSerializer,
    PaymentRequestSerializer,
    PaymentSerializer,
    ReserveSerializer,
)

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input; `fields` names the offending fields."),
    403: OpenApiResponse(ErrorSerializer, description="Your role may not do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such claim among those you may see."),
    409: OpenApiResponse(ErrorSerializer, description="Not allowed in the claim's state, or over a limit."),
}
IDEMPOTENCY_REUSED = OpenApiResponse(ErrorSerializer, description="This Idempotency-Key was used with another body.")
IDEMPOTENCY_HEADER = OpenApiParameter(
    idempotency.HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Optional: send the same key when retrying and the first result is returned instead of doing the work "
        "twice. A report without one is never refused."
    ),
)
# Money moves: a payment without a key is refused (400), so a client's retry can never pay twice.
IDEMPOTENCY_HEADER_REQUIRED = OpenApiParameter(
    idempotency.HEADER,
    str,
    OpenApiParameter.HEADER,
    required=True,
    description=(
        "Required: a new key (a UUID) per payment, the same key when retrying it. A retry gets the first response; "
        "the same key with another body is 422, a retry while the first is still running 409."
    ),
)


def _read_uploads(files, field: str = "documents") -> list[services.PreparedDocument]:
    """Inspect every upload before anything is stored: one bad file rejects the request."""
    prepared = []
    for index, upload in enumerate(files or []):
        data = upload.read(settings.DOCUMENT_MAX_BYTES + 1)
        prepared.append(services.document_prepare(name=upload.name, data=data, field=f"{field}[{index}]"))
    return prepared


def _idempotent(request, *, scope: str, request_hash: str, work, required: bool = False):
    """Run `work()` (returning a Response) once per `Idempotency-Key`; replay its response to retries. Without a
    key the work just runs, unless the key is `required` (400)."""
    key = request.headers.get(idempotency.HEADER)
    if key is None:
        if required:
            raise idempotency.key_required()
        return work()
    started = idempotency.begin(user=request.user, scope=scope, key=key, request_hash=request_hash)
    if isinstance(started, idempotency.Replay):
        return Response(started.body, status=started.status, headers={"Idempotent-Replayed": "true"})
    try:
        # The work and the stored response commit together: a process killed in between leaves neither, so a key
        # still in flight after that really did nothing, and its retry may run (see idempotency.IN_FLIGHT_EXPIRY).
        with transaction.atomic():
            response = work()
            idempotency.complete(started, status=response.status_code, body=response.data)
    except Exception:
        idempotency.release(started)
        raise
    return response


@extend_schema_view(
    list=extend_schema(summary="Claims you may see"),
    retrieve=extend_schema(summary="One claim with its documents, decisions and timeline"),
)
@extend_schema(tags=["claims"])
class ClaimViewSet(AccessLoggedViewSetMixin, ScopedViewSetMixin, ReadOnlyModelViewSet):
    """Claims. Customers see theirs, agents their customers', underwriters (adjusters) and admins all. Every claim
    shown (one, a page of a list, the review queue) is recorded in the read audit (accounts.DataAccessLog)."""

    queryset = (
        Claim.objects.select_related("policy__product")
        .prefetch_related(*selectors.CLAIM_DETAIL_PREFETCH)
        .order_by("-pk")
    )
    serializer_class = ClaimSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    filterset_class = ClaimFilter
    access_logged_actions = {"retrieve": "view", "list": "list", "review_queue": "list"}
    required_actions = {
        "create": "add",
        "upload_documents": "add",
        "download": "view",
        "approve": "decide",
        "partially_approve": "decide",
        "deny": "decide",
        "investigate": "decide",
        "request_documents": "decide",
        "close": "decide",
        "reopen": "decide",
        "assign": "decide",
        "reserve": "reserve",
        "pay": "pay",
        "add_note": "handle",
        "investigation_outcome": "decide",
        "verify_field": "decide",
        "review_queue": "handle",
    }

    def _claim_response(self, claim: Claim, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().filter(pk=claim.pk).first() or claim
        return Response(ClaimSerializer(fresh, context=self.get_serializer_context()).data, status=status_code)

    @extend_schema(
        request={"application/json": ClaimSubmitSerializer, "multipart/form-data": ClaimSubmitSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: ClaimSerializer, **ERRORS, 422: IDEMPOTENCY_REUSED},
        summary="First notice of loss",
    )
    def create(self, request):
        serializer = ClaimSubmitSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        documents = _read_uploads(data.pop("documents", []))
        fields = {key: value for key, value in data.items() if key != "policy"}
        request_hash = idempotency.fingerprint(
            {**fields, "policy": data["policy"].number}, [document.sha256 for document in documents]
        )

        def work() -> Response:
            claim = services.claim_submit(actor=request.user, policy=data["policy"], documents=documents, **fields)
            return self._claim_response(claim, status.HTTP_201_CREATED)

        return _idempotent(request, scope="claim_submit", request_hash=request_hash, work=work)

    @extend_schema(
        request={"multipart/form-data": DocumentUploadSerializer},
        responses={201: ClaimDocumentSerializer(many=True), **ERRORS},
        summary="Add documents",
    )
    @action(detail=True, methods=["post"], url_path="documents")
    def upload_documents(self, request, pk=None):
        claim = self.get_object()
        serializer = DocumentUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        saved = services.document_add(
            actor=request.user, claim=claim, documents=_read_uploads(serializer.validated_data["documents"])
        )
        fresh = ClaimDocument.objects.filter(pk__in=[document.pk for document in saved]).prefetch_related("fields")
        return Response(ClaimDocumentSerializer(fresh, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        # The stored document's own type: one of those an upload may be.
        responses={**{(200, mime): bytes for mime in MIME_TYPES.values()}, 404: ERRORS[404]},
        summary="Download a document (as an attachment)",
    )
    @action(detail=True, methods=["get"], url_path=r"documents/(?P<document_pk>\d+)/download")
    def download(self, request, pk=None, document_pk=None):
        if not request.user.has_perm("claims.view_claimdocument"):
            raise PermissionDenied("Your role may not open claim documents.")
        return document_response(user=request.user, claim_pk=pk, document_pk=document_pk)

    @extend_schema(responses={200: ClaimSerializer(many=True), **ERRORS}, summary="Claims waiting for a person")
    @action(detail=False, methods=["get"], url_path="review-queue")
    def review_queue(self, request):
        page = self.paginate_queryset(selectors.review_queue(user=request.user))
        return self.get_paginated_response(ClaimSerializer(page, many=True, context=self.get_serializer_context()).data)

    def _act(self, request, serializer_class, service, **extra):
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        claim = service(actor=request.user, claim=self.get_object(), **serializer.validated_data, **extra)
        return self._claim_response(claim)

    @extend_schema(request=ApproveSerializer, responses={200: ClaimSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._act(request, ApproveSerializer, services.claim_approve)

    @extend_schema(request=PartialApproveSerializer, responses={200: ClaimSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="partially-approve")
    def partially_approve(self, request, pk=None):
        return self._act(request, PartialApproveSerializer, services.claim_approve)

    @extend_schema(request=ClaimReasonSerializer, responses={200: ClaimSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def deny(self, request, pk=None):
        return self._act(request, ClaimReasonSerializer, services.claim_deny)

    @extend_schema(request=ClaimReasonSerializer, responses={200: ClaimSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def investigate(self, request, pk=None):
        return self._act(request, ClaimReasonSerializer, services.claim_investigate)

    @extend_schema(request=DocumentRequestSerializer, responses={200: ClaimSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="request-documents")
    def request_documents(self, request, pk=None):
        return self._act(request, DocumentRequestSerializer, services.claim_request_documents)

    @extend_schema(request=ClaimReasonSerializer, responses={200: ClaimSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._act(request, ClaimReasonSerializer, services.claim_close)

    @extend_schema(request=ClaimReasonSerializer, responses={200: ClaimSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._act(request, ClaimReasonSerializer, services.claim_reopen)

    @extend_schema(request=AssignSerializer, responses={200: ClaimSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        serializer = AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        handler_id = serializer.validated_data["handler"]
        handler = None
        if handler_id is not None:
            handler = get_user_model().objects.filter(pk=handler_id, is_active=True).first()
            if handler is None:
                raise ServiceError("handler: no such user", fields={"handler": ["no such user"]})
        return self._claim_response(services.claim_assign(actor=request.user, claim=self.get_object(), handler=handler))

    @extend_schema(request=ReserveSerializer, responses={200: ClaimSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def reserve(self, request, pk=None):
        return self._act(request, ReserveSerializer, services.reserve_set)

    @extend_schema(
        request=PaymentRequestSerializer,
        parameters=[IDEMPOTENCY_HEADER_REQUIRED],
        responses={201: PaymentSerializer, **ERRORS, 422: IDEMPOTENCY_REUSED},
        summary="Pay against the reserve",
    )
    @action(detail=True, methods=["post"])
    def pay(self, request, pk=None):
        claim = self.get_object()
        serializer = PaymentRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        def work() -> Response:
            payment = services.payment_create(actor=request.user, claim=claim, **serializer.validated_data)
            return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)

        request_hash = idempotency.fingerprint({"claim": claim.pk, **serializer.validated_data})
        return _idempotent(request, scope="claim_payment", request_hash=request_hash, work=work, required=True)

    @extend_schema(request=NoteRequestSerializer, responses={201: ClaimNoteSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="notes")
    def add_note(self, request, pk=None):
        serializer = NoteRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note = services.note_add(actor=request.user, claim=self.get_object(), **serializer.validated_data)
        return Response(ClaimNoteSerializer(note).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=InvestigationOutcomeSerializer, responses={200: ClaimSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="investigation-outcome")
    def investigation_outcome(self, request, pk=None):
        return self._act(request, InvestigationOutcomeSerializer, services.investigation_outcome_set)

    @extend_schema(
        request=FieldVerifySerializer,
        responses={200: ExtractedFieldSerializer, **ERRORS},
        summary="Confirm or correct an extracted field",
    )
    @action(detail=True, methods=["post"], url_path="verify-field")
    def verify_field(self, request, pk=None):
        claim = self.get_object()
        serializer = FieldVerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        field = ExtractedField.objects.filter(pk=serializer.validated_data["field"], document__claim=claim).first()
        if field is None:
            raise ServiceError("field: not a field of this claim", fields={"field": ["not found"]})
        field = services.field_verify(actor=request.user, field=field, value=serializer.validated_data["value"])
        return Response(ExtractedFieldSerializer(field).data)
