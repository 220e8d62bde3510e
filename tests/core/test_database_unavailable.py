"""A database that cannot be reached mid-request answers 503 with Retry-After, never a 500 or a traceback.

The failure is planted where the database is really called (a query wrapper raising `OperationalError` for one table),
so the request runs through the real middleware, authentication and views. The real restart is
tests/core/test_database_faults.py.
"""

import logging
from contextlib import contextmanager

import pytest
from django.db import InterfaceError, OperationalError, connection
from django.test import Client
from django.urls import reverse

from insurance.core.logging import REQUEST_ID_HEADER

CLAIMS_API = reverse("claims-api:claim-list")
CLAIMS_PAGE = reverse("claims:claim-list")
TRACEBACK_MARKERS = ("Traceback", "OperationalError", "InterfaceError", "server closed the connection")


@contextmanager
def database_lost(table: str, error: type[Exception] = OperationalError):
    """Every query touching `table` fails the way psycopg2 fails when PostgreSQL goes away."""

    def refuse(execute, sql, params, many, context):
        if f'"{table}"' in sql:
            raise error("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse):
        yield


def assert_clean_503(response) -> str:
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.content.decode()
    for marker in TRACEBACK_MARKERS:
        assert marker not in body
    return body


def logged_unavailable(caplog, response) -> list[logging.LogRecord]:
    request_id = response[REQUEST_ID_HEADER]
    return [
        record
        for record in caplog.records
        if record.name == "insurance.core.unavailable"
        and record.levelno == logging.ERROR
        and request_id in record.getMessage()
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_an_api_request_whose_query_fails_gets_503_in_the_api_error_body(personas, api_client, caplog, error):
    with database_lost("claims_claim", error):
        response = api_client(personas.alice).get(CLAIMS_API)
    assert_clean_503(response)
    assert response.json() == {
        "error": {
            "status": 503,
            "code": "service_unavailable",
            "message": "The service is temporarily unavailable. Please retry.",
            "fields": {},
        }
    }
    assert logged_unavailable(caplog, response), "logged as an error with the request id"
    assert api_client(personas.alice).get(CLAIMS_API).status_code == 200  # the next request is served again


@pytest.mark.django_db
def test_a_portal_page_whose_query_fails_gets_the_503_page(client, personas, caplog):
    client.force_login(personas.alice)
    with database_lost("claims_claim"):
        response = client.get(CLAIMS_PAGE)
    body = assert_clean_503(response)
    assert response["Content-Type"].startswith("text/html")
    assert "Temporarily unavailable" in body
    assert logged_unavailable(caplog, response)
    assert client.get(CLAIMS_PAGE).status_code == 200


@pytest.mark.django_db
def test_a_failure_before_any_view_runs_is_503_too(personas):
    """The session is read by a middleware (the login check), before the view: Django's handler500 answers it."""
    client = Client(raise_request_exception=False)
    client.force_login(personas.alice)
    with database_lost("django_session"):
        page = client.get(CLAIMS_PAGE)
        api = client.get(CLAIMS_API)
    assert "Temporarily unavailable" in assert_clean_503(page)
    assert_clean_503(api)
    assert api.json()["error"]["code"] == "service_unavailable"


@pytest.mark.django_db
def test_other_errors_before_a_view_stay_500(personas):
    """The 503 is for an unreachable database only: a bug in a query is still a 500 (and the 500 page)."""
    client = Client(raise_request_exception=False)
    client.force_login(personas.alice)
    with database_lost("django_session", error=ZeroDivisionError):
        response = client.get(CLAIMS_PAGE)
    assert response.status_code == 500
    assert "Retry-After" not in response


@pytest.mark.django_db
def test_other_errors_before_an_api_view_are_500_in_the_api_error_body(personas):
    client = Client(raise_request_exception=False)
    client.force_login(personas.alice)
    with database_lost("django_session", error=ZeroDivisionError):
        response = client.get(CLAIMS_API)
    assert response.status_code == 500
    assert response.json() == {
        "error": {"status": 500, "code": "server_error", "message": "A server error occurred.", "fields": {}}
    }


@pytest.mark.django_db
def test_the_log_line_names_the_sqlstate_not_the_error_text(personas, api_client, caplog):
    """SQLSTATE tells a dropped connection from a deadlock or a timeout; the text may hold connection details."""

    class Deadlock(Exception):
        pgcode = "40P01"

    def refuse(execute, sql, params, many, context):
        if '"claims_claim"' in sql:
            raise OperationalError("deadlock detected on host db-7.internal") from Deadlock()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse):
        response = api_client(personas.alice).get(CLAIMS_API)
    assert_clean_503(response)
    (line,) = [record.getMessage() for record in logged_unavailable(caplog, response)]
    assert "SQLSTATE 40P01" in line
    assert "db-7.internal" not in line
