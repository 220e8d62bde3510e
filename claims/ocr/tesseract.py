"""Running tesseract on one page image, with its failure modes turned into the pipeline's exceptions."""

import os
import shutil

import pytesseract
from django.conf import settings
from PIL import Image

from .errors import ExtractionFailed, OcrUnavailable
from .words import Page, page_from_tesseract

LANGUAGE = "eng"
# --psm 3: automatic page segmentation (invoices mix columns, tables and free text); --oem 1: the LSTM engine.
CONFIG = "--psm 3 --oem 1"


def tesseract_available() -> bool:
    """Whether the tesseract binary named by TESSERACT_CMD can be found."""
    return shutil.which(settings.TESSERACT_CMD) is not None


def ocr_page(image: Image.Image, *, number: int) -> Page:
    """Words, boxes and confidences of one prepared page; boxes are in the pixels of `image`."""
    if not tesseract_available():
        raise OcrUnavailable()
    pytesseract.pytesseract.tesseract_cmd = settings.TESSERACT_CMD
    # Tesseract's OpenMP threads fight each other on a busy worker and make one page slower, not faster.
    os.environ["OMP_THREAD_LIMIT"] = "1"
    timeout = settings.OCR_PAGE_TIMEOUT_SECONDS
    try:
        data = pytesseract.image_to_data(
            image, lang=LANGUAGE, config=CONFIG, output_type=pytesseract.Output.DICT, timeout=timeout
        )
    except pytesseract.TesseractNotFoundError:
        raise OcrUnavailable() from None
    except pytesseract.TesseractError as error:
        raise ExtractionFailed(f"Tesseract could not read page {number}: {error.message}") from None
    except RuntimeError as error:  # pytesseract's timeout is a bare RuntimeError
        if "timeout" in str(error).lower():
            raise ExtractionFailed(f"OCR of page {number} took longer than {timeout} s and was stopped.") from None
        raise ExtractionFailed(f"OCR of page {number} failed: {error}") from None
    return page_from_tesseract(data, number=number, width=image.width, height=image.height)
