"""Run the claim document pipeline on a file: `manage.py extract_document invoice.pdf [--json]`.

For support and tuning: shows what the upload check, the OCR and the field extraction make of a document,
exactly as an upload would be processed. Nothing is stored.
"""

import dataclasses
import io
import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from rich.console import Console
from rich.table import Table

from claims.ocr import DocumentRejected, ExtractionFailed, ExtractionResult, OcrUnavailable, extract_document
from insurance.core.commands import AuditedCommand


class Command(AuditedCommand):
    help = "Extract the document type and fields (date, total, currency, numbers, vendor) from a PDF or image."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="a PDF, JPEG, PNG or TIFF file")
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")

    def handle(self, *args, **options) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        size = path.stat().st_size
        if size > settings.DOCUMENT_MAX_BYTES:  # refuse before reading a huge file into memory
            raise CommandError(
                f"Rejected (too_large): {path} is {size} bytes; the limit is {settings.DOCUMENT_MAX_BYTES}."
            )
        try:
            result = extract_document(path.read_bytes())
        except DocumentRejected as error:
            raise CommandError(f"Rejected ({error.code}): {error.message}") from None
        except (OcrUnavailable, ExtractionFailed) as error:
            raise CommandError(error.message) from None
        if options["json"]:
            self.stdout.write(json.dumps({"file": str(path), **dataclasses.asdict(result)}, ensure_ascii=False))
        else:
            self.stdout.write(_report(path, result))


def _report(path: Path, result: ExtractionResult) -> str:
    """A human-readable summary and field table, rendered by rich into plain text."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=110, color_system=None)
    confidence = "n/a (text layer)" if result.ocr_confidence is None else f"{result.ocr_confidence:.2f}"
    console.print(f"[bold]{path.name}[/bold]: {result.document_type}")
    console.print(
        f"method {result.method} · {result.pages} page(s) · {result.seconds:.2f} s · OCR confidence {confidence}"
    )
    table = Table("field", "value", "confidence", "page", "needs review")
    for field in result.fields:
        table.add_row(
            field.name, field.value, f"{field.confidence:.2f}", str(field.page), "yes" if field.needs_review else ""
        )
    if not result.fields:
        table.add_row("(none found)", "", "", "", "")
    console.print(table)
    return buffer.getvalue()
