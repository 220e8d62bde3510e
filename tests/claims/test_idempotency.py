"""`Idempotency-Key` on payments: required (money moves), a retry replays the first payment, a reused key with another
body is 422, a retry while the first is still running 409, and keys are per user.

Claim submission takes a key but never requires one (a first notice of loss is never refused); its replay and 422
are in test_fnol_api.py, its 409 and the release of a stale key in test_hardening.py.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from claims import idempotency, services
from claims.models import IdempotencyRecord, Payment
from tests.claims.conftest import submit

D = Decimal
BODY = {"amount": "300.00", "reference": "BACS-1"}


def pay_url(claim) -> str:
    return reverse("claims-api:claim-pay", args=[claim.pk])


@pytest.fixture
def approved(personas, policy):
    """Alice's claim, approved for 700 by the underwriter: payable."""
    claim = submit(actor=personas.alice, policy=policy)
    return services.claim_approve(actor=personas.underwriter, claim=claim, amount=D("700"), reason="Invoice checked")


def paid(claim) -> Decimal:
    claim.refresh_from_db()
    return claim.paid_amount


@pytest.mark.django_db
def test_a_payment_without_a_key_is_refused_naming_the_header_and_pays_nothing(personas, approved, api_client):
    response = api_client(personas.underwriter).post(pay_url(approved), BODY, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "idempotency_key_required"
    assert "Idempotency-Key" in error["message"]
    assert error["fields"] == {"Idempotency-Key": ["required"]}
    assert not Payment.objects.exists()
    assert paid(approved) == 0
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_a_retried_payment_gets_the_first_response_and_pays_once(personas, approved, api_client):
    handler = api_client(personas.underwriter)
    first = handler.post(pay_url(approved), BODY, format="json", HTTP_IDEMPOTENCY_KEY="pay-7f3a")
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first.headers
    retry = handler.post(pay_url(approved), BODY, format="json", HTTP_IDEMPOTENCY_KEY="pay-7f3a")
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert Payment.objects.get().pk == first.json()["id"]
    assert paid(approved) == D("300.00")
    assert approved.events.filter(kind="payment").count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_amount_is_422_and_pays_nothing_more(personas, approved, api_client):
    handler = api_client(personas.underwriter)
    assert handler.post(pay_url(approved), BODY, format="json", HTTP_IDEMPOTENCY_KEY="pay-1").status_code == 201
    changed = handler.post(pay_url(approved), {**BODY, "amount": "350.00"}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    assert changed.status_code == 422, changed.content
    assert changed.json()["error"]["code"] == "idempotency_key_reused"
    assert Payment.objects.count() == 1
    assert paid(approved) == D("300.00")


@pytest.mark.django_db
def test_a_retry_while_the_first_payment_is_in_flight_is_409_and_pays_nothing(personas, approved, api_client):
    # The first request claimed the key and is still running: its record is there, not completed.
    in_flight = idempotency.begin(
        user=personas.underwriter,
        scope="claim_payment",
        key="pay-running",
        request_hash=idempotency.fingerprint({"claim": approved.pk, "amount": D("300.00"), "reference": "BACS-1"}),
    )
    assert isinstance(in_flight, IdempotencyRecord)
    assert not in_flight.completed
    retry = api_client(personas.underwriter).post(
        pay_url(approved), BODY, format="json", HTTP_IDEMPOTENCY_KEY="pay-running"
    )
    assert retry.status_code == 409, retry.content
    assert retry.json()["error"]["code"] == "idempotency_in_flight"
    assert not Payment.objects.exists()
    assert IdempotencyRecord.objects.get() == in_flight, "the first request still holds its key"


@pytest.mark.django_db
def test_two_users_keys_are_independent(personas, approved, api_client):
    for user in (personas.underwriter, personas.admin):
        response = api_client(user).post(pay_url(approved), BODY, format="json", HTTP_IDEMPOTENCY_KEY="same-key")
        assert response.status_code == 201, (user, response.content)
        assert "Idempotent-Replayed" not in response.headers
    assert sorted(Payment.objects.values_list("paid_by__username", flat=True)) == sorted(
        [personas.underwriter.username, personas.admin.username]
    )
    assert paid(approved) == D("600.00")


def test_the_schema_requires_the_key_on_payments_only():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)

    def key_parameter(path: str) -> dict:
        (parameter,) = [p for p in schema["paths"][path]["post"]["parameters"] if p["name"] == "Idempotency-Key"]
        return parameter

    assert key_parameter("/api/claims/{id}/pay/")["required"] is True
    assert key_parameter("/api/claims/").get("required", False) is False


@pytest.mark.django_db(transaction=True)
def test_a_payment_and_its_stored_response_commit_together(personas, approved, api_client, monkeypatch):
    """The process dies after the payment, before its response is stored: neither may be left behind, or the key
    would expire in flight and its retry pay a second time."""
    handler = api_client(personas.underwriter)

    def die(*args, **kwargs):
        raise SystemExit("worker killed")

    with monkeypatch.context() as patch:
        patch.setattr(idempotency, "complete", die)
        with pytest.raises(SystemExit):
            handler.post(pay_url(approved), BODY, format="json", HTTP_IDEMPOTENCY_KEY="pay-crash")
    assert not Payment.objects.exists()
    assert paid(approved) == 0
    # The dead request's key stays in flight (409) until it expires; then the retry runs, and pays once.
    retry = handler.post(pay_url(approved), BODY, format="json", HTTP_IDEMPOTENCY_KEY="pay-crash")
    assert retry.status_code == 409, retry.content
    IdempotencyRecord.objects.update(created_at=timezone.now() - idempotency.IN_FLIGHT_EXPIRY - timedelta(seconds=1))
    retry = handler.post(pay_url(approved), BODY, format="json", HTTP_IDEMPOTENCY_KEY="pay-crash")
    assert retry.status_code == 201, retry.content
    assert Payment.objects.count() == 1
    assert paid(approved) == D("300.00")
