"""/health/ and the OpenAPI schema and docs."""

from io import StringIO

import pytest
from django.core.management import call_command

from insurance.core import health


@pytest.mark.django_db
def test_health_reports_database_and_broker(client):
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert "eagerly" in body["checks"]["broker"]["detail"]


@pytest.mark.django_db
def test_a_failing_check_makes_health_503_without_raising(client, monkeypatch):
    def broken():
        raise ConnectionError("broker unreachable")

    monkeypatch.setitem(health._checks, "broker", broken)
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == {"ok": False, "detail": "ConnectionError: broker unreachable"}


@pytest.mark.django_db
def test_health_reports_a_real_broker_that_does_not_answer(client, settings):
    from insurance.celery import app

    old = dict(app.conf)
    app.conf.task_always_eager = False
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        result = health.broker()
    except Exception as error:  # ensure_connection raises when the broker is down: run_checks reports it
        result = {"ok": False, "detail": str(error)}
    finally:
        app.conf.update(old)
    assert result["ok"] is False


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/", "/api/redoc/"])
def test_api_docs_are_served(client, path):
    assert client.get(path).status_code == 200


def test_schema_validates_without_warnings():
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert "openapi: 3" in out.getvalue()
