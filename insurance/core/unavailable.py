"""A database that cannot be reached (PostgreSQL restarting, a dropped connection) answers 503 with `Retry-After`.

Clients see a clean, retryable error, never a traceback: the API's one error body under /api/ and the plain 503 page
everywhere else. Three doors lead here, because Django offers no single one:

- API views: DRF's exception handler (`insurance.core.api.exceptions`) catches the error inside the view.
- Portal views: `DatabaseUnavailableMiddleware.process_exception`.
- Before any view runs (the session read by `LoginRequiredMiddleware`, the roles read by `ConfinementMiddleware`):
  Django hands the error to `handler500`, and `insurance.core.views.server_error` answers 503 for it.

Recovery needs nothing here: a transaction that failed was rolled back by the server, Django closes a connection that
raised at the end of the request, and `CONN_HEALTH_CHECKS` replaces a persistent connection that died in between, so
the next request connects again.
"""

import logging

from django.db import InterfaceError, InternalError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from .errors import error_body, is_api_request

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
MESSAGE = "The service is temporarily unavailable. Please retry."


# A read-only database (a replica promoted late, a failover in progress) refuses every write, and with the read log
# every page of personal data writes: that is an outage too, not a bug.
READ_ONLY_SQLSTATE = "25006"


def is_database_unavailable(exc: BaseException | None) -> bool:
    if isinstance(exc, DATABASE_ERRORS):
        return True
    return isinstance(exc, InternalError) and getattr(exc.__cause__, "pgcode", None) == READ_ONLY_SQLSTATE


def log_unavailable(request: HttpRequest | None, exc: BaseException) -> None:
    """One error line per refused request, with its request id, the error's kind and PostgreSQL's SQLSTATE (which
    tells a dropped connection, 08xxx or 57P01, from a deadlock, 40P01, or a timeout, 57014). Not the error's text:
    it may hold connection details. (Before a view runs, Django's own `django.request` logger also logs the error,
    with its traceback, to the server log.)"""
    request_id = getattr(request, "request_id", None)
    sqlstate = getattr(exc.__cause__, "pgcode", None) or "-"
    logger.error(
        "database unavailable (%s, SQLSTATE %s): answered 503, request %s", type(exc).__name__, sqlstate, request_id
    )


def api_body() -> dict:
    return error_body(status_code=503, code="service_unavailable", message=MESSAGE)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: the API's error body for /api/, the 503 page (rendered without the database) otherwise."""
    if is_api_request(request):
        response: HttpResponse = JsonResponse(api_body(), status=503)
    else:
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Turns a database error raised by a portal view into the 503 page instead of a 500."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_database_unavailable(exception):
            return None
        log_unavailable(request, exception)
        return unavailable_response(request)
