"""The claim document pipeline (claims.ocr): what an upload may be, how dates and amounts are read, the text layer
and OCR paths, classification, failure modes and the `extract_document` command.

Accuracy on degraded scans and on real invoices is measured in test_ocr_accuracy.py.
"""

import io
import json
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

import pypdfium2 as pdfium
import pytesseract
import pytest
from django.core.management import CommandError, call_command
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFile

from claims.ocr import (
    DocumentRejected,
    ExtractionFailed,
    OcrUnavailable,
    extract_document,
    filetypes,
    image_bytes,
    inspect_upload,
    render_document,
    render_pdf,
    sample_values,
    tesseract_available,
)
from claims.ocr.patterns import find_amounts, find_currencies, find_dates
from claims.ocr.synthetic import FONTS, KINDS

needs_tesseract = pytest.mark.skipif(not tesseract_available(), reason="tesseract is not installed")
needs_fonts = pytest.mark.skipif(
    not all(path.exists() for path in FONTS.values()), reason="DejaVu fonts are not installed (fonts-dejavu-core)"
)
# Invoices in every currency and language the renderer writes: USD, de EUR, fr EUR, nl EUR, GBP, INR.
INVOICE_SEEDS = [101, 105, 110, 115, 117, 100]


def fields_of(result) -> dict:
    return {field.name: field for field in result.fields}


def rejected_code(data: bytes) -> str:
    with pytest.raises(DocumentRejected) as caught:
        inspect_upload(data)
    assert caught.value.message
    return caught.value.code


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def blank_pdf(pages: int = 1, size: tuple[float, float] = (595, 842)) -> bytes:
    pdf = FPDF(unit="pt", format=size)
    for _ in range(pages):
        pdf.add_page()
    return bytes(pdf.output())


@pytest.fixture(scope="module")
def small_page() -> Image.Image:
    return render_document("invoice", {}, dpi=72, seed=1)


# --- what an upload may be --------------------------------------------------------------------------------------


@needs_fonts
@pytest.mark.parametrize(("fmt", "kind", "mime"), [("PNG", "png", "image/png"), ("JPEG", "jpeg", "image/jpeg"),
                                                   ("TIFF", "tiff", "image/tiff")])  # fmt: skip
def test_each_image_type_is_recognised_from_its_bytes_whatever_it_is_called(tmp_path, small_page, fmt, kind, mime):
    misnamed = tmp_path / "claim-form.pdf"  # the name lies; only the bytes count
    misnamed.write_bytes(image_bytes(small_page, fmt))
    info = inspect_upload(misnamed.read_bytes())
    assert (info.kind, info.mime, info.pages) == (kind, mime, 1)
    assert (info.width, info.height) == small_page.size
    assert info.size == misnamed.stat().st_size


def test_a_pdf_is_recognised_and_its_pages_counted():
    info = inspect_upload(blank_pdf(pages=3))
    assert (info.kind, info.mime, info.pages, info.width, info.height) == ("pdf", "application/pdf", 3, None, None)


@needs_fonts
def test_a_multi_page_tiff_counts_its_pages_and_is_held_to_the_page_limit(settings, small_page):
    buffer = io.BytesIO()
    small_page.save(buffer, format="TIFF", save_all=True, append_images=[small_page, small_page])
    assert inspect_upload(buffer.getvalue()).pages == 3
    settings.DOCUMENT_MAX_PAGES = 2
    assert rejected_code(buffer.getvalue()) == "too_many_pages"


@pytest.mark.parametrize(
    "data",
    [
        b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200,  # a Windows executable renamed invoice.pdf
        b"<!DOCTYPE html><html><body>%PDF-1.7 invoice</body></html>",  # HTML that mentions %PDF
        b"Invoice 42\nTotal: 100.00 EUR\n",  # plain text
        b"PK\x03\x04" + b"\x00" * 100,  # a ZIP (or a .docx)
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",  # an image, but not one we accept
    ],
    ids=["exe", "html", "text", "zip", "gif"],
)
def test_anything_else_is_an_unsupported_type(data):
    assert rejected_code(data) == "unsupported_type"


def test_empty_bytes_are_rejected():
    assert rejected_code(b"") == "empty"


@needs_fonts
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "PDF"])
def test_a_truncated_file_is_unreadable(small_page, fmt):
    data = render_pdf("invoice", {}, seed=1) if fmt == "PDF" else image_bytes(small_page, fmt)
    assert rejected_code(data[: len(data) * 2 // 3]) == "unreadable"


@needs_fonts
def test_a_png_with_a_damaged_chunk_is_unreadable(small_page):
    data = bytearray(image_bytes(small_page, "PNG"))
    data[len(data) // 2] ^= 0xFF  # inside the image data: the chunk checksum no longer matches
    assert rejected_code(bytes(data)) == "unreadable"


def test_a_pdf_whose_body_is_garbage_is_unreadable():
    assert rejected_code(b"%PDF-1.7\n" + b"not a pdf object " * 50 + b"\n%%EOF\n") == "unreadable"


def test_an_oversize_file_is_rejected_before_anything_else(settings):
    data = blank_pdf(pages=3)
    settings.DOCUMENT_MAX_BYTES = len(data) - 1
    assert rejected_code(data) == "too_large"
    settings.DOCUMENT_MAX_BYTES = len(data)
    assert inspect_upload(data).pages == 3


def test_a_png_bomb_is_rejected_from_its_header_without_decoding(monkeypatch):
    header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 0, 0, 0, 0)  # declares 2.5 gigapixels
    bomb = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
    bomb += png_chunk(b"IEND", b"")

    def never(*args, **kwargs):
        raise AssertionError("the bomb reached Pillow")

    monkeypatch.setattr(filetypes, "open_image", never)
    assert rejected_code(bomb) == "too_many_pixels"


@needs_fonts
def test_an_image_declaring_too_many_pixels_is_rejected_before_its_pixels_are_decoded(monkeypatch, small_page):
    data = bytearray(image_bytes(small_page, "JPEG"))
    frame = data.find(b"\xff\xc0")  # the JPEG frame header holds height and width
    data[frame + 5 : frame + 9] = struct.pack(">HH", 8_000, 8_000)  # 64 MP: over our limit, under Pillow's

    def never(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", never)
    assert rejected_code(bytes(data)) == "too_many_pixels"
    data[frame + 5 : frame + 9] = struct.pack(">HH", 60_000, 60_000)  # 3.6 GP: Pillow's own bomb error
    assert rejected_code(bytes(data)) == "too_many_pixels"


def test_a_pdf_with_more_pages_than_the_limit_is_rejected(settings):
    assert rejected_code(blank_pdf(pages=settings.DOCUMENT_MAX_PAGES + 1)) == "too_many_pages"


def test_a_pdf_with_an_absurd_page_size_is_rejected():
    # 200 x 200 inches: 60,000 x 60,000 pixels when rendered at 300 dpi for OCR.
    assert rejected_code(blank_pdf(size=(14_400, 14_400))) == "too_many_pixels"


# --- reading dates, amounts and currencies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Invoice date: 2026-03-14", "2026-03-14"),
        ("Date 14/03/2026", "2026-03-14"),
        ("Date: March 14, 2026", "2026-03-14"),
        ("Invoice Date: August 3 , 2014", "2014-08-03"),  # OCR puts a space before the comma
        ("14 March 2026", "2026-03-14"),
        ("14 Mar. 2026", "2026-03-14"),
        ("Rechnungsdatum: 14.03.2026", "2026-03-14"),
        ("Facture du 14 mars 2026", "2026-03-14"),
        ("le 1er février 2026", "2026-02-01"),
        ("Rechnungsdatum 7. Mai 2014", "2014-05-07"),
        ("14. März 2026", "2026-03-14"),
        ("Factuurdatum: 19 april 2014", "2014-04-19"),
        ("29 maart 2014", "2014-03-29"),
        ("Factuur datum 8-9-2022", "2022-09-08"),
        ("Zahlungsziel 21.05.14", "2014-05-21"),
    ],
)
def test_dates_in_many_formats_and_languages_become_iso(text, expected):
    assert [match.value.isoformat() for match in find_dates(text)] == [expected]


def test_a_day_month_ambiguity_follows_the_document_convention():
    assert find_dates("03/04/2026")[0].value == date(2026, 4, 3)
    assert find_dates("03/04/2026", day_first=False)[0].value == date(2026, 3, 4)
    assert find_dates("03/04/2026")[0].ambiguous
    assert not find_dates("03/14/2026")[0].ambiguous  # 14 cannot be a month
    assert find_dates("03/14/2026")[0].value == date(2026, 3, 14)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Total 1,234.56", [("1234.56", None)]),
        ("Gesamtbetrag 1.234,56 €", [("1234.56", "EUR")]),
        ("Total TTC 1\u00a0234,56 €", [("1234.56", "EUR")]),  # French, no-break space
        ("Somme à payer 1 234,56 €", [("1234.56", "EUR")]),  # the same after OCR
        ("Total 1 278.61 40.39 319.00", [("278.61", None), ("40.39", None), ("319.00", None)]),  # columns
        ("Grand Total Rs 1939", [("1939.00", "INR")]),
        ("Amount Rs.1,939.50", [("1939.50", "INR")]),
        ("TOTAL AMOUNT DUE ON August 3 , 2014 $4.11", [("4.11", "USD")]),  # the year is not an amount
        ("Subtotaal €4,904,94", [("4904.94", "EUR")]),  # an OCR'd 4.904,94
        ("Totaal € 717,97", [("717.97", "EUR")]),
        ("Total EUR 34,73", [("34.73", "EUR")]),
        ("Total £1,096.91", [("1096.91", "GBP")]),
        ("Net amount 1,23,456.78", [("123456.78", None)]),  # Indian grouping
        ("VAT 14.50% of 200", []),  # a rate, and a number without cents or currency
        ("Call 020 7604101 before 31.05.14", []),
    ],
)
def test_amounts_with_either_decimal_convention_and_their_currency(text, expected):
    assert [(str(match.value), match.currency) for match in find_amounts(text)] == expected


def test_a_credit_is_marked_negative():
    (credit,) = find_amounts("Insurance payments -£4,614.53")
    assert credit.negative
    assert credit.value == Decimal("4614.53")


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("$ € £ ₹", ["USD", "EUR", "GBP", "INR"]),
        ("USD EUR GBP INR", ["USD", "EUR", "GBP", "INR"]),
        ("Rs. 200 and Rs 300", ["INR", "INR"]),
        ("3.441.812 Euros", ["EUR"]),
        ("S$ 12.00 US$ 4.00", ["USD"]),  # Singapore dollars are not US dollars
    ],
)
def test_currencies_from_symbols_and_codes(text, codes):
    assert [match.code for match in find_currencies(text)] == codes


# --- born-digital PDFs: the text layer ----------------------------------------------------------------------------


@needs_fonts
@pytest.mark.parametrize("seed", INVOICE_SEEDS)
def test_a_born_digital_pdf_is_read_from_its_text_layer(seed):
    truth = sample_values("invoice", seed)
    result = extract_document(render_pdf("invoice", {}, seed=seed))
    fields = fields_of(result)
    assert (result.method, result.document_type, result.pages, result.ocr_confidence) == (
        "text_layer",
        "invoice",
        1,
        None,
    )
    assert fields["date"].value == truth["date"].isoformat()
    assert fields["total_amount"].value == str(truth["total_amount"])
    assert fields["currency"].value == truth["currency"]
    assert fields["invoice_number"].value == truth["invoice_number"]
    assert fields["policy_number"].value == truth["policy_number"]
    assert fields["vendor"].value == truth["vendor"]
    assert not any(field.needs_review for field in fields.values())
    # Boxes are in pixels of the page at 300 dpi (A4: 2480 x 3508): the total sits right of centre, below the date.
    left, top, width, height = fields["total_amount"].box
    assert 1240 < left < left + width < 2480
    assert 0 < height < 80
    assert top > fields["date"].box[1]


@needs_fonts
def test_a_text_layer_pdf_is_read_without_tesseract(settings):
    settings.TESSERACT_CMD = "/nonexistent/tesseract"
    result = extract_document(render_pdf("repair_estimate", {"total_amount": Decimal("2450.00")}, seed=4))
    assert result.method == "text_layer"
    assert fields_of(result)["total_amount"].value == "2450.00"


@needs_fonts
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_claim_document_is_classified(kind):
    for seed in range(3):
        result = extract_document(render_pdf(kind, {}, seed=seed))
        assert result.document_type == kind, (seed, result.text[:300])


@needs_fonts
@pytest.mark.parametrize("kind", ["repair_estimate", "medical_bill", "claim_form"])
def test_policy_and_claim_numbers_are_found(kind):
    truth = sample_values(kind, 7)
    fields = fields_of(extract_document(render_pdf(kind, {}, seed=7)))
    assert fields["policy_number"].value == truth["policy_number"]
    assert fields["claim_number"].value == truth["claim_number"]
    assert fields["policy_number"].confidence >= 0.9


@needs_fonts
def test_the_amount_due_of_a_medical_bill_wins_over_its_charges_and_credits():
    truth = sample_values("medical_bill", 2)
    fields = fields_of(extract_document(render_pdf("medical_bill", {}, seed=2)))
    assert fields["total_amount"].value == str(truth["total_amount"])
    assert fields["date"].value == truth["date"].isoformat()  # the statement date, not birth or service


def test_a_letter_is_other():
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, "Dear Ms Morgan, thank you for your letter of last week. We will be in touch once our "
                         "surveyor has visited the property. Kind regards, the customer service team.")  # fmt: skip
    assert extract_document(bytes(pdf.output())).document_type == "other"


# --- scans: OCR -----------------------------------------------------------------------------------------------------


@needs_tesseract
@needs_fonts
def test_a_scanned_pdf_is_ocrd_and_its_boxes_agree_with_the_text_layer():
    truth = sample_values("invoice", 117)
    scanned = extract_document(render_pdf("invoice", {}, seed=117, text_layer=False))
    digital = fields_of(extract_document(render_pdf("invoice", {}, seed=117)))
    fields = fields_of(scanned)
    assert scanned.method == "ocr"
    assert 0.8 < scanned.ocr_confidence <= 1
    assert fields["date"].value == truth["date"].isoformat()
    assert fields["total_amount"].value == str(truth["total_amount"])
    for name in ("date", "total_amount", "invoice_number"):
        assert overlap(fields[name].box, digital[name].box) > 0.6, name


def overlap(a, b) -> float:
    """Intersection over union of two (left, top, width, height) boxes."""
    width = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    height = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


@needs_tesseract
@needs_fonts
def test_the_box_of_a_field_on_a_skewed_scan_points_at_it_on_the_upload():
    truth = sample_values("invoice", 101)
    upload = render_document("invoice", {}, seed=101, rotate=-5)
    total = fields_of(extract_document(image_bytes(upload)))["total_amount"]
    left, top, width, height = total.box
    crop = upload.crop((left - 10, top - 10, left + width + 10, top + height + 10)).rotate(
        5, expand=True, fillcolor="white"
    )
    read = pytesseract.image_to_string(crop.resize((crop.width * 2, crop.height * 2)), config="--psm 7")
    assert f"{truth['total_amount']:,}" in read.replace(" ", "")


@needs_tesseract
@needs_fonts
def test_scans_of_each_kind_are_classified_and_their_references_read():
    def read(kind):
        return kind, extract_document(image_bytes(render_document(kind, {}, dpi=200, seed=3), "JPEG"))

    with ThreadPoolExecutor(2) as pool:
        results = dict(pool.map(read, KINDS))
    for kind, result in results.items():
        assert (result.document_type, result.method) == (kind, "ocr")
    for kind in ("repair_estimate", "claim_form"):
        truth = sample_values(kind, 3)
        fields = fields_of(results[kind])
        assert fields["policy_number"].value == truth["policy_number"]
        assert fields["claim_number"].value == truth["claim_number"]


@needs_tesseract
def test_a_photo_with_hardly_any_text_is_a_photo():
    photo = Image.new("RGB", (1600, 1200), (120, 150, 190))
    draw = ImageDraw.Draw(photo)
    draw.rectangle((0, 800, 1600, 1200), fill=(70, 70, 75))  # road
    draw.rounded_rectangle((300, 500, 1300, 900), radius=120, fill=(180, 30, 40))  # a car
    draw.ellipse((400, 820, 600, 1020), fill=(20, 20, 20))
    draw.ellipse((1000, 820, 1200, 1020), fill=(20, 20, 20))
    draw.polygon([(700, 520), (820, 640), (760, 700)], fill=(90, 20, 25))  # the dent
    result = extract_document(image_bytes(photo, "JPEG"))
    assert result.document_type == "photo"


# --- failures ---------------------------------------------------------------------------------------------------


@needs_fonts
def test_without_tesseract_ocr_is_unavailable_with_the_fix_in_the_message(settings, small_page):
    settings.TESSERACT_CMD = "/nonexistent/tesseract"
    assert not tesseract_available()
    with pytest.raises(OcrUnavailable, match="apt-get install tesseract-ocr"):
        extract_document(image_bytes(small_page))


@needs_fonts
def test_tesseract_vanishing_mid_run_is_unavailable_too(monkeypatch, small_page):
    def missing(*args, **kwargs):
        raise pytesseract.TesseractNotFoundError()

    monkeypatch.setattr(pytesseract, "image_to_data", missing)
    monkeypatch.setattr("claims.ocr.tesseract.tesseract_available", lambda: True)
    with pytest.raises(OcrUnavailable):
        extract_document(image_bytes(small_page))


@needs_tesseract
@needs_fonts
def test_a_page_that_takes_too_long_fails_the_extraction(settings, small_page):
    settings.OCR_PAGE_TIMEOUT_SECONDS = 0.01
    with pytest.raises(ExtractionFailed, match="longer than"):
        extract_document(image_bytes(small_page))


@needs_fonts
def test_a_tesseract_timeout_is_an_extraction_failure(monkeypatch, small_page):
    def slow(*args, **kwargs):
        raise RuntimeError("Tesseract process timeout")

    monkeypatch.setattr(pytesseract, "image_to_data", slow)
    monkeypatch.setattr("claims.ocr.tesseract.tesseract_available", lambda: True)
    with pytest.raises(ExtractionFailed, match="page 1"):
        extract_document(image_bytes(small_page))


# --- the command --------------------------------------------------------------------------------------------------


@pytest.fixture
def invoice_pdf(tmp_path):
    path = tmp_path / "invoice.pdf"
    path.write_bytes(render_pdf("invoice", {"total_amount": Decimal("1234.50"), "currency": "USD"}, seed=3))
    return path


@needs_fonts
@pytest.mark.django_db
def test_the_command_prints_the_type_and_a_table_of_fields(invoice_pdf):
    out = io.StringIO()
    call_command("extract_document", str(invoice_pdf), stdout=out)
    printed = out.getvalue()
    assert "invoice.pdf: invoice" in printed
    assert "text_layer" in printed
    assert "total_amount" in printed
    assert "1234.50" in printed
    assert "USD" in printed


@needs_fonts
@pytest.mark.django_db
def test_the_command_prints_one_json_object(invoice_pdf):
    out = io.StringIO()
    call_command("extract_document", str(invoice_pdf), "--json", stdout=out)
    payload = json.loads(out.getvalue())
    assert (payload["document_type"], payload["method"], payload["pages"]) == ("invoice", "text_layer", 1)
    total = next(field for field in payload["fields"] if field["name"] == "total_amount")
    assert (total["value"], total["needs_review"], len(total["box"])) == ("1234.50", False, 4)


@pytest.mark.django_db
def test_the_command_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        call_command("extract_document", str(tmp_path / "nowhere.pdf"))


@pytest.mark.django_db
def test_the_command_explains_a_rejected_upload(tmp_path):
    fake = tmp_path / "invoice.pdf"
    fake.write_text("<html>not a pdf</html>")
    with pytest.raises(CommandError, match="unsupported_type"):
        call_command("extract_document", str(fake))


@needs_fonts
@pytest.mark.django_db
def test_the_command_explains_a_missing_tesseract(settings, tmp_path, small_page):
    settings.TESSERACT_CMD = "/nonexistent/tesseract"
    scan = tmp_path / "scan.png"
    scan.write_bytes(image_bytes(small_page))
    with pytest.raises(CommandError, match="apt-get install tesseract-ocr"):
        call_command("extract_document", str(scan))


@needs_fonts
def test_pdfium_reads_what_the_renderer_writes():
    """The text layer test above relies on PDFium seeing the fpdf2 text; guard that assumption directly."""
    pdf = pdfium.PdfDocument(render_pdf("claim_form", {"policy_number": "POL-2026-000042"}, seed=1))
    try:
        assert "POL-2026-000042" in pdf[0].get_textpage().get_text_range()
    finally:
        pdf.close()
