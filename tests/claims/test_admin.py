"""The claims admin for adjusters: filters by status, priority and fraud risk; actions that call services."""

import pytest
from django.urls import reverse

from claims import services
from claims.choices import ClaimStatus
from tests.claims.conftest import submit

CHANGELIST = reverse("admin:claims_claim_changelist")


@pytest.fixture
def reviewed(personas, policy, settings):
    settings.CLAIMS_FRAUD_ASSESSOR = ""  # the claims engine on its own: fraud not checked (tests/fraud cover it)
    claim = submit(actor=personas.alice, policy=policy)
    services.claim_evaluate(actor=personas.underwriter, claim=claim)
    return claim


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["", "?status=under_review", "?priority=normal", "?fraud_risk=not_checked", "?q=CLM"])
def test_the_claim_list_renders_with_its_filters(client, personas, reviewed, query):
    client.force_login(personas.underwriter)
    response = client.get(CHANGELIST + query)
    assert response.status_code == 200
    assert reviewed.number.encode() in response.content


@pytest.mark.django_db
def test_claim_page_and_history_render(client, personas, reviewed):
    client.force_login(personas.underwriter)
    assert client.get(reverse("admin:claims_claim_change", args=[reviewed.pk])).status_code == 200
    assert client.get(reverse("admin:claims_claim_history", args=[reviewed.pk])).status_code == 200


@pytest.mark.django_db
def test_approving_in_the_admin_asks_for_a_reason_and_calls_the_service(client, personas, reviewed):
    client.force_login(personas.underwriter)
    form = {"action": "claim_approve", "_selected_action": [reviewed.pk]}
    assert b"reason" in client.post(CHANGELIST, form).content
    client.post(CHANGELIST, {**form, "apply": "1", "reason": "Garage confirmed the invoice"})
    reviewed.refresh_from_db()
    assert reviewed.status == ClaimStatus.APPROVED
    assert reviewed.decisions.latest("created_at").decided_by == personas.underwriter
