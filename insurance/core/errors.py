"""The one error body of the API, `{"error": {"status", "code", "message", "fields", ...}}`, for the places that
answer before or outside DRF (middleware, `handler404`/`handler500`, the lockout): no DRF import here, so settings,
middleware and authentication modules may use it while DRF is still loading."""

from django.http import HttpRequest, JsonResponse

API_PREFIX = "/api/"


def is_api_request(request: HttpRequest) -> bool:
    """Whether `request` is for the API, which answers errors in the error body rather than with a page."""
    return request.path_info.startswith(API_PREFIX)


def error_body(*, status_code: int, code: str, message: str, fields: dict | None = None, **extra) -> dict:
    return {"error": {"status": status_code, "code": code, "message": message, "fields": fields or {}, **extra}}


def error_response(*, status_code: int, code: str, message: str, **extra) -> JsonResponse:
    return JsonResponse(error_body(status_code=status_code, code=code, message=message, **extra), status=status_code)
