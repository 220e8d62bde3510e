"""The claim document pipeline: uploaded bytes in, a classified document with its fields out.

`inspect_upload` decides from the bytes alone what a file is and refuses anything unsafe or unreadable;
`extract_document` reads it (a PDF's text layer, or tesseract OCR on prepared page images), classifies it and
extracts the date, total, currency, document number, policy and claim numbers and vendor, each with a confidence,
a page and a box. `render_document` and `render_pdf` draw synthetic claim documents with known values for tests
and demo data. Model-free: the claims app stores what this returns.
"""

from .errors import DocumentRejected, ExtractionFailed, OcrUnavailable
from .fields import ExtractedField
from .filetypes import FileInfo, inspect_upload
from .pipeline import ExtractionResult, extract_document
from .synthetic import image_bytes, render_document, render_pdf, sample_values
from .tesseract import tesseract_available

__all__ = [
    "DocumentRejected",
    "ExtractedField",
    "ExtractionFailed",
    "ExtractionResult",
    "FileInfo",
    "OcrUnavailable",
    "extract_document",
    "image_bytes",
    "inspect_upload",
    "render_document",
    "render_pdf",
    "sample_values",
    "tesseract_available",
]
