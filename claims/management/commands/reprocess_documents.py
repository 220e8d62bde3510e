"""Read failed claim documents again, e.g. after installing tesseract: `manage.py reprocess_documents`."""

from claims import services
from claims.choices import DocumentStatus
from claims.models import ClaimDocument
from insurance.core.commands import AuditedCommand


class Command(AuditedCommand):
    help = "Queue every failed document (or those of one claim) to be read again."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--claim", metavar="NUMBER", help="only this claim's documents (e.g. CLM-2026-000042)")

    def handle(self, *args, **options) -> None:
        documents = ClaimDocument.objects.filter(status=DocumentStatus.FAILED).order_by("pk")
        if options["claim"]:
            documents = documents.filter(claim__number=options["claim"])
        count = 0
        for document in documents.iterator():
            services.document_retry(actor=self.actor, document=document)
            count += 1
        self.stdout.write(self.style.SUCCESS(f"Queued {count} failed document(s) to be read again."))
