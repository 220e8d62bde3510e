"""One call from uploaded bytes to a typed, classified document with its fields: `extract_document`.

A PDF page with a real text layer is read from it (exact, instant, no OCR); any other page is rendered or decoded,
prepared (`preprocess`) and read by tesseract. Fields are extracted on the prepared pages, where text rows are
horizontal, and their boxes are then mapped back onto the page as uploaded (as displayed, EXIF orientation applied)
or, for a PDF, as rendered at 300 dpi.
"""

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import pypdfium2 as pdfium
from PIL import Image

from .classify import classify
from .errors import DocumentRejected, ExtractionFailed
from .fields import ExtractedField, extract_fields
from .filetypes import PDFIUM_LOCK, RENDER_DPI, inspect_upload, open_image
from .preprocess import prepare_for_ocr
from .tesseract import ocr_page
from .words import Box, Page, page_from_text_layer

# A page whose text layer has fewer letters and digits than this is a scan (or a scan with a stray caption).
MIN_TEXT_LAYER_CHARS = 25
PHOTO_WORD_CONFIDENCE = 0.6  # OCR words below this on a photo are mostly texture read as letters


@dataclass(frozen=True)
class ExtractionResult:
    """What a document is and what it says. `ocr_confidence` is the mean word confidence, None without OCR."""

    document_type: str
    method: str
    pages: int
    text: str
    ocr_confidence: float | None
    fields: list[ExtractedField]
    seconds: float


@dataclass
class _ReadPage:
    page: Page
    ocr: bool
    to_source: Callable[[Box], Box]


def extract_document(data: bytes) -> ExtractionResult:
    """Inspect, read and understand an upload; raises DocumentRejected, OcrUnavailable or ExtractionFailed."""
    started = time.perf_counter()
    info = inspect_upload(data)
    read = _read_pdf(data) if info.kind == "pdf" else _read_image(data, info.kind)
    pages = [item.page for item in read]
    fields = [_map_box(field, read[field.page - 1].to_source) for field in extract_fields(pages)]
    ocr_words = [word for item in read if item.ocr for word in item.page.words]
    ocr_confidence = round(sum(word.conf for word in ocr_words) / len(ocr_words), 3) if ocr_words else None
    if any(item.ocr for item in read) and ocr_confidence is None:
        ocr_confidence = 0.0
    readable = [
        word for word in ocr_words if word.conf >= PHOTO_WORD_CONFIDENCE and sum(c.isalnum() for c in word.text) >= 2
    ]
    text = "\n\n".join(page.text for page in pages)
    return ExtractionResult(
        document_type=classify(text, is_image=info.kind != "pdf", word_count=len(readable)),
        method="ocr" if any(item.ocr for item in read) else "text_layer",
        pages=info.pages,
        text=text,
        ocr_confidence=ocr_confidence,
        fields=fields,
        seconds=round(time.perf_counter() - started, 3),
    )


def _map_box(field: ExtractedField, to_source: Callable[[Box], Box]) -> ExtractedField:
    return dataclasses.replace(field, box=to_source(field.box)) if field.box else field


def _identity(box: Box) -> Box:
    return box


def _ocr(image: Image.Image, *, number: int, dpi: float | None = None) -> _ReadPage:
    prepared, geometry = prepare_for_ocr(image, dpi=dpi)
    return _ReadPage(ocr_page(prepared, number=number), ocr=True, to_source=geometry.to_source)


def _read_image(data: bytes, kind: str) -> list[_ReadPage]:
    read = []
    with open_image(data, kind) as image:
        for index in range(getattr(image, "n_frames", 1) if kind == "tiff" else 1):
            image.seek(index)
            frame = image.copy()
            frame.info.setdefault("dpi", image.info.get("dpi"))
            read.append(_ocr(frame, number=index + 1))
    return read


def _read_pdf(data: bytes) -> list[_ReadPage]:
    """Text-layer pages are read under the PDFium lock; scanned pages are rendered there and OCR'd after it."""
    read: list[_ReadPage | None] = []
    scans = []
    with PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as error:  # inspect_upload opened it a moment ago; only a race gets here
            raise DocumentRejected("unreadable", f"The PDF is damaged ({error}).") from None
        try:
            for index in range(len(pdf)):
                page = pdf[index]
                try:
                    text_page = page_from_text_layer(page, number=index + 1, dpi=RENDER_DPI)
                    if sum(char.isalnum() for char in text_page.text) >= MIN_TEXT_LAYER_CHARS:
                        read.append(_ReadPage(text_page, ocr=False, to_source=_identity))
                        continue
                    bitmap = page.render(scale=RENDER_DPI / 72, grayscale=True)
                    scans.append((index, bitmap.to_pil().copy()))  # a copy outlives the PDFium bitmap
                    read.append(None)
                except pdfium.PdfiumError as error:
                    raise ExtractionFailed(f"Page {index + 1} of the PDF could not be rendered: {error}") from None
                finally:
                    page.close()
        finally:
            pdf.close()
    for index, image in scans:
        read[index] = _ocr(image, number=index + 1, dpi=RENDER_DPI)
    return [item for item in read if item is not None]
