"""Requests sent through the WSGI app whose answers are held to the OpenAPI schema (served at /api/schema/): what
tests/core/test_api_fuzz.py does for generated requests, for one chosen request in an app's own tests."""

import functools
from collections.abc import Iterator
from contextlib import contextmanager

import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core import NOT_SET
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

SCHEMA_PATH = "/api/schema/"
# No 5xx, a status the schema names (every operation's `default` is the error body), a content type it names, and a
# body that matches the schema of its status.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def load_schema(config: SchemathesisConfig | None = None) -> OpenApiSchema:
    """The schema as the app serves it, with the app to send requests to."""
    return schemathesis.openapi.from_wsgi(SCHEMA_PATH, WSGIHandler(), config=config or SchemathesisConfig())


@functools.cache
def api_schema() -> OpenApiSchema:
    return load_schema()


@contextmanager
def connection_kept() -> Iterator[None]:
    """The WSGI app closes the database connection when a request starts and ends; a test's requests run inside
    its transaction instead, as with Django's test client."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def call_and_validate(
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: object = NOT_SET,
    media_type: str | None = None,
    **path_parameters: object,
) -> Response:
    """Send `method path` (the schema's path template, filled from `path_parameters`) with `body` and return the
    response; raises when it is a server error or does not match the schema."""
    with connection_kept():  # loading the schema is a request too
        operation = api_schema()[path][method.upper()]
        case = operation.Case(path_parameters=path_parameters, body=body, media_type=media_type)
        return case.call_and_validate(headers=headers or {}, checks=CHECKS)


def token_headers(user) -> dict[str, str]:
    """The `Authorization` header of the user's API token."""
    from rest_framework.authtoken.models import Token

    return {"Authorization": f"Token {Token.objects.get_or_create(user=user)[0].key}"}
