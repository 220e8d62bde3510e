"""`manage.py rollback_fraud_model [--reason TEXT]`: put back the fraud model the current production model replaced
(`registry.rollback`); the current one is archived. Running it twice swaps the two back."""

from django.core.management.base import CommandError

from fraud.choices import ModelStage
from fraud.models import ModelVersion
from fraud.services import registry
from insurance.core.commands import AuditedCommand
from insurance.core.exceptions import ServiceError


class Command(AuditedCommand):
    help = "Roll the production fraud model back to the one it replaced (the current one is archived)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--reason", default="", help="why (kept on both versions' history)")

    def handle(self, *args, **options) -> None:
        current = ModelVersion.objects.filter(stage=ModelStage.PRODUCTION).values_list("version", flat=True).first()
        try:
            restored = registry.rollback(actor=self.actor, reason=options["reason"])
        except ServiceError as error:
            raise CommandError(error.message) from error
        was = f"; v{current} archived" if current is not None else ""
        self.stdout.write(self.style.SUCCESS(f"v{restored.version} ({restored.algorithm}) is back in production{was}."))
