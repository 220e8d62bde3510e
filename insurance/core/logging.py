"""Structured logs: one JSON object per line in production, with the request id and user id of the request being served.

`RequestContextMiddleware` gives every request an id (a sane `X-Request-ID` from the proxy, else a new one), keeps
the request in a context variable while it is served and echoes the id in the response. `JsonFormatter` writes each
record as JSON: time, level, logger, message, and `request_id` and `user_id` when a request is being served.

What goes into a message is the caller's choice: log ids and kinds, never passwords, tokens or personal data
(tests/core/test_log_canary.py plants such values in real flows and searches the log output for them).
"""

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject, empty

_current_request: ContextVar = ContextVar("current_request", default=None)
REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContextMiddleware:
    """Tags the request with `request_id` and makes it visible to log formatting for as long as it is served."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        request.request_id = offered if _SANE_REQUEST_ID.match(offered) else uuid.uuid4().hex
        reset = _current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _current_request.reset(reset)
        response.headers.setdefault(REQUEST_ID_HEADER, request.request_id)
        return response


def current_request() -> HttpRequest | None:
    """The request being served in this thread or task, if any (for audit rows that name the request id)."""
    return _current_request.get()


def _user_id(request) -> int | None:
    """The authenticated user's id, without evaluating a lazy user nobody has looked at yet (no query while logging)."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = None if user._wrapped is empty else user._wrapped
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.pk


def request_context(record: logging.LogRecord | None = None) -> dict:
    """`request_id` and `user_id` of the request being served, or of the record's `request` (Django logs 4xx and 5xx
    responses with one after the middleware has returned); empty outside a request."""
    request = _current_request.get()
    if request is None:
        request = getattr(record, "request", None)
    if not isinstance(request, HttpRequest):
        return {}
    context = {"request_id": getattr(request, "request_id", None)}
    user_id = _user_id(request)
    if user_id is not None:
        context["user_id"] = user_id
    return context


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request id and user id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **request_context(record),
        }
        status_code = getattr(record, "status_code", None)
        if isinstance(status_code, int):
            entry["status_code"] = status_code
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
