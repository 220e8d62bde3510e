from pathlib import Path

from django.core.management.base import CommandError

from insurance.core.commands import AuditedCommand
from insurance.core.exceptions import ServiceError

from ...hyper import FACT_NAMES, export_hyper


class Command(AuditedCommand):
    help = (
        "Write a Tableau Hyper extract (.hyper) of the analytics feeds the actor may read: one table per fact, "
        "the feeds' columns, streamed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--out", required=True, type=Path, help="the .hyper file to write (replaced if present)")
        parser.add_argument(
            "--fact",
            action="append",
            choices=FACT_NAMES,
            help="a table to write (repeat for several; default: every feed the actor may read)",
        )

    def handle(self, *args, **options) -> None:
        try:
            export = export_hyper(actor=self.actor, path=options["out"], facts=options["fact"])
        except ServiceError as error:
            raise CommandError(error.message) from None
        except OSError as error:  # --out in a directory that cannot be made or written
            raise CommandError(f"Cannot write {options['out']}: {error.strerror or error}") from None
        for table, rows in export.rows.items():
            self.stdout.write(f"  {table:<14} {rows:>10,} rows")
        self.stdout.write(f"Wrote {export.path} in {export.seconds:.1f} s.")
