"""What an upload is, decided from its bytes alone, and the limits that keep hostile files out of the OCR workers.

A file name or a client's content type says nothing we can trust, so only magic numbers count. Limits are checked
in the cheapest order (size, type, declared dimensions, page count) and the file is fully decoded only after its
declared dimensions passed, so a decompression bomb is refused before it can allocate anything.
"""

import io
import re
import struct
import threading
import warnings
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from django.conf import settings
from PIL import Image

from .errors import DocumentRejected

# Pages of a PDF are rendered at this resolution for OCR; the pixel limit applies to that rendering.
RENDER_DPI = 300
# PDFium is not thread-safe; every use of it in this package goes through this lock.
PDFIUM_LOCK = threading.Lock()

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)
MIME_TYPES = {"pdf": "application/pdf", "png": "image/png", "jpeg": "image/jpeg", "tiff": "image/tiff"}
_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "tiff": "TIFF"}
# What Pillow and PDFium raise on damaged input; all of it means "unreadable" to the uploader.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, MemoryError)


@dataclass(frozen=True)
class FileInfo:
    """What an accepted upload is. `width`/`height` are the first image's pixels; None for a PDF (vector pages)."""

    kind: str
    mime: str
    pages: int
    width: int | None
    height: int | None
    size: int


def sniff(data: bytes) -> str | None:
    """The document kind from its leading bytes, or None when it is none of the kinds we accept."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    return None


def inspect_upload(data: bytes) -> FileInfo:
    """Accept or refuse an upload (DocumentRejected), looking only at its bytes; a returned FileInfo decoded fully."""
    size = len(data)
    if size == 0:
        raise DocumentRejected("empty", "The file is empty.")
    limit = settings.DOCUMENT_MAX_BYTES
    if size > limit:
        raise DocumentRejected("too_large", f"The file is {_mib(size)}; the limit is {_mib(limit)}.")
    kind = sniff(data)
    if kind is None:
        raise DocumentRejected(
            "unsupported_type", "This is not a PDF, JPEG, PNG or TIFF document (judged from its content, not its name)."
        )
    if kind == "pdf":
        return _inspect_pdf(data)
    return _inspect_image(data, kind)


def open_image(data: bytes, kind: str) -> Image.Image:
    """Open an image that `inspect_upload` accepted; Pillow's bomb check stays on as a second line."""
    return Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[kind]])


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def _check_pixels(width: int, height: int, what: str) -> None:
    """`what` names the thing measured in a sentence: "the image", "page 2 at 300 dpi"."""
    subject = what[0].upper() + what[1:]
    if width <= 0 or height <= 0:
        raise DocumentRejected("unreadable", f"{subject} has no pixels ({width}x{height}).")
    limit = settings.DOCUMENT_MAX_PIXELS
    if width * height > limit:
        raise DocumentRejected(
            "too_many_pixels",
            f"{subject} is {width}x{height} pixels ({width * height / 1e6:.0f} MP); the limit is {limit / 1e6:.0f} MP.",
        )


def _count_frames(image: Image.Image, limit: int) -> int:
    """Frames of a TIFF, counted one seek at a time and never past `limit + 1`: Pillow's `n_frames` walks every
    directory first, which a crafted file with 100,000 of them turns into minutes of work."""
    count = 1
    while count <= limit:
        try:
            image.seek(count)
        except EOFError:
            break
        count += 1
    image.seek(0)
    return count


def _check_pages(pages: int) -> None:
    limit = settings.DOCUMENT_MAX_PAGES
    if pages > limit:
        raise DocumentRejected("too_many_pages", f"The document has {pages} pages; the limit is {limit}.")


def _png_declared_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, read by hand so no decoder sees the file before the pixel check."""
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise DocumentRejected("unreadable", "The PNG is damaged (no image header).")
    return struct.unpack(">II", data[16:24])


def _inspect_image(data: bytes, kind: str) -> FileInfo:
    if kind == "png":
        _check_pixels(*_png_declared_size(data), "the image")
    try:
        with warnings.catch_warnings():
            # Damaged metadata is reported by the decode below, not as a stray warning; and Pillow only warns
            # between its own pixel limit and twice that, where for us any bomb is an error.
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with open_image(data, kind) as image:
                frames = _count_frames(image, settings.DOCUMENT_MAX_PAGES) if kind == "tiff" else 1
                _check_pages(frames)
                sizes = []
                for index in range(frames):
                    image.seek(index)
                    _check_pixels(*image.size, f"page {index + 1}" if frames > 1 else "the image")
                    sizes.append(image.size)
                if kind == "png":
                    image.verify()  # chunk CRCs; after verify() the image must be reopened to decode
            with open_image(data, kind) as image:
                for index in range(frames):
                    image.seek(index)
                    image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DocumentRejected(
            "too_many_pixels", "The image declares more pixels than we decode (a decompression bomb?)."
        ) from None
    except _DECODE_ERRORS as error:
        detail = re.sub(r"\s*<[^>]*>", "", str(error))  # Pillow names its BytesIO object; nobody needs that
        raise DocumentRejected("unreadable", f"The {kind.upper()} image is truncated or damaged ({detail}).") from None
    width, height = sizes[0]
    return FileInfo(kind=kind, mime=MIME_TYPES[kind], pages=frames, width=width, height=height, size=len(data))


def _inspect_pdf(data: bytes) -> FileInfo:
    # PDFium quietly repairs a truncated file by rebuilding its cross-reference table; a missing end marker is
    # how we notice the cut.
    if b"%%EOF" not in data[-1024:]:
        raise DocumentRejected("unreadable", "The PDF is truncated (no end-of-file marker).")
    with PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as error:
            if "password" in str(error).lower():
                raise DocumentRejected("unreadable", "The PDF is password-protected.") from None
            raise DocumentRejected("unreadable", f"The PDF is damaged ({error}).") from None
        try:
            pages = len(pdf)
            if pages == 0:
                raise DocumentRejected("empty", "The PDF has no pages.")
            _check_pages(pages)
            for index in range(pages):
                _inspect_pdf_page(pdf, index)
        except pdfium.PdfiumError as error:
            raise DocumentRejected("unreadable", f"The PDF is damaged ({error}).") from None
        finally:
            pdf.close()
    return FileInfo(kind="pdf", mime=MIME_TYPES["pdf"], pages=pages, width=None, height=None, size=len(data))


def _inspect_pdf_page(pdf: pdfium.PdfDocument, index: int) -> None:
    """Page size at RENDER_DPI and every embedded image against the pixel limit; parsing the text proves the page."""
    page = pdf[index]
    try:
        width_pt, height_pt = page.get_size()
        scale = RENDER_DPI / 72
        _check_pixels(round(width_pt * scale), round(height_pt * scale), f"page {index + 1} at {RENDER_DPI} dpi")
        for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=4):
            _check_pixels(*obj.get_px_size(), f"an image on page {index + 1}")
        page.get_textpage().close()
    finally:
        page.close()
