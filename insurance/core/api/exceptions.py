"""One error body for the whole API: `{"error": {"status", "code", "message", "fields", ...}}`.

Domain errors from services (`insurance.core.exceptions`) become 400 or 409; Django validation errors become 400;
a database that cannot be reached becomes 503 with Retry-After (`insurance.core.unavailable`), so a client sees a clean,
retryable error instead of a traceback.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .. import unavailable
from ..errors import error_body
from ..exceptions import ServiceError

__all__ = ["ErrorSerializer", "api_exception_handler", "error_body"]


def _first_code(codes) -> str:
    while isinstance(codes, dict | list) and codes:
        codes = next(iter(codes.values())) if isinstance(codes, dict) else codes[0]
    return codes if isinstance(codes, str) and codes else "invalid"


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """Nested serializer errors as {"coverages[0].limit": ["..."]}, so every field is named by its full path."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(detail, list) and detail and all(isinstance(item, str) for item in detail):
        flat[prefix or "non_field_errors"] = [str(item) for item in detail]
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if value:
                flat.update(_flatten(value, f"{prefix}[{index}]"))
    else:
        flat[prefix or "non_field_errors"] = [str(detail)]
    return flat


def _drf_error(exc: exceptions.APIException, response: Response) -> dict:
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(detail if isinstance(detail, dict) else {"non_field_errors": detail})
        field_name, messages = next(iter(fields.items()), ("non_field_errors", ["Invalid input."]))
        message = messages[0]
        if field_name != "non_field_errors":
            message = f"{field_name}: {message}"
        return error_body(
            status_code=response.status_code, code=_first_code(exc.get_codes()), message=message, fields=fields
        )
    return error_body(status_code=response.status_code, code=_first_code(exc.get_codes()), message=str(detail))


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ServiceError):
        body = error_body(
            status_code=exc.status_code, code=exc.code, message=exc.message, fields=exc.fields, **exc.extra()
        )
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(
            error_body(status_code=400, code="invalid", message="; ".join(exc.messages), fields=fields),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if unavailable.is_database_unavailable(exc):
        unavailable.log_unavailable(context.get("request"), exc)
        return Response(
            unavailable.api_body(),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(unavailable.RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)  # DRF's own: sets auth headers and throttling waits
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException):
        response.data = _drf_error(exc, response)
    return response


class ErrorDetailSerializer(serializers.Serializer):
    status = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    allowed = serializers.ListField(child=serializers.CharField(), required=False)
    current_state = serializers.CharField(required=False)


class ErrorSerializer(serializers.Serializer):
    """The one error body, for the OpenAPI schema."""

    error = ErrorDetailSerializer()
