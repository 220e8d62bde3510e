"""The claims portal: filing a claim with documents, a claim's page and timeline, answering a request for documents,
and the handlers' review queue and work page (decisions, field checks, fraud scores), each scoped per persona."""

import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from claims import services
from claims.choices import ClaimStatus, Priority
from claims.fraud import FraudAssessment
from claims.models import Claim, ClaimDocument, ExtractedField
from tests.claims.conftest import submit

D = Decimal
# The fraud app fills in `CLAIMS_FRAUD_ASSESSOR`; here a stand-in answers with the scores a test puts in SCORES
# (tests/fraud cover the real assessor). A claim without an entry has no score yet.
SCORES: dict[int, FraudAssessment] = {}


def stub_assessor(claim) -> FraudAssessment | None:
    return SCORES.get(claim.pk)


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CLAIMS_FRAUD_ASSESSOR = "tests.claims.test_portal.stub_assessor"
    settings.CLAIMS_FRAUD_SCORE_READER = ""  # pages ask the stand-in too, claim by claim
    SCORES.clear()
    yield
    SCORES.clear()


def png(colour: str = "white", size: tuple[int, int] = (120, 80)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def pdf() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (200, 120), "white").save(buffer, format="PDF")
    return buffer.getvalue()


def upload(name: str, data: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "claims"
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def login(client, user):
    client.force_login(user)
    return client


def filing(policy, **changes) -> dict:
    day = timezone.localdate() - timedelta(days=2)
    return {
        "policy": policy.pk,
        "incident_date": day.isoformat(),
        "incident_time": "14:30",
        "incident_place": "High St and Mill Lane, Columbus",
        "loss_type": "collision",
        "description": "Rear-ended at a red light.",
        "amount_claimed": "1200.00",
        "witness_count": "1",
        **changes,
    }


def with_documents(claim, *documents: tuple[str, bytes], actor=None) -> list[ClaimDocument]:
    prepared = [services.document_prepare(name=name, data=data) for name, data in documents]
    return services.document_add(actor=actor or claim.claimant, claim=claim, documents=prepared)


def reviewed(personas, policy, **overrides) -> Claim:
    """A claim the engine routed to a person (no invoice, fraud score pending)."""
    claim = submit(actor=personas.alice, policy=policy, **overrides)
    services.claim_evaluate(actor=personas.underwriter, claim=claim)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.UNDER_REVIEW
    return claim


LIST = reverse("claims:claim-list")
CREATE = reverse("claims:claim-create")
QUEUE = reverse("claims:review-queue")


def detail(claim) -> str:
    return reverse("claims:claim-detail", args=[claim.pk])


def review(claim) -> str:
    return reverse("claims:claim-review", args=[claim.pk])


# --- access -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_page_needs_a_login(client, personas, policy):
    claim = submit(actor=personas.alice, policy=policy)
    (document,) = with_documents(claim, ("photo.png", png()))
    urls = [
        LIST,
        CREATE,
        QUEUE,
        detail(claim),
        review(claim),
        reverse("claims:document-file", args=[claim.pk, document.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "sees_alice", "sees_bob"),
    [
        ("alice", True, False),
        ("bob", False, True),
        ("alice_agent", True, False),
        ("other_agent", False, True),
        ("underwriter", True, True),
        ("admin", True, True),
    ],
)
def test_the_claim_list_holds_the_claims_in_scope(client, personas, policy, bob_policy, persona, sees_alice, sees_bob):
    alices = submit(actor=personas.alice, policy=policy)
    bobs = submit(actor=personas.bob, policy=bob_policy, loss_type="injury")
    response = login(client, getattr(personas, persona)).get(LIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert (alices.number in page) is sees_alice
    assert (bobs.number in page) is sees_bob
    assert {claim.pk for claim in response.context["claims"]} == {
        claim.pk for claim, seen in ((alices, sees_alice), (bobs, sees_bob)) if seen
    }


@pytest.mark.django_db
def test_the_claim_list_is_refused_to_roles_without_claims(client, personas):
    assert login(client, personas.outsider).get(LIST).status_code == 403
    assert login(client, personas.analyst).get(LIST).status_code == 403


@pytest.mark.django_db
def test_an_empty_claim_list_says_what_to_do(client, personas, policy):
    response = login(client, personas.alice).get(LIST)
    assert response.status_code == 200
    assert b'class="empty"' in response.content
    assert CREATE.encode() in response.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("alice", 200),
        ("alice_agent", 200),
        ("underwriter", 200),
        ("admin", 200),
        ("bob", 404),
        ("other_agent", 404),
        ("outsider", 403),
        ("analyst", 403),
    ],
)
def test_a_claim_page_is_scoped(client, personas, policy, persona, status):
    claim = submit(actor=personas.alice, policy=policy)
    response = login(client, getattr(personas, persona)).get(detail(claim))
    assert response.status_code == status
    if status == 200:
        page = response.content.decode()
        assert claim.number in page
        assert policy.number in page
        assert "1200.00" in page
        assert "Claim submitted for 1200.00" in page  # the timeline


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["alice", "alice_agent", "bob", "outsider"])
def test_the_review_pages_are_for_claim_handlers_only(client, personas, policy, persona):
    claim = submit(actor=personas.alice, policy=policy)
    user = login(client, getattr(personas, persona))
    assert user.get(QUEUE).status_code == 403
    assert user.get(review(claim)).status_code == 403
    assert user.post(review(claim), {"action": "deny", "deny-reason": "No"}).status_code == 403
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.SUBMITTED


# --- filing a claim -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_customer_files_a_claim_with_two_documents(client, personas, policy, bob_policy, settings):
    user = login(client, personas.alice)
    page = user.get(CREATE)
    assert page.status_code == 200
    assert {p.pk for p in page.context["form"].fields["policy"].queryset} == {policy.pk}, "only her in-force policies"
    assert b'class="dropzone"' in page.content
    assert b"js/claim-upload.js" in page.content

    response = user.post(
        CREATE,
        {
            **filing(policy, amount_claimed="1200"),
            "documents": [upload("invoice.png", png()), upload("estimate.pdf", pdf())],
        },
    )
    claim = Claim.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail(claim)
    assert (claim.claimant, claim.reported_by, claim.amount_claimed) == (personas.alice, personas.alice, D("1200.00"))
    assert timezone.localtime(claim.incident_at).strftime("%H:%M") == "14:30"
    assert sorted(claim.documents.values_list("original_name", "kind")) == [
        ("estimate.pdf", "pdf"),
        ("invoice.png", "png"),
    ]
    assert len(stored_files(settings)) == 2
    event = claim.events.get()
    assert (event.kind, event.actor) == ("submitted", personas.alice)
    assert event.message == "Claim submitted for 1200.00 USD with 2 document(s)"

    shown = user.get(response["Location"])
    assert "invoice.png" in shown.content.decode()
    assert "estimate.pdf" in shown.content.decode()
    assert f"Claim {claim.number} was filed with 2 document(s)." in shown.content.decode()


@pytest.mark.django_db
def test_the_upload_script_gets_json_back(client, personas, policy):
    user = login(client, personas.alice)
    response = user.post(
        CREATE,
        {**filing(policy), "documents": [upload("photo.png", png())]},
        HTTP_X_REQUESTED_WITH="XMLHttpRequest",
    )
    assert response.status_code == 201
    claim = Claim.objects.get()
    assert response.json() == {"ok": True, "redirect": detail(claim)}

    refused = user.post(
        CREATE,
        {**filing(policy), "documents": [upload("scan.png", b"MZ\x90\x00" + b"\x00" * 64)]},
        HTTP_X_REQUESTED_WITH="XMLHttpRequest",
    )
    assert refused.status_code == 400
    errors = refused.json()["errors"]["documents"]
    assert errors[0].startswith("scan.png: ")
    assert Claim.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("notes.pdf", b"<html><script>alert(1)</script></html>", "not a PDF, JPEG, PNG or TIFF"),
        ("empty.jpg", b"", "empty"),
        ("huge.png", None, "the limit is"),
    ],
)
def test_a_rejected_file_is_named_and_nothing_is_stored(client, personas, policy, settings, name, data, expected):
    if data is None:
        settings.DOCUMENT_MAX_BYTES = 2_000
        data = png("red", (400, 400)) + b"\x00" * 3_000
    response = login(client, personas.alice).post(
        CREATE, {**filing(policy), "documents": [upload("good.png", png()), upload(name, data)]}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["documents"]
    assert any(error.startswith(f"{name}: ") and expected in error for error in errors), errors
    assert not any(error.startswith("good.png") for error in errors)
    page = response.content.decode()
    assert name in page
    assert "The claim was not filed" in page
    assert not Claim.objects.exists()
    assert not ClaimDocument.objects.exists()
    assert stored_files(settings) == []


@pytest.mark.django_db
def test_the_services_refusal_comes_back_on_the_form(client, personas, policy):
    response = login(client, personas.alice).post(CREATE, filing(policy, loss_type="theft"))
    assert response.status_code == 200
    assert f"policy {policy.number} does not cover theft" in response.context["form"].errors["loss_type"]
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    response = login(client, personas.alice).post(CREATE, filing(policy, incident_date=future))
    assert "is in the future" in response.context["form"].errors["incident_date"]
    assert not Claim.objects.exists()


@pytest.mark.django_db
def test_an_agent_files_for_a_customer_with_the_policy_preselected(client, personas, policy, bob_policy):
    user = login(client, personas.alice_agent)
    page = user.get(f"{CREATE}?policy={policy.pk}")
    assert page.status_code == 200
    assert page.context["form"].initial["policy"] == policy
    assert f'<option value="{policy.pk}" selected>'.encode() in page.content
    assert {p.pk for p in page.context["form"].fields["policy"].queryset} == {policy.pk}
    # Another agent's customer's policy cannot be preselected (404, like any id outside the scope), nor chosen.
    assert user.get(f"{CREATE}?policy={bob_policy.pk}").status_code == 404
    refused = user.post(CREATE, filing(bob_policy))
    assert "policy" in refused.context["form"].errors
    assert not Claim.objects.exists()

    response = user.post(CREATE, filing(policy))
    claim = Claim.objects.get()
    assert response["Location"] == detail(claim)
    assert (claim.claimant, claim.reported_by) == (personas.alice, personas.alice_agent)


@pytest.mark.django_db
@pytest.mark.parametrize("wanted", ["²", "x1", "-1", "1.0"])
def test_a_preselected_policy_that_is_not_an_id_is_404(client, personas, policy, wanted):
    # "²" passes str.isdigit() but not int(): it must not reach the database as a policy id (a 500).
    assert login(client, personas.alice).get(CREATE, {"policy": wanted}).status_code == 404


@pytest.mark.django_db
def test_filing_is_for_customers_and_agents(client, personas, policy):
    assert login(client, personas.underwriter).get(CREATE).status_code == 403
    assert login(client, personas.outsider).get(CREATE).status_code == 403
    bob_page = login(client, personas.bob).get(CREATE)
    assert bob_page.status_code == 200
    assert b"You have no policy in force" in bob_page.content


# --- a claim's page and a request for documents -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_customer_answers_a_request_for_documents(client, personas, policy, settings):
    claim = reviewed(personas, policy)
    handler = login(client, personas.underwriter)
    response = handler.post(review(claim), {"action": "request_documents", "request-message": "The repair invoice"})
    assert response.status_code == 302
    request = claim.events.get(kind="documents_requested")
    assert (request.actor, request.message) == (personas.underwriter, "More documents needed: The repair invoice")

    customer = login(client, personas.alice)
    page = customer.get(detail(claim)).content.decode()
    assert "More documents are needed" in page
    assert "The repair invoice" in page
    assert "Answer the request" in page

    response = customer.post(detail(claim), {"documents": [upload("repair-invoice.png", png("blue"))]})
    assert response.status_code == 302
    document = claim.documents.get()
    assert (document.original_name, document.uploaded_by) == ("repair-invoice.png", personas.alice)
    answered = claim.events.get(kind="documents_added")
    assert answered.actor == personas.alice
    assert "repair-invoice.png" in answered.message
    page = customer.get(detail(claim)).content.decode()
    assert "More documents are needed" not in page
    assert "1 document(s) added: repair-invoice.png" in page  # the timeline

    # Bob cannot add to Alice's claim; a bad file is named and nothing is stored.
    assert login(client, personas.bob).post(detail(claim), {"documents": [upload("x.png", png())]}).status_code == 404
    bad = login(client, personas.alice).post(detail(claim), {"documents": [upload("virus.png", b"MZ" + b"\x00" * 80)]})
    assert bad.status_code == 200
    assert bad.context["upload_form"].errors["documents"][0].startswith("virus.png: ")
    assert claim.documents.count() == 1
    assert len(stored_files(settings)) == 1


@pytest.mark.django_db
def test_an_agent_answers_for_the_customer_through_the_upload_script(client, personas, policy):
    claim = reviewed(personas, policy)
    services.claim_request_documents(actor=personas.underwriter, claim=claim, message="Photos of the damage")
    response = login(client, personas.alice_agent).post(
        detail(claim), {"documents": [upload("rear.png", png())]}, HTTP_X_REQUESTED_WITH="XMLHttpRequest"
    )
    assert response.status_code == 201
    assert response.json()["redirect"] == detail(claim)
    assert claim.documents.get().uploaded_by == personas.alice_agent
    empty = login(client, personas.alice_agent).post(detail(claim), {}, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert empty.status_code == 400
    assert "documents" in empty.json()["errors"]


@pytest.mark.django_db
def test_a_customer_sees_the_decision_and_its_reason_but_no_fraud_details(client, personas, policy):
    claim = reviewed(personas, policy)  # the engine's reasons include FRAUD_SCORE_PENDING
    services.claim_deny(actor=personas.underwriter, claim=claim, reason="The damage predates the policy")
    page = login(client, personas.alice).get(detail(claim)).content.decode()
    assert "Denied" in page
    assert "The damage predates the policy" in page
    assert "fraud" not in page.lower()
    assert "underwriter" not in page  # who decided stays with the handlers

    engine_only = reviewed(personas, policy)
    page = login(client, personas.alice).get(detail(engine_only)).content.decode()
    assert "No invoice, estimate or bill gives a total yet." in page
    assert "Required documents missing: invoice." in page
    assert "fraud" not in page.lower()
    handler_page = login(client, personas.underwriter).get(detail(engine_only)).content.decode()
    assert "FRAUD_SCORE_PENDING" in handler_page


@pytest.mark.django_db
def test_documents_open_only_for_those_who_may_see_the_claim(client, personas, policy):
    claim = submit(actor=personas.alice, policy=policy)
    image, document = with_documents(claim, ("photo.png", png()), ("report.pdf", pdf()))
    image_url = reverse("claims:document-file", args=[claim.pk, image.pk])
    response = login(client, personas.alice).get(image_url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == image.file.open("rb").read()
    pdf_response = client.get(reverse("claims:document-file", args=[claim.pk, document.pk]))
    assert pdf_response["Content-Disposition"].startswith("attachment")
    assert client.get(f"{image_url}?download=1")["Content-Disposition"].startswith("attachment")
    assert login(client, personas.bob).get(image_url).status_code == 404
    assert login(client, personas.other_agent).get(image_url).status_code == 404
    assert login(client, personas.outsider).get(image_url).status_code == 403
    other_claim = submit(actor=personas.alice, policy=policy)
    wrong_pair = reverse("claims:document-file", args=[other_claim.pk, image.pk])
    assert login(client, personas.alice).get(wrong_pair).status_code == 404


# --- investigations stay hidden -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_investigation_is_a_review_to_customers_and_agents(client, personas, policy):
    claim = reviewed(personas, policy)
    services.claim_investigate(actor=personas.underwriter, claim=claim, reason="Same garage as three other claims")

    for persona in ("alice", "alice_agent"):
        user = login(client, getattr(personas, persona))
        page = user.get(LIST).content.decode()
        assert claim.number in page
        assert "Under review" in page
        assert "Investigation" not in page
        assert 'value="investigation"' not in page, "the filter does not offer it"
        assert page.count('<option value=""') == 2, "one blank choice per filter"
        assert "Any status</option>" in page
        assert claim.number not in user.get(f"{LIST}?status=investigation").content.decode()
        assert claim.number in user.get(f"{LIST}?status=under_review").content.decode()
        detail_page = user.get(detail(claim)).content.decode()
        assert "Under review" in detail_page
        assert "nvestigation" not in detail_page
        assert "Same garage" not in detail_page

    handler = login(client, personas.underwriter)
    assert claim.number in handler.get(f"{LIST}?status=investigation").content.decode()
    assert "Investigation" in handler.get(detail(claim)).content.decode()
    assert "Sent to investigation: Same garage as three other claims" in handler.get(review(claim)).content.decode()


# --- the review queue and the work page -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_review_queue_is_ordered_by_priority_with_fraud_scores(client, personas, policy):
    low = reviewed(personas, policy)
    urgent = reviewed(personas, policy)
    normal = reviewed(personas, policy)
    high_later = reviewed(personas, policy)
    for claim, priority in ((low, Priority.LOW), (urgent, Priority.URGENT), (normal, Priority.NORMAL)):
        Claim.objects.filter(pk=claim.pk).update(priority=priority)
    Claim.objects.filter(pk=high_later.pk).update(priority=Priority.HIGH)
    submitted = submit(actor=personas.alice, policy=policy)  # not waiting for a person yet
    approved = reviewed(personas, policy)
    services.claim_approve(actor=personas.underwriter, claim=approved, reason="Checked by phone")
    SCORES[urgent.pk] = FraudAssessment(
        probability=0.83,
        risk_band="high",
        model_version="v7",
        reasons=["Filed 3 days after cover started", "Amount far above comparable claims", "Night-time loss", "x"],
    )

    response = login(client, personas.underwriter).get(QUEUE)
    assert response.status_code == 200
    assert [claim.pk for claim in response.context["claims"]] == [urgent.pk, high_later.pk, normal.pk, low.pk]
    page = response.content.decode()
    assert (
        page.index(urgent.number) < page.index(high_later.number) < page.index(normal.number) < page.index(low.number)
    )
    assert submitted.number not in page
    assert approved.number not in page
    assert "83 %" in page
    assert "Filed 3 days after cover started" in page
    assert "Night-time loss" in page
    assert ">x<" not in page, "only the top three reasons"
    assert "Score pending" in page  # the others have no score yet


@pytest.mark.django_db
def test_an_empty_review_queue_says_so(client, personas):
    response = login(client, personas.admin).get(QUEUE)
    assert response.status_code == 200
    assert b"The queue is empty" in response.content


@pytest.mark.django_db
def test_the_review_queue_reads_the_same_queries_for_one_claim_or_many(client, personas, policy):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user = login(client, personas.underwriter)
    with_documents(reviewed(personas, policy), ("photo.png", png()))
    user.get(QUEUE)  # warm caches (permissions, content types)
    with CaptureQueriesContext(connection) as one:
        assert user.get(QUEUE).status_code == 200
    for _ in range(3):
        with_documents(reviewed(personas, policy), ("photo.png", png()))
    with CaptureQueriesContext(connection) as four:
        assert len(user.get(QUEUE).context["claims"]) == 4
    assert len(four) == len(one), [query["sql"] for query in four]
    # The page shows no notes, events or documents of the claims: none are read.
    assert not [query for query in four if "claims_claimnote" in query["sql"] or "claims_claimevent" in query["sql"]]


@pytest.mark.django_db
def test_the_work_page_shows_documents_next_to_their_fields(client, personas, policy):
    claim = reviewed(personas, policy)
    image, scan = with_documents(claim, ("invoice.png", png()), ("estimate.pdf", pdf()))
    ExtractedField.objects.create(
        document=image, name="total_amount", value="1200.00", confidence=0.41, needs_review=True
    )
    ExtractedField.objects.create(document=image, name="vendor", value="Main Street Auto", confidence=0.97)
    SCORES[claim.pk] = FraudAssessment(
        probability=0.12, risk_band="low", model_version="v7", reasons=["Policy held for years"]
    )

    response = login(client, personas.underwriter).get(review(claim))
    assert response.status_code == 200
    page = response.content.decode()
    image_url = reverse("claims:document-file", args=[claim.pk, image.pk])
    assert f'<img src="{image_url}"' in page
    assert reverse("claims:document-file", args=[claim.pk, scan.pk]) in page
    assert page.count('class="split"') == 2
    assert '<tr class="needs-review">' in page
    assert "<mark>1200.00</mark>" in page
    assert "41 %" in page
    assert "12 %" in page
    assert "Policy held for years" in page
    assert all(f'value="{action}"' in page for action in ("approve", "partially_approve", "deny", "request_documents"))


@pytest.mark.django_db
def test_a_handler_corrects_a_low_confidence_field(client, personas, policy, bob_policy):
    claim = reviewed(personas, policy)
    (document,) = with_documents(claim, ("invoice.png", png()))
    field = ExtractedField.objects.create(
        document=document, name="total_amount", value="1280.00", confidence=0.41, needs_review=True
    )
    handler = login(client, personas.underwriter)
    response = handler.post(
        review(claim), {"action": "verify_field", "field": field.pk, f"field-{field.pk}-value": " 1200.00 "}
    )
    assert response.status_code == 302
    field.refresh_from_db()
    assert (field.verified_value, field.verified_by, field.needs_review) == ("1200.00", personas.underwriter, False)
    assert field.value == "1280.00", "what was read is kept"
    assert claim.events.filter(kind="field_verified", message="total_amount confirmed as 1200.00").exists()
    page = handler.get(review(claim)).content.decode()
    assert "1280.00 → 1200.00" in page

    blank = handler.post(review(claim), {"action": "verify_field", "field": field.pk, f"field-{field.pk}-value": ""})
    assert blank.status_code == 200
    assert "This field is required." in blank.content.decode()
    other = reviewed(personas, policy)
    assert handler.post(review(other), {"action": "verify_field", "field": field.pk}).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "data", "status", "approved", "event_kind", "message"),
    [
        (
            "approve",
            {"approve-reason": "Invoice checked by phone"},
            "approved",
            "700.00",
            "approved",
            "Approved for 700.00: Invoice checked by phone",
        ),
        (
            "partially_approve",
            {"partial-amount": "450", "partial-reason": "Bumper only"},
            "partially_approved",
            "450.00",
            "partially_approved",
            "Partially approved for 450.00: Bumper only",
        ),
        ("deny", {"deny-reason": "Pre-existing damage"}, "denied", None, "denied", "Denied: Pre-existing damage"),
    ],
)
def test_a_handler_decides_with_a_reason(client, personas, policy, action, data, status, approved, event_kind, message):
    claim = reviewed(personas, policy)
    response = login(client, personas.underwriter).post(review(claim), {"action": action, **data})
    assert response.status_code == 302
    assert response["Location"] == review(claim)
    claim.refresh_from_db()
    assert claim.status == status
    assert claim.approved_amount == (D(approved) if approved else None)
    decision = claim.decisions.latest("created_at")
    assert (decision.decided_by, decision.rule_version) == (personas.underwriter, "manual")
    assert decision.reasons[0]["message"] == data[next(key for key in data if key.endswith("reason"))]
    event = claim.events.get(kind=event_kind)
    assert (event.actor, event.message, event.to_status) == (personas.underwriter, message, status)
    followed = client.get(response["Location"]).content.decode()
    assert message in followed
    assert "cannot be decided again" in followed or status in ("approved", "partially_approved")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"action": "approve", "approve-reason": "  "}, "reason"),
        ({"action": "deny"}, "reason"),
        ({"action": "partially_approve", "partial-reason": "Bumper only"}, "amount"),
        ({"action": "partially_approve", "partial-amount": "5000.00", "partial-reason": "More"}, "amount"),
        ({"action": "request_documents", "request-message": ""}, "message"),
    ],
)
def test_a_decision_without_its_reason_or_a_bad_amount_changes_nothing(client, personas, policy, data, field):
    claim = reviewed(personas, policy)
    events = claim.events.count()
    response = login(client, personas.underwriter).post(review(claim), data)
    assert response.status_code == 200
    form = response.context["forms"][data["action"]]
    assert field in form.errors
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.UNDER_REVIEW
    assert claim.events.count() == events


@pytest.mark.django_db
def test_a_decision_the_workflow_refuses_is_shown_not_raised(client, personas, policy):
    claim = reviewed(personas, policy)
    services.claim_deny(actor=personas.underwriter, claim=claim, reason="Pre-existing damage")
    handler = login(client, personas.underwriter)
    page = handler.get(review(claim)).content.decode()
    assert "cannot be decided again" in page
    response = handler.post(review(claim), {"action": "approve", "approve-reason": "Changed my mind"})
    assert response.status_code == 200
    assert "Cannot approve from state" in response.content.decode()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.DENIED
    assert handler.post(review(claim), {"action": "pay"}).status_code == 400


@pytest.mark.django_db
def test_decision_emails_follow_the_portal_decision(client, personas, policy, django_capture_on_commit_callbacks):
    from django.core import mail

    claim = reviewed(personas, policy)
    with django_capture_on_commit_callbacks(execute=True):
        login(client, personas.underwriter).post(
            review(claim), {"action": "deny", "deny-reason": "Pre-existing damage"}
        )
    assert mail.outbox[-1].subject == f"Claim {claim.number}: denied"
    assert "Pre-existing damage" in mail.outbox[-1].body
    assert claim.events.filter(kind="denied", actor=personas.underwriter).exists()


@pytest.mark.django_db
def test_the_claim_list_pages_keep_the_filter(client, personas, policy, monkeypatch):
    from claims import views

    monkeypatch.setattr(views.ClaimListView, "paginate_by", 2)
    claims = [submit(actor=personas.alice, policy=policy) for _ in range(3)]
    user = login(client, personas.alice)
    first = user.get(f"{LIST}?status=submitted")
    assert [claim.pk for claim in first.context["claims"]] == [claims[2].pk, claims[1].pk]
    assert b'href="?status=submitted&amp;page=2"' in first.content
    second = user.get(f"{LIST}?status=submitted&page=2")
    assert [claim.pk for claim in second.context["claims"]] == [claims[0].pk]
    assert b"Page 2 of 2" in second.content


@pytest.mark.django_db
def test_a_closed_claim_takes_no_more_documents(client, personas, policy):
    claim = reviewed(personas, policy)
    services.claim_deny(actor=personas.underwriter, claim=claim, reason="Pre-existing damage")
    services.claim_close(actor=personas.underwriter, claim=claim)
    user = login(client, personas.alice)
    page = user.get(detail(claim))
    assert "upload_form" not in page.context
    assert b"data-upload-form" not in page.content
    assert user.post(detail(claim), {"documents": [upload("late.png", png())]}).status_code == 403
    assert not claim.documents.exists()
