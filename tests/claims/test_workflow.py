"""Handling a claim: decisions by people, reserves with history, payments that never exceed what was approved."""

import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from claims import lifecycle, services
from claims.choices import ClaimStatus
from claims.models import Claim, Payment
from insurance.core.exceptions import ConflictError, TransitionNotAllowed
from tests.claims.conftest import submit

D = Decimal


def url(claim, action: str) -> str:
    return reverse(f"claims-api:claim-{action}", args=[claim.pk])


@pytest.fixture
def reviewed(personas, policy):
    claim = submit(actor=personas.alice, policy=policy)
    services.claim_evaluate(actor=personas.underwriter, claim=claim)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.UNDER_REVIEW
    return claim


@pytest.mark.django_db
def test_an_adjuster_approves_and_pays_through_the_api(
    personas, reviewed, api_client, django_capture_on_commit_callbacks
):
    adjuster = api_client(personas.underwriter)
    with django_capture_on_commit_callbacks(execute=True):
        response = adjuster.post(url(reviewed, "approve"), {"reason": "Invoice checked by phone"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["approved_amount"], body["reserve_amount"]) == ("approved", "700.00", "700.00")
    assert mail.outbox[-1].subject == f"Claim {reviewed.number}: approved"

    first = adjuster.post(
        url(reviewed, "pay"), {"amount": "300.00", "reference": "BACS-1"}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1"
    )
    retry = adjuster.post(
        url(reviewed, "pay"), {"amount": "300.00", "reference": "BACS-1"}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1"
    )
    assert first.status_code == retry.status_code == 201
    assert Payment.objects.count() == 1
    over = adjuster.post(url(reviewed, "pay"), {"amount": "500.00"}, format="json", HTTP_IDEMPOTENCY_KEY="pay-2")
    assert over.status_code == 409
    assert over.json()["error"]["code"] == "over_approved"
    rest = adjuster.post(url(reviewed, "pay"), {"amount": "400.00"}, format="json", HTTP_IDEMPOTENCY_KEY="pay-3")
    assert rest.status_code == 201
    reviewed.refresh_from_db()
    assert (reviewed.status, reviewed.paid_amount, reviewed.reserve_amount) == ("paid", D("700.00"), D("0.00"))
    balances = list(reviewed.reserve_changes.values_list("balance_after", flat=True))
    assert balances == [D("700.00"), D("400.00"), D("0.00")]


@pytest.mark.django_db
def test_partial_approval_and_denial_are_recorded_with_who_and_why(personas, policy):
    partial = submit(actor=personas.alice, policy=policy)
    services.claim_approve(actor=personas.underwriter, claim=partial, amount=D("450"), reason="Bumper only")
    partial.refresh_from_db()
    assert partial.status == ClaimStatus.PARTIALLY_APPROVED
    decision = partial.decisions.latest("created_at")
    assert (decision.decided_by, decision.rule_version, decision.reasons[0]["message"]) == (
        personas.underwriter,
        "manual",
        "Bumper only",
    )

    denied = submit(actor=personas.alice, policy=policy)
    services.claim_deny(actor=personas.underwriter, claim=denied, reason="Pre-existing damage")
    denied.refresh_from_db()
    assert denied.status == ClaimStatus.DENIED
    assert denied.reserve_amount == 0
    assert denied.history.latest().history_user == personas.underwriter
    assert services.claim_evaluate(actor=personas.underwriter, claim=denied) is None, "people's decisions stand"


@pytest.mark.django_db
def test_a_request_for_documents_is_on_the_timeline_and_emailed(
    personas, reviewed, api_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(personas.underwriter).post(
            url(reviewed, "request-documents"), {"message": "Please send the repair invoice."}, format="json"
        )
    assert response.status_code == 200
    assert response.json()["timeline"][-1]["kind"] == "documents_requested"
    assert "Please send the repair invoice." in mail.outbox[-1].body
    customer_view = api_client(personas.alice).get(reverse("claims-api:claim-detail", args=[reviewed.pk])).json()
    assert customer_view["timeline"][-1]["kind"] == "documents_requested"
    assert customer_view["timeline"][-1]["actor"] is None, "the handler is not named to the claimant"
    assert response.json()["timeline"][-1]["actor"] == personas.underwriter.username, "handlers see who did it"


@pytest.mark.django_db
def test_payment_over_the_reserve_is_refused(personas, reviewed):
    services.claim_approve(actor=personas.underwriter, claim=reviewed, reason="ok")
    services.reserve_set(actor=personas.underwriter, claim=reviewed, amount=D("100"), reason="Salvage expected")
    with pytest.raises(ConflictError) as refusal:
        services.payment_create(actor=personas.underwriter, claim=reviewed, amount=D("200"))
    assert refusal.value.code == "over_reserve"
    assert not Payment.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("status", ClaimStatus.values)
@pytest.mark.parametrize("action", ["approve", "deny", "investigate", "close", "reopen", "pay"])
def test_each_status_and_action_is_performed_or_refused_with_409(personas, policy, status, action):
    claim = submit(actor=personas.alice, policy=policy)
    Claim.objects.filter(pk=claim.pk).update(status=status, approved_amount=D("700"), reserve_amount=D("700"))
    call = {
        "approve": lambda: services.claim_approve(actor=personas.underwriter, claim=claim, reason="ok"),
        "deny": lambda: services.claim_deny(actor=personas.underwriter, claim=claim, reason="no"),
        "investigate": lambda: services.claim_investigate(actor=personas.underwriter, claim=claim, reason="odd"),
        "close": lambda: services.claim_close(actor=personas.underwriter, claim=claim),
        "reopen": lambda: services.claim_reopen(actor=personas.underwriter, claim=claim, reason="new evidence"),
        "pay": lambda: services.payment_create(actor=personas.underwriter, claim=claim, amount=D("100")),
    }[action]
    if status in lifecycle.TRANSITIONS[action][0]:
        call()
        claim.refresh_from_db()
        assert claim.events.filter(actor=personas.underwriter).exists()
    else:
        with pytest.raises(TransitionNotAllowed) as refusal:
            call()
        assert refusal.value.allowed == sorted(lifecycle.allowed_actions(status))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_payments_never_exceed_the_approved_amount(personas, policy):
    claim = submit(actor=personas.alice, policy=policy)
    services.claim_approve(actor=personas.underwriter, claim=claim, reason="ok")  # 700
    barrier = threading.Barrier(4)
    outcomes = []

    def pay():
        try:
            barrier.wait()
            services.payment_create(actor=personas.underwriter, claim=claim, amount=D("300"))
            outcomes.append("paid")
        except ConflictError as refusal:
            outcomes.append(refusal.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    claim.refresh_from_db()
    assert sorted(outcomes) == ["over_approved", "over_approved", "paid", "paid"]
    assert claim.paid_amount == D("600.00")
    assert sum(payment.amount for payment in claim.payments.all()) == D("600.00")
