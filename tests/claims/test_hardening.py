"""What a reviewer broke, held: no history reverts, no fraud hints to claimants, safe downloads, bombs refused,
people's work not overridden, stale idempotency keys released."""

import io
import zlib
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from claims import services
from claims.choices import ClaimStatus
from claims.models import Claim, ClaimDocument, IdempotencyRecord
from tests.claims.conftest import fnol, submit
from tests.claims.test_documents import png_invoice

CLAIMS_URL = reverse("claims-api:claim-list")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def detail(claim) -> str:
    return reverse("claims-api:claim-detail", args=[claim.pk])


@pytest.mark.django_db
def test_history_cannot_be_reverted_in_the_admin(client, personas, policy):
    claim = submit(actor=personas.alice, policy=policy)
    claim = services.claim_approve(actor=personas.underwriter, claim=claim, reason="ok")
    services.payment_create(actor=personas.underwriter, claim=claim, amount=claim.approved_amount)
    approved_version = claim.history.filter(status=ClaimStatus.APPROVED).earliest("history_date")
    client.force_login(personas.admin)
    url = reverse("admin:claims_claim_simple_history", args=[claim.pk, approved_version.history_id])
    client.post(url, {"status": "approved", "paid_amount": "0"})
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID


@pytest.mark.django_db
def test_an_investigation_is_never_announced_to_the_claimant(personas, policy, api_client):
    claim = submit(actor=personas.alice, policy=policy)
    services.claim_investigate(actor=personas.underwriter, claim=claim, reason="SIU: garage linked to a ring")
    for persona in ("alice", "alice_agent"):
        body = api_client(getattr(personas, persona)).get(detail(claim)).json()
        assert "SIU" not in str(body)
        assert "investigat" not in str(body).lower()
    assert "SIU" in str(api_client(personas.underwriter).get(detail(claim)).json())


@pytest.mark.django_db
def test_the_customer_timeline_carries_no_reason_codes(personas, policy, api_client):
    claim = submit(actor=personas.alice, policy=policy)
    services.claim_evaluate(actor=personas.underwriter, claim=claim)
    timeline = api_client(personas.alice).get(detail(claim)).json()["timeline"]
    assert timeline[-1]["message"] == "Decision: route to a person"
    assert "FRAUD" not in str(timeline)


@pytest.mark.django_db
def test_a_person_taking_a_claim_stops_the_engine(personas, policy):
    claim = submit(actor=personas.alice, policy=policy)
    services.claim_assign(actor=personas.underwriter, claim=claim, handler=personas.underwriter)
    assert services.claim_evaluate(actor=personas.underwriter, claim=claim) is None
    assert not claim.decisions.exists()


@pytest.mark.django_db
def test_downloads_never_500_and_carry_the_real_extension(personas, policy, api_client):
    response = api_client(personas.alice).post(
        CLAIMS_URL,
        {**fnol(), "policy": policy.number, "documents": [SimpleUploadedFile("evil.html", png_invoice(), "text/html")]},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    document = ClaimDocument.objects.get()
    url = reverse("claims-api:claim-download", args=[document.claim_id, document.pk])
    assert 'filename="evil.png"' in api_client(personas.alice).get(url)["Content-Disposition"]
    assert api_client(personas.alice).get(f"/api/claims/abc/documents/{document.pk}/download/").status_code == 404
    document.file.delete(save=False)
    assert api_client(personas.alice).get(url).status_code == 404


@pytest.mark.django_db
def test_the_document_page_renders_in_the_admin(client, personas, policy, api_client):
    api_client(personas.alice).post(
        CLAIMS_URL,
        {**fnol(), "policy": policy.number, "documents": [SimpleUploadedFile("a.png", png_invoice(), "image/png")]},
        format="multipart",
    )
    client.force_login(personas.underwriter)
    document = ClaimDocument.objects.get()
    assert client.get(reverse("admin:claims_claimdocument_change", args=[document.pk])).status_code == 200


def _pdf_bomb(inflated_bytes: int) -> bytes:
    content = zlib.compress(b"0 0 m " * (inflated_bytes // 6), 1)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


@pytest.mark.django_db
def test_a_pdf_bomb_is_refused_without_taking_the_process_down(personas, policy, api_client, settings):
    settings.DOCUMENT_MEMORY_LIMIT_MB = 48
    bomb = _pdf_bomb(300_000_000)
    assert len(bomb) < 2_000_000
    response = api_client(personas.alice).post(
        CLAIMS_URL,
        {**fnol(), "policy": policy.number, "documents": [SimpleUploadedFile("scan.pdf", bomb, "application/pdf")]},
        format="multipart",
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] in {"document_too_complex", "document_too_slow"}
    assert not Claim.objects.exists()


@pytest.mark.django_db
def test_a_stale_in_flight_idempotency_key_is_released(personas, policy, api_client):
    body = {**fnol(), "policy": policy.number}
    client = api_client(personas.alice)
    assert client.post(CLAIMS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="crashed").status_code == 201
    # Make it look as if that first request were still running (it crashed before recording its response).
    IdempotencyRecord.objects.filter(key="crashed").update(completed=False, response_status=None, response_body=None)
    assert client.post(CLAIMS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="crashed").status_code == 409
    IdempotencyRecord.objects.filter(key="crashed").update(created_at=timezone.now() - timedelta(minutes=11))
    assert client.post(CLAIMS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="crashed").status_code == 201
    assert Claim.objects.count() == 2


@pytest.mark.django_db
def test_claimants_cannot_find_investigations_by_filtering(personas, policy, api_client):
    claim = submit(actor=personas.alice, policy=policy)
    services.claim_investigate(actor=personas.underwriter, claim=claim, reason="ring")
    client = api_client(personas.alice)
    assert client.get(CLAIMS_URL, {"status": "investigation"}).json()["results"] == []
    assert [row["id"] for row in client.get(CLAIMS_URL, {"status": "under_review"}).json()["results"]] == [claim.pk]
    handler = api_client(personas.underwriter)
    assert [row["id"] for row in handler.get(CLAIMS_URL, {"status": "investigation"}).json()["results"]] == [claim.pk]


@pytest.mark.django_db
def test_failed_documents_can_be_read_again_once_tesseract_is_there(
    personas, policy, api_client, settings, django_capture_on_commit_callbacks
):
    from io import StringIO

    from django.core.management import call_command

    from claims.ocr import tesseract_available

    real_tesseract = settings.TESSERACT_CMD
    settings.TESSERACT_CMD = "/nonexistent/tesseract"
    with django_capture_on_commit_callbacks(execute=True):
        api_client(personas.alice).post(
            CLAIMS_URL,
            {**fnol(), "policy": policy.number, "documents": [SimpleUploadedFile("a.png", png_invoice(), "image/png")]},
            format="multipart",
        )
    document = ClaimDocument.objects.get()
    assert document.status == "failed"
    settings.TESSERACT_CMD = real_tesseract
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("reprocess_documents", "--claim", document.claim.number, stdout=out)
    assert "Queued 1 failed document" in out.getvalue()
    document.refresh_from_db()
    assert document.status == ("done" if tesseract_available() else "failed")
    assert document.history.latest().history_user.username == "system-celery"
