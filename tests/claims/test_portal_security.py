"""Security review of the claims portal: what claimants and agents may never learn (an investigation, a reader's
technical failure), the scope of every id a page takes, fields a claimant may not set, and CSRF on every POST."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from claims import services
from claims.choices import ClaimStatus, DocumentStatus
from claims.models import Claim
from claims.ocr import ExtractionFailed
from policies.choices import PolicyStatus
from tests.claims.conftest import submit

CREATE = reverse("claims:claim-create")
# What a reader's failure may carry: tesseract's own message, naming a file on the server.
SERVER_DETAIL = "Error opening data file /usr/share/tesseract-ocr/5/tessdata/eng.traineddata"


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CLAIMS_FRAUD_ASSESSOR = "tests.claims.test_portal.stub_assessor"
    settings.CLAIMS_FRAUD_SCORE_READER = ""  # pages ask the stand-in too, claim by claim


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def login(client: Client, user) -> Client:
    client.force_login(user)
    return client


def detail(claim) -> str:
    return reverse("claims:claim-detail", args=[claim.pk])


def filing(policy, **changes) -> dict:
    return {
        "policy": policy.pk,
        "incident_date": (timezone.localdate() - timedelta(days=2)).isoformat(),
        "incident_place": "High St and Mill Lane, Columbus",
        "loss_type": "collision",
        "description": "Rear-ended at a red light.",
        "amount_claimed": "1200.00",
        "witness_count": "0",
        **changes,
    }


# --- information leaks --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_why_a_document_could_not_be_read_stays_with_the_handlers(client, personas, policy, monkeypatch):
    claim = submit(actor=personas.alice, policy=policy)
    (document,) = services.document_add(
        actor=personas.alice, claim=claim, documents=[services.document_prepare(name="invoice.png", data=png())]
    )

    def broken_reader(*args, **kwargs):
        raise ExtractionFailed(f"Tesseract could not read page 1: {SERVER_DETAIL}")

    monkeypatch.setattr(services, "run_isolated", broken_reader)
    document = services.document_process(actor=personas.underwriter, document_id=document.pk)
    assert document.status == DocumentStatus.FAILED
    assert SERVER_DETAIL in document.failure_reason

    for persona in ("alice", "alice_agent"):
        page = login(client, getattr(personas, persona)).get(detail(claim)).content.decode()
        assert "Could not be read automatically" in page, persona
        assert "/usr/share" not in page, persona
        assert "tesseract" not in page.lower(), persona
    api = client.get(reverse("claims-api:claim-detail", args=[claim.pk])).json()
    assert "/usr/share" not in str(api["timeline"])

    handler = login(client, personas.underwriter)
    assert SERVER_DETAIL in handler.get(detail(claim)).content.decode()  # the handler's timeline keeps the reason
    assert SERVER_DETAIL in handler.get(reverse("claims:claim-review", args=[claim.pk])).content.decode()


@pytest.mark.django_db
def test_an_investigation_is_not_betrayed_by_the_timeline_statuses_of_the_api(client, personas, policy):
    claim = submit(actor=personas.alice, policy=policy)
    services.claim_evaluate(actor=personas.underwriter, claim=claim)
    services.claim_investigate(actor=personas.underwriter, claim=claim, reason="Same garage as three other claims")
    services.claim_approve(actor=personas.underwriter, claim=claim, reason="Checked with the garage")

    for persona in ("alice", "alice_agent"):
        body = login(client, getattr(personas, persona)).get(reverse("claims-api:claim-detail", args=[claim.pk]))
        statuses = {value for event in body.json()["timeline"] for value in (event["from_status"], event["to_status"])}
        assert ClaimStatus.INVESTIGATION not in statuses, persona
        assert ClaimStatus.APPROVED in statuses, persona
    handler = login(client, personas.underwriter).get(reverse("claims-api:claim-detail", args=[claim.pk])).json()
    assert ClaimStatus.INVESTIGATION in {event["to_status"] for event in handler["timeline"]}


@pytest.mark.django_db
def test_the_timeline_names_no_handler_to_claimants_and_agents(client, personas, policy):
    """The decision card says "by a claims handler" without a name, as the API drops `decided_by`: the timeline
    beneath it must not name the handler either. People of the claimant's side are still named."""
    claim = submit(actor=personas.alice_agent, policy=policy)
    services.claim_evaluate(actor=personas.underwriter, claim=claim)
    services.claim_request_documents(actor=personas.underwriter, claim=claim, message="The invoice, please")
    services.claim_deny(actor=personas.underwriter, claim=claim, reason="Pre-existing damage")
    handler_name = personas.underwriter.get_full_name()
    agent_name = personas.alice_agent.get_full_name()
    for persona in ("alice", "alice_agent"):
        page = login(client, getattr(personas, persona)).get(detail(claim)).content.decode()
        assert "Denied: Pre-existing damage" in page, persona
        assert handler_name not in page, persona
        assert personas.underwriter.username not in page, persona
        assert "by a claims handler" in page, persona
        assert f"by {agent_name}" in page, persona  # who filed it
    assert f"by {handler_name}" in login(client, personas.underwriter).get(detail(claim)).content.decode()


# --- scope of the ids a page takes --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["alice", "alice_agent"])
def test_the_claim_form_answers_404_for_a_policy_outside_the_users_scope(client, personas, policy, bob_policy, persona):
    user = login(client, getattr(personas, persona))
    assert user.get(f"{CREATE}?policy={bob_policy.pk}").status_code == 404
    assert user.get(f"{CREATE}?policy=999999").status_code == 404
    assert user.get(f"{CREATE}?policy=abc").status_code == 404
    own = user.get(f"{CREATE}?policy={policy.pk}")
    assert own.status_code == 200
    assert own.context["form"].initial["policy"] == policy


@pytest.mark.django_db
def test_a_policy_in_scope_but_not_in_force_is_only_not_preselected(client, personas, policy):
    policy.status = PolicyStatus.LAPSED
    policy.save()
    response = login(client, personas.alice).get(f"{CREATE}?policy={policy.pk}")
    assert response.status_code == 200
    assert response.context["form"].initial.get("policy") is None


@pytest.mark.django_db
def test_documents_cannot_be_added_to_a_claim_outside_the_users_scope(client, personas, policy, bob_policy):
    bobs = submit(actor=personas.bob, policy=bob_policy, loss_type="injury")
    for persona in ("alice", "alice_agent"):
        response = login(client, getattr(personas, persona)).post(
            detail(bobs),
            {"documents": [SimpleUploadedFile("x.png", png(), content_type="image/png")]},
            HTTP_X_REQUESTED_WITH="XMLHttpRequest",
        )
        assert response.status_code == 404, persona
    assert not bobs.documents.exists()


@pytest.mark.django_db
def test_decisions_and_field_checks_are_refused_to_claimants_and_agents(client, personas, policy):
    claim = submit(actor=personas.alice, policy=policy)
    services.claim_evaluate(actor=personas.underwriter, claim=claim)
    review = reverse("claims:claim-review", args=[claim.pk])
    for persona in ("alice", "alice_agent", "bob", "other_agent"):
        user = login(client, getattr(personas, persona))
        for data in (
            {"action": "approve", "approve-reason": "Mine"},
            {"action": "partially_approve", "partial-amount": "1", "partial-reason": "Mine"},
            {"action": "request_documents", "request-message": "Mine"},
            {"action": "verify_field", "field": "1", "field-1-value": "1"},
        ):
            assert user.post(review, data).status_code == 403, (persona, data)
    claim.refresh_from_db()
    assert (claim.status, claim.approved_amount) == (ClaimStatus.UNDER_REVIEW, None)


@pytest.mark.django_db
def test_ids_beyond_the_databases_range_are_404_not_500(client, personas, policy):
    huge = "9" * 20  # past a bigint: PostgreSQL refuses to compare with it unless Django catches it first
    claim = submit(actor=personas.alice, policy=policy)
    customer = login(client, personas.alice)
    assert customer.get(f"{CREATE}?policy={huge}").status_code == 404
    assert customer.get(f"/claims/{huge}/").status_code == 404
    assert customer.get(f"/claims/{claim.pk}/documents/{huge}/").status_code == 404
    handler = login(client, personas.underwriter)
    assert handler.get(f"/claims/{huge}/review/").status_code == 404
    review = reverse("claims:claim-review", args=[claim.pk])
    assert handler.post(review, {"action": "verify_field", "field": huge}).status_code == 404
    agent = login(client, personas.alice_agent)
    assert agent.get(reverse("policies:quote-create"), {"customer": huge}).status_code == 404


# --- mass assignment ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_claimant_cannot_set_what_the_insurer_decides(client, personas, policy, bob_policy):
    response = login(client, personas.alice).post(
        CREATE,
        filing(
            policy,
            status=ClaimStatus.APPROVED,
            approved_amount="99999",
            paid_amount="99999",
            reserve_amount="1",
            claimant=personas.bob.pk,
            reported_by=personas.bob.pk,
            assigned_handler=personas.alice.pk,
            priority="low",
            fraud_risk="low",
            decided_by_person="on",
        ),
    )
    assert response.status_code == 302
    claim = Claim.objects.get()
    assert (claim.claimant, claim.reported_by, claim.assigned_handler) == (personas.alice, personas.alice, None)
    assert claim.status in {ClaimStatus.SUBMITTED, ClaimStatus.UNDER_REVIEW}
    assert (claim.approved_amount, claim.paid_amount, claim.decided_by_person) == (None, Decimal("0"), False)


# --- uploads ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["create", "detail"])
def test_the_upload_script_meets_the_same_checks_as_the_form(client, personas, policy, settings, page):
    """The script's path (XMLHttpRequest, JSON back) is the form's path: count, size and type are checked the same,
    and a refusal names the file by its base name only, never a path."""
    claim = submit(actor=personas.alice, policy=policy)
    url, data = (CREATE, filing(policy)) if page == "create" else (detail(claim), {})
    user = login(client, personas.alice)

    def send(*files):
        return user.post(url, {**data, "documents": list(files)}, HTTP_X_REQUESTED_WITH="XMLHttpRequest")

    too_many = send(*[SimpleUploadedFile(f"p{index}.png", png(), content_type="image/png") for index in range(21)])
    assert too_many.status_code == 400
    assert "at most 20 files" in str(too_many.json()["errors"]["documents"])
    settings.DOCUMENT_MAX_BYTES = 1_000
    too_big = send(SimpleUploadedFile("big.png", png() + b"\x00" * 2_000, content_type="image/png"))
    assert too_big.status_code == 400
    assert "the limit is" in str(too_big.json()["errors"]["documents"])
    settings.DOCUMENT_MAX_BYTES = 20 * 1024 * 1024
    disguised = send(SimpleUploadedFile("/srv/app/media/C:\\Users\\x\\evil.png", b"MZ\x90\x00" + b"\x00" * 64))
    assert disguised.status_code == 400
    assert disguised.json()["errors"]["documents"][0].startswith("evil.png: ")
    assert "/srv" not in str(disguised.json())
    assert "Users" not in str(disguised.json())
    assert Claim.objects.count() == 1
    assert not claim.documents.exists()


# --- CSRF ---------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_claims_post_needs_the_csrf_token(personas, policy):
    claim = submit(actor=personas.alice, policy=policy)
    customer = Client(enforce_csrf_checks=True)
    customer.force_login(personas.alice)
    assert customer.post(CREATE, filing(policy)).status_code == 403
    upload = {"documents": [SimpleUploadedFile("x.png", png(), content_type="image/png")]}
    assert customer.post(detail(claim), upload, HTTP_X_REQUESTED_WITH="XMLHttpRequest").status_code == 403
    handler = Client(enforce_csrf_checks=True)
    handler.force_login(personas.underwriter)
    review = reverse("claims:claim-review", args=[claim.pk])
    assert handler.post(review, {"action": "deny", "deny-reason": "No"}).status_code == 403
    assert Claim.objects.count() == 1
    assert not claim.documents.exists()
    assert Claim.objects.get().status == ClaimStatus.SUBMITTED
