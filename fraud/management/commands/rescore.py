"""`manage.py rescore [--all|--open] [--since DATE] [--batch-size N]`: score claims in batches under the current
model (the backfill after a promotion or an import). Claims already scored on their current features by that model
are skipped, so running it again does nothing new."""

from datetime import date

from django.core.management.base import CommandError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from claims import lifecycle
from claims.models import Claim
from fraud.services import scoring
from insurance.core.commands import AuditedCommand
from insurance.core.exceptions import ServiceError


class Command(AuditedCommand):
    help = (
        "Score claims with the production fraud model (the rules when none is in production), in batches. "
        "Open claims by default; --all includes decided and closed ones (which are scored, never re-decided)."
    )

    def add_arguments(self, parser) -> None:
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--all", action="store_true", help="every claim, closed ones included")
        scope.add_argument("--open", action="store_true", help="only open claims (the default)")
        parser.add_argument(
            "--since", type=date.fromisoformat, metavar="YYYY-MM-DD", help="only claims reported on or after DATE"
        )
        parser.add_argument("--batch-size", type=int, default=1000, help="claims per batch (default %(default)s)")

    def handle(self, *args, **options) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        claims = Claim.objects.all()
        if not options["all"]:
            claims = claims.filter(status__in=sorted(lifecycle.OPEN))
        if options["since"]:
            claims = claims.filter(reported_at__date__gte=options["since"])
        total = claims.count()
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        with Progress(*columns, disable=not self.stdout.isatty(), transient=True) as progress:
            task = progress.add_task("Scoring claims", total=total)
            try:
                summary = scoring.rescore(
                    actor=self.actor,
                    claims=claims,
                    batch_size=options["batch_size"],
                    progress=lambda n: progress.advance(task, n),
                )
            except ServiceError as error:
                raise CommandError(error.message) from error
        method = "rule-based scores (no production model)" if summary["method"] == "rules" else "model scores"
        self.stdout.write(
            self.style.SUCCESS(
                f"{summary['claims']} claim(s) under {summary['model_key']} ({method}): {summary['scored']} scored, "
                f"{summary['skipped']} already scored, {summary['reevaluated']} open claim(s) re-decided."
            )
        )
