"""Import customers, policies or claims from a CSV or Excel export: `manage.py import_data FILE --mapping NAME`."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from etl import services
from etl.choices import BatchStatus
from insurance.core.commands import AuditedCommand
from insurance.core.exceptions import ServiceError


class Command(AuditedCommand):
    help = (
        "Load a CSV or Excel file through a mapping (fixtures/mappings/NAME.yaml or a path). Rows are upserted by "
        "natural key, so running a file twice changes nothing; rejected rows go to a reject file with their row, "
        "column and reason. Exits 1 when more rows were rejected than the threshold allows."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--mapping", required=True, help=f"a mapping file or name ({', '.join(services.available_mappings())})"
        )
        parser.add_argument("--dry-run", action="store_true", help="check and count everything, write nothing")
        parser.add_argument(
            "--max-rejects",
            type=float,
            default=settings.IMPORT_REJECT_THRESHOLD,
            metavar="SHARE",
            help="share of rows (0 to 1) that may be rejected before the run fails (default %(default)s)",
        )
        parser.add_argument("--batch-size", type=int, default=settings.IMPORT_BATCH_SIZE)
        parser.add_argument("--rejects", type=Path, help="also copy the reject file here")

    def handle(self, *args, **options) -> None:
        path: Path = options["file"]
        target: Path | None = options.get("rejects")
        if target is not None and (target.is_dir() or not target.parent.is_dir()):
            # checked before the run: a long import should not end in a traceback over where to copy its rejects
            raise CommandError(f"--rejects {target}: give a file in an existing folder")
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        with Progress(*columns, console=None, disable=not self.stdout.isatty(), transient=True) as progress:
            task = progress.add_task(f"Importing {path.name}", total=None)
            try:
                batch = services.import_run(
                    actor=self.actor,
                    path=path,
                    mapping_name=options["mapping"],
                    dry_run=options["dry_run"],
                    reject_threshold=options["max_rejects"],
                    batch_size=options["batch_size"],
                    progress=lambda n: progress.advance(task, n),
                )
            except ServiceError as error:
                raise CommandError(str(error)) from error
        self._summary(batch, options)
        if batch.status == BatchStatus.REJECTED:
            raise CommandError(
                f"{batch.rows_rejected} of {batch.rows_read} rows rejected, over the threshold of "
                f"{batch.reject_threshold:.0%}; the reject file lists them."
            )

    def _summary(self, batch, options) -> None:
        mode = " (dry run: nothing was written)" if batch.dry_run else ""
        self.stdout.write(
            f"Import #{batch.pk}{mode}: {batch.rows_read} rows read, {batch.rows_loaded} loaded, "
            f"{batch.rows_rejected} rejected. File sha256 {batch.sha256}."
        )
        for name, count in batch.counts.items():
            self.stdout.write(f"  {name.replace('_', ' ')}: {count}")
        for reject in batch.reject_sample[:10]:
            self.stdout.write(f"  row {reject['row']}, {reject['column']}: {reject['reason']}")
        if batch.rejects:
            target = options.get("rejects")
            if target:
                with batch.rejects.open("rb") as source:
                    target.write_bytes(source.read())
            self.stdout.write(f"Rejects: {target or batch.rejects.path}")
