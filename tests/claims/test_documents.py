"""Claim documents: type from the bytes, limits and bombs refused, safe names, attachment downloads in scope,
and OCR that reads an invoice, feeds the decision, and never blocks the claim when it fails."""

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from claims.models import Claim, ClaimDocument
from claims.ocr import render_document, tesseract_available
from tests.api_schema import call_and_validate, token_headers
from tests.claims.conftest import fnol

CLAIMS_URL = reverse("claims-api:claim-list")
needs_tesseract = pytest.mark.skipif(not tesseract_available(), reason="tesseract is not installed")


def png_invoice(total: str = "1200.00", **values) -> bytes:
    image = render_document(
        "invoice",
        {
            "vendor": "Main Street Auto Repair LLC",
            "invoice_number": "INV-20417",
            "date": date(2026, 11, 3),
            "total_amount": Decimal(total),
            "currency": "USD",
            **values,
        },
        dpi=200,
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def upload(name: str, data: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def post_claim(client, policy, *files, **headers):
    return client.post(
        CLAIMS_URL, {**fnol(), "policy": policy.number, "documents": list(files)}, format="multipart", **headers
    )


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "claims"
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.django_db
def test_a_document_is_stored_under_a_generated_name_with_its_hash(personas, policy, api_client, settings):
    data = png_invoice()
    response = post_claim(api_client(personas.alice), policy, upload("../../etc/pass\x00wd\r\n.png", data))
    assert response.status_code == 201, response.content
    document = ClaimDocument.objects.get()
    assert document.kind == "png"
    assert document.original_name == "pass_wd_.png" or "/" not in document.original_name
    assert "\x00" not in document.original_name
    assert ".." not in document.original_name
    assert document.file.name.startswith("claims/")
    assert "pass" not in document.file.name
    import hashlib

    assert document.sha256 == hashlib.sha256(data).hexdigest()
    assert Path(document.file.path).read_bytes() == data
    assert not str(Path(document.file.path)).startswith(str(settings.BASE_DIR / "static"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("invoice.pdf", b"<html><script>alert(1)</script></html>", "application/pdf"),
        ("photo.png", b"MZ\x90\x00\x03" + b"\x00" * 200, "image/png"),
        ("truncated.png", None, "image/png"),
        ("empty.jpg", b"", "image/jpeg"),
    ],
)
def test_a_bad_file_rejects_the_report_and_stores_nothing(
    personas, policy, api_client, settings, name, data, content_type
):
    if data is None:
        data = png_invoice()[:400]
    good = upload("ok.png", png_invoice())
    response = post_claim(api_client(personas.alice), policy, good, upload(name, data, content_type))
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert "documents[1]" in error["fields"]
    assert not Claim.objects.exists()
    assert not ClaimDocument.objects.exists()
    assert stored_files(settings) == []


@pytest.mark.django_db
def test_an_oversize_file_is_refused(personas, policy, api_client, settings):
    settings.DOCUMENT_MAX_BYTES = 10_000
    response = post_claim(api_client(personas.alice), policy, upload("big.png", png_invoice()))
    assert response.status_code == 400
    assert response.json()["error"]["code"].startswith("document_")
    assert not Claim.objects.exists()


@pytest.mark.django_db
def test_a_decompression_bomb_is_refused(personas, policy, api_client):
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 60000, 60000, 8, 0, 0, 0, 0)
    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 60001 * 50))
        + chunk(b"IEND", b"")
    )
    response = post_claim(api_client(personas.alice), policy, upload("bomb.png", bomb))
    assert response.status_code == 400
    assert not Claim.objects.exists()


@pytest.mark.django_db
def test_documents_download_as_attachments_only_for_those_who_may_see_the_claim(personas, policy, api_client):
    data = png_invoice()
    claim_id = post_claim(api_client(personas.alice), policy, upload("invoice.png", data)).json()["id"]
    document = ClaimDocument.objects.get()
    url = reverse("claims-api:claim-download", args=[claim_id, document.pk])
    response = api_client(personas.alice).get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == data
    assert api_client(personas.alice_agent).get(url).status_code == 200
    assert api_client(personas.bob).get(url).status_code == 404
    assert api_client(personas.analyst).get(url).status_code == 403
    assert api_client(None).get(url).status_code == 401


@pytest.mark.django_db
def test_documents_can_be_added_later(personas, policy, api_client):
    claim_id = (
        api_client(personas.alice).post(CLAIMS_URL, {**fnol(), "policy": policy.number}, format="json").json()["id"]
    )
    url = reverse("claims-api:claim-upload-documents", args=[claim_id])
    response = api_client(personas.alice).post(url, {"documents": [upload("a.png", png_invoice())]}, format="multipart")
    assert response.status_code == 201, response.content
    assert (
        api_client(personas.bob)
        .post(url, {"documents": [upload("b.png", png_invoice())]}, format="multipart")
        .status_code
        == 404
    )


@pytest.mark.django_db
def test_documents_added_later_answer_a_list_as_the_schema_says(personas, policy, api_client):
    """The schema documented a page (`{count, results}`) for this POST, which answers a plain list: found by
    tests/core/test_api_fuzz.py."""
    claim_id = (
        api_client(personas.alice).post(CLAIMS_URL, {**fnol(), "policy": policy.number}, format="json").json()["id"]
    )
    response = call_and_validate(
        "POST",
        "/api/claims/{id}/documents/",
        headers=token_headers(personas.alice),
        body={"documents": [png_invoice()]},
        media_type="multipart/form-data",
        id=claim_id,
    )
    assert response.status_code == 201, response.content
    assert [document["kind"] for document in response.json()] == ["png"]


@needs_tesseract
@pytest.mark.django_db
def test_an_invoice_that_agrees_is_read_and_the_claim_auto_approved(
    personas, policy, api_client, django_capture_on_commit_callbacks, settings
):
    settings.CLAIMS_AUTO_APPROVE_WITHOUT_FRAUD_CHECK = True  # no fraud app yet in this test
    with django_capture_on_commit_callbacks(execute=True):
        response = post_claim(api_client(personas.alice), policy, upload("invoice.png", png_invoice("1200.00")))
    assert response.status_code == 201
    claim = Claim.objects.get(pk=response.json()["id"])
    document = claim.documents.get()
    assert (document.status, document.document_type) == ("done", "invoice")
    total = document.fields.get(name="total_amount")
    assert Decimal(total.value) == Decimal("1200.00")
    assert total.page == 1
    assert total.box
    assert claim.status == "approved", claim.decision_reasons
    assert claim.approved_amount == Decimal("700.00")  # 1,200 less the 500 deductible
    assert {"DOCUMENTS_AGREE", "AUTO_APPROVED"} <= {reason["code"] for reason in claim.decision_reasons}


@needs_tesseract
@pytest.mark.django_db
def test_an_inflated_claim_goes_to_a_person(personas, policy, api_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_claim(api_client(personas.alice), policy, upload("invoice.png", png_invoice("400.00")))
    claim = Claim.objects.get(pk=response.json()["id"])
    assert claim.status == "under_review"
    assert "COST_ABOVE_DOCUMENTS" in {reason["code"] for reason in claim.decision_reasons}


@pytest.mark.django_db
def test_a_failed_ocr_marks_the_document_and_the_claim_carries_on(
    personas, policy, api_client, settings, django_capture_on_commit_callbacks
):
    settings.TESSERACT_CMD = "/nonexistent/tesseract"
    with django_capture_on_commit_callbacks(execute=True):
        response = post_claim(api_client(personas.alice), policy, upload("invoice.png", png_invoice()))
    assert response.status_code == 201
    claim = Claim.objects.get(pk=response.json()["id"])
    document = claim.documents.get()
    assert document.status == "failed"
    assert "tesseract" in document.failure_reason
    assert claim.status == "under_review"
    assert "DOCUMENT_UNREADABLE" in {reason["code"] for reason in claim.decision_reasons}
