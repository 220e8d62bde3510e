"""First notice of loss through the API: scope, checks, idempotent retries, and what customers never see."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from claims import services
from claims.models import Claim
from insurance.core.testing import DEFAULT_DETAIL_STATUS, ScopedEndpointTests
from tests.api_schema import call_and_validate, token_headers
from tests.claims.conftest import fnol, submit

CLAIMS_URL = reverse("claims-api:claim-list")


def detail(claim) -> str:
    return reverse("claims-api:claim-detail", args=[claim.pk])


class TestClaimEndpoint(ScopedEndpointTests):
    basename = "claims-api:claim"
    detail_status = DEFAULT_DETAIL_STATUS  # analytics readers read claims only through /api/analytics/

    @pytest.fixture(autouse=True)
    def _policy(self, policy):
        self.policy = policy

    def make_object(self, personas):
        return submit(actor=personas.alice, policy=self.policy)


@pytest.mark.django_db
def test_customer_reports_a_claim_and_gets_a_recorded_decision(
    personas, policy, api_client, django_capture_on_commit_callbacks, settings
):
    settings.CLAIMS_FRAUD_ASSESSOR = ""  # the claims engine on its own: fraud not checked (tests/fraud cover it)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(personas.alice).post(CLAIMS_URL, {**fnol(), "policy": policy.number}, format="json")
    assert response.status_code == 201, response.content
    claim = Claim.objects.get(pk=response.json()["id"])
    assert claim.number.startswith(f"CLM-{timezone.now().year}-")
    assert (claim.claimant, claim.reported_by) == (personas.alice, personas.alice)
    # No invoice yet: a person must look at it, and the decision says why.
    assert claim.status == "under_review"
    decision = claim.decisions.get()
    assert {"NO_DOCUMENTED_TOTAL", "DOCUMENTS_MISSING", "FRAUD_NOT_CHECKED"} <= {r["code"] for r in decision.reasons}
    assert decision.inputs["amount_claimed"] == "1200.00"
    assert decision.thresholds["auto_approve_limit"] == "2500.00"
    assert claim.reserve_amount == decision.payable_amount == 700
    body = api_client(personas.alice).get(detail(claim)).json()
    assert [event["kind"] for event in body["timeline"]] == ["submitted", "decided"]


@pytest.mark.django_db
def test_an_agent_reports_for_their_customer_only(personas, policy, bob_policy, api_client):
    agent = api_client(personas.alice_agent)
    response = agent.post(CLAIMS_URL, {**fnol(), "policy": policy.number}, format="json")
    assert response.status_code == 201
    assert Claim.objects.get(pk=response.json()["id"]).reported_by == personas.alice_agent
    response = agent.post(CLAIMS_URL, {**fnol(), "policy": bob_policy.number}, format="json")
    assert response.status_code == 400
    assert "policy" in response.json()["error"]["fields"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"incident_at": (timezone.now() + timedelta(days=1)).isoformat()}, "incident_at"),
        ({"incident_at": (timezone.now() - timedelta(days=90)).isoformat()}, "incident_at"),
        ({"amount_claimed": "0"}, "amount_claimed"),
        ({"amount_claimed": "-50"}, "amount_claimed"),
        ({"amount_claimed": "12,00"}, "amount_claimed"),
        ({"loss_type": "theft"}, "loss_type"),
        ({"loss_type": "meteor"}, "loss_type"),
        ({"policy": "POL-1999-000001"}, "policy"),
        ({"incident_at": "yesterday"}, "incident_at"),
    ],
)
def test_bad_reports_answer_400_naming_the_field_and_store_nothing(personas, policy, api_client, changes, field):
    body = {**fnol(), "policy": policy.number, **changes}
    response = api_client(personas.alice).post(CLAIMS_URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"], response.json()
    assert not Claim.objects.exists()


@pytest.mark.django_db
def test_a_claim_on_someone_elses_policy_is_refused(personas, policy, bob_policy, api_client):
    response = api_client(personas.alice).post(CLAIMS_URL, {**fnol(), "policy": bob_policy.number}, format="json")
    assert response.status_code == 400
    assert not Claim.objects.exists()


@pytest.mark.django_db
def test_a_retry_with_the_same_idempotency_key_returns_the_first_claim(personas, policy, api_client):
    client = api_client(personas.alice)
    body = {**fnol(), "policy": policy.number}
    first = client.post(CLAIMS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="fnol-7f3a")
    second = client.post(CLAIMS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="fnol-7f3a")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert Claim.objects.count() == 1

    changed = client.post(
        CLAIMS_URL, {**body, "amount_claimed": "999.00"}, format="json", HTTP_IDEMPOTENCY_KEY="fnol-7f3a"
    )
    assert changed.status_code == 422
    assert changed.json()["error"]["code"] == "idempotency_key_reused"
    other_user = api_client(personas.alice_agent).post(
        CLAIMS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="fnol-7f3a"
    )
    assert other_user.status_code == 201, "keys are per user"
    assert Claim.objects.count() == 2


@pytest.mark.django_db
def test_a_failed_first_attempt_releases_the_key(personas, policy, api_client):
    client = api_client(personas.alice)
    bad = client.post(
        CLAIMS_URL, {**fnol(loss_type="theft"), "policy": policy.number}, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert bad.status_code == 400
    good = client.post(CLAIMS_URL, {**fnol(), "policy": policy.number}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert good.status_code == 201


@pytest.mark.django_db
def test_customers_and_agents_never_see_notes_or_fraud_details(personas, policy, api_client):
    claim = submit(actor=personas.alice, policy=policy)
    services.claim_evaluate(actor=personas.underwriter, claim=claim)
    services.note_add(actor=personas.underwriter, claim=claim, text="Second claim this year; check garage.")
    handler_view = api_client(personas.underwriter).get(detail(claim)).json()
    assert handler_view["notes"][0]["text"].startswith("Second claim")
    assert "inputs" in handler_view["decisions"][0]
    assert any(reason["check"] == "fraud" for reason in handler_view["decision_reasons"])
    for persona in ("alice", "alice_agent"):
        body = api_client(getattr(personas, persona)).get(detail(claim)).json()
        for hidden in ("notes", "fraud_risk", "assigned_handler", "reserve_amount", "investigation_outcome"):
            assert hidden not in body, (persona, hidden)
        assert all(reason["check"] != "fraud" for reason in body["decision_reasons"])
        assert all("inputs" not in decision for decision in body["decisions"])
        assert "Second claim" not in str(body)


@pytest.mark.django_db
def test_claims_read_within_the_schema_for_the_claimant_the_agent_and_a_handler(personas, policy):
    """What claimants and agents are not shown is optional in the schema, an undecided claim's outcome is blank, and
    a timeline's actor may be null: each a mismatch tests/core/test_api_fuzz.py found."""
    undecided = submit(actor=personas.alice, policy=policy)
    decided = submit(actor=personas.alice, policy=policy)
    services.claim_evaluate(actor=personas.underwriter, claim=decided)
    for persona in ("alice", "alice_agent", "underwriter"):
        headers = token_headers(getattr(personas, persona))
        body = call_and_validate("GET", "/api/claims/{id}/", headers=headers, id=undecided.pk).json()
        assert body["decision_outcome"] == ""
        assert ("allowed_actions" in body) is (persona == "underwriter")
        body = call_and_validate("GET", "/api/claims/{id}/", headers=headers, id=decided.pk).json()
        assert body["decisions"]
        assert body["timeline"]
        call_and_validate("GET", "/api/claims/", headers=headers)


@pytest.mark.django_db
def test_customers_cannot_decide_their_own_claims(personas, policy, api_client):
    claim = submit(actor=personas.alice, policy=policy)
    for action in ("approve", "deny", "pay", "reserve", "add-note"):
        url = reverse(f"claims-api:claim-{action}", args=[claim.pk])
        response = api_client(personas.alice).post(url, {"reason": "mine", "amount": "10", "text": "x"}, format="json")
        assert response.status_code == 403, action


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", ["claims-api:claim-list", "claims-api:claim-review-queue"])
def test_listing_claims_takes_the_same_queries_for_one_claim_or_many(personas, policy, api_client, url_name):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_client(personas.underwriter)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse(url_name)).status_code == 200
        return len(captured)

    claim = submit(actor=personas.alice, policy=policy)
    services.claim_evaluate(actor=personas.underwriter, claim=claim)
    services.note_add(actor=personas.underwriter, claim=claim, text="note")
    one = queries()
    for _ in range(3):
        services.claim_evaluate(actor=personas.underwriter, claim=submit(actor=personas.alice, policy=policy))
    assert queries() == one
