"""Write warehouse extracts: `manage.py export_extract --fact claims --format parquet --out DIR`."""

import argparse
from datetime import UTC, date, datetime, time
from pathlib import Path

from django.core.management.base import CommandError
from django.utils.dateparse import parse_date, parse_datetime

from etl import services
from etl.choices import ExtractFormat
from etl.extracts import FACTS
from insurance.core.commands import AuditedCommand
from insurance.core.exceptions import ServiceError

ALL = "all"
BOTH = "both"


def parse_since(value: str | datetime) -> datetime:
    """An ISO-8601 date-time (UTC when it names no zone) or a date (its midnight UTC); ValueError otherwise."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip()
    try:
        moment = parse_datetime(text)
        day = None if moment else parse_date(text)
    except ValueError:  # well formed but impossible, e.g. 2026-02-30
        moment = day = None
    if moment is not None:
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if isinstance(day, date):
        return datetime.combine(day, time.min, tzinfo=UTC)
    raise ValueError(f"{text!r} is not an ISO-8601 date or date-time, e.g. 2026-11-22T10:15:00Z")


def since_argument(text: str) -> datetime:
    """`--since` on the command line: refused by the parser, before anything touches the database."""
    try:
        return parse_since(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


class Command(AuditedCommand):
    help = (
        "Write the rows of the claims, policies or payments facts that changed since the last extract (by "
        "updated_at, re-reading EXTRACT_OVERLAP_SECONDS before it) to CSV or Parquet files named after the fact and "
        "the end of the window. The warehouse deduplicates on (id, updated_at). Rows are those --actor may see."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--fact", default=ALL, choices=[*FACTS, ALL], help="default: %(default)s")
        parser.add_argument(
            "--format", default=BOTH, choices=[*ExtractFormat.values, BOTH], help="default: %(default)s"
        )
        parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="directory the files go to")
        window = parser.add_mutually_exclusive_group()
        window.add_argument("--full", action="store_true", help="every row, whatever was extracted before")
        window.add_argument(
            "--since",
            type=since_argument,
            metavar="ISO-8601",
            help="rows changed after this instant instead of after the last extract",
        )

    def handle(self, *args, **options) -> None:
        # Options given to call_command as keywords skip argparse, so they are checked here too.
        fact, fmt = options["fact"], options["format"]
        if fact != ALL and fact not in FACTS:
            raise CommandError(f"--fact: unknown fact {fact!r}; one of {', '.join([*FACTS, ALL])}")
        if fmt != BOTH and fmt not in ExtractFormat.values:
            raise CommandError(f"--format: unknown format {fmt!r}; one of {', '.join([*ExtractFormat.values, BOTH])}")
        try:
            since = parse_since(options["since"]) if options["since"] else None
        except ValueError as error:
            raise CommandError(f"--since: {error}") from None
        if since is not None and options["full"]:
            raise CommandError("--full and --since exclude each other")

        for name in FACTS if fact == ALL else [fact]:
            for extension in ExtractFormat.values if fmt == BOTH else [fmt]:
                try:
                    run = services.extract_write(
                        actor=self.actor,
                        fact=name,
                        fmt=extension,
                        out_dir=Path(options["out"]),
                        since=since,
                        full=options["full"],
                    )
                except ServiceError as error:
                    raise CommandError(f"{name} {extension}: {error}") from error
                start = run.since.isoformat() if run.since else "the beginning"
                self.stdout.write(
                    f"{run.fact} {run.format}: {run.rows} rows -> {run.path} "
                    f"(updated after {start}, up to {run.until.isoformat()})"
                )
