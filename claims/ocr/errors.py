"""The three ways the document pipeline says no: a refused upload, no OCR engine, or OCR that broke."""

from insurance.core.exceptions import ServiceError


class DocumentRejected(ServiceError):
    """The upload is not a document we will process; a ServiceError, so the API answers 400 with `code`."""

    def __init__(self, code: str, message: str):
        super().__init__(message, code=code)


class OcrUnavailable(Exception):
    """Tesseract is not installed here: an operations problem, not the uploader's, so it is not a ServiceError."""

    def __init__(self, message: str = ""):
        self.message = message or (
            "Tesseract OCR is not installed (or TESSERACT_CMD is wrong): run `apt-get install tesseract-ocr`."
        )
        super().__init__(self.message)


class ExtractionFailed(Exception):
    """OCR started but could not finish a page (timeout, a page tesseract cannot read); worth a retry or a person."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)
