"""One error body for every API error, including domain errors and an unreachable database."""

import pytest
from django.db import OperationalError
from django.test import Client
from rest_framework import exceptions

from insurance.core.api.exceptions import api_exception_handler
from insurance.core.exceptions import ServiceError, TransitionNotAllowed


def handle(exc):
    return api_exception_handler(exc, {"view": None, "request": None})


def test_service_error_is_400_with_fields():
    response = handle(ServiceError("Expiry before effective date.", fields={"expiry_date": ["before effective"]}))
    assert response.status_code == 400
    assert response.data == {
        "error": {
            "status": 400,
            "code": "invalid",
            "message": "Expiry before effective date.",
            "fields": {"expiry_date": ["before effective"]},
        }
    }


def test_illegal_transition_is_409_naming_the_allowed_ones():
    response = handle(TransitionNotAllowed(current="cancelled", requested="renew", allowed={"reinstate"}))
    assert response.status_code == 409
    body = response.data["error"]
    assert body["code"] == "transition_not_allowed"
    assert body["allowed"] == ["reinstate"]
    assert body["current_state"] == "cancelled"
    assert "reinstate" in body["message"]


def test_unreachable_database_is_503_not_a_traceback():
    response = handle(OperationalError("connection refused"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "connection refused" not in str(response.data)


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (exceptions.NotAuthenticated(), 401, "not_authenticated"),
        (exceptions.PermissionDenied(), 403, "permission_denied"),
        (exceptions.NotFound(), 404, "not_found"),
        (exceptions.ValidationError({"amount": ["Must be positive."]}), 400, "invalid"),
    ],
)
def test_drf_errors_share_the_body(exc, status, code):
    response = handle(exc)
    assert response.status_code == status
    assert response.data["error"]["status"] == status
    assert response.data["error"]["code"] == code


def test_django_http404_and_permission_denied_are_mapped():
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    assert handle(Http404()).data["error"]["code"] == "not_found"
    assert handle(PermissionDenied()).status_code == 403


def test_nested_errors_name_the_full_path():
    error = exceptions.ValidationError(
        {"coverages": [{}, {"limit": ["Ensure this value is greater than 0."]}], "vehicle": {"vin": ["Too short."]}}
    )
    body = handle(error).data["error"]
    assert body["fields"] == {
        "coverages[1].limit": ["Ensure this value is greater than 0."],
        "vehicle.vin": ["Too short."],
    }
    assert body["message"] == "coverages[1].limit: Ensure this value is greater than 0."


@pytest.mark.django_db
def test_a_missing_system_account_is_created_with_an_actor():
    from django.conf import settings

    from accounts.models import User
    from insurance.core.audit import system_account

    User.objects.filter(username=settings.SYSTEM_ACCOUNTS["celery"]).delete()
    robot = system_account("celery")
    assert robot.history.get().history_user == robot
    assert system_account("celery") == robot


@pytest.mark.django_db
def test_an_api_url_that_names_no_route_is_404_in_the_api_error_body(personas, api_client):
    response = api_client(personas.alice).get("/api/claims/4.8/")  # the router's ids have no dots
    assert response.status_code == 404
    assert response.json() == {"error": {"status": 404, "code": "not_found", "message": "Not found.", "fields": {}}}
    page = Client().get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
