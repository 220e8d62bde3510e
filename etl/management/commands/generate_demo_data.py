"""Generate a reproducible synthetic book: `manage.py generate_demo_data --size small|medium|large|huge`."""

from datetime import date

from django.core.management.base import CommandError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from etl.generator import BATCH_SIZE, DEFAULT_DOCUMENTS, DEFAULT_SEED, SIZES, Summary, generate_book
from insurance.core.commands import AuditedCommand
from insurance.core.exceptions import ServiceError


class Command(AuditedCommand):
    help = (
        "Generate a synthetic insurance book (agents, customers, policies, claims with reserves, payments, timelines, "
        "investigation outcomes and rendered invoices) with learnable, noisy fraud patterns; see etl/generator for "
        "the patterns. The same arguments give the same book: records are upserted by natural key (GP-, GC-, GEN-C "
        "numbers), so a second run changes nothing. Document fields are written from the values that were rendered "
        "(ClaimDocument.method 'generated'), not read by OCR, unless --ocr is given."
    )

    def add_arguments(self, parser) -> None:
        size = parser.add_mutually_exclusive_group()
        size.add_argument(
            "--size",
            choices=list(SIZES),
            help=", ".join(f"{name} {claims:,} claims" for name, claims in SIZES.items()) + " (default small)",
        )
        size.add_argument("--claims", type=int, help="number of claims; customers, policies and agents scale with it")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="default %(default)s")
        parser.add_argument(
            "--documents",
            type=int,
            metavar="N",
            help=f"claims that get a rendered invoice image (about 0.15 s each; default {DEFAULT_DOCUMENTS})",
        )
        parser.add_argument(
            "--ocr",
            action="store_true",
            help="read the rendered documents with the real OCR pipeline instead of writing their fields as generated",
        )
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            metavar="YYYY-MM-DD",
            help="the day the book ends (default: the day the existing generated book was made, or today)",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help="records per batch, one transaction each (default %(default)s)",
        )

    def handle(self, *args, **options) -> None:
        claims = options["claims"] if options["claims"] is not None else SIZES[options["size"] or "small"]
        columns = [TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        quiet = options["verbosity"] == 0 or not self.stdout.isatty()
        with Progress(*columns, disable=quiet) as progress:
            try:
                summary = generate_book(
                    actor=self.actor,
                    seed=options["seed"],
                    claims=claims,
                    documents=options["documents"],
                    ocr=options["ocr"],
                    as_of=options["as_of"],
                    batch_size=options["batch_size"],
                    progress=progress,
                )
            except ServiceError as error:
                raise CommandError(error.message) from error
        self._summary(summary)

    def _summary(self, summary: Summary) -> None:
        self.stdout.write(
            f"Seed {summary.seed}, as of {summary.as_of}: {summary.claims:,} claims, {summary.documents:,} documents, "
            f"in {sum(summary.seconds.values()):.1f} s."
        )
        width = max(len(label) for label in summary.counts)
        self.stdout.write(f"  {'records':<{width}}  {'created':>10} {'updated':>10} {'unchanged':>10}")
        for label, counts in summary.counts.items():
            self.stdout.write(
                f"  {label:<{width}}  {counts['created']:>10,} {counts['updated']:>10,} {counts['unchanged']:>10,}"
            )
        self.stdout.write(
            f"Fraud: {summary.confirmed_fraud:,} confirmed of {summary.labelled:,} claims with a concluded "
            f"investigation ({summary.fraud_rate:.1%}); {summary.fraud:,} of all {summary.claims:,} claims are fraud "
            f"({summary.fraud / summary.claims:.1%}), found out or not."
        )
        self.stdout.write(
            "Time: " + ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in summary.seconds.items())
        )
        style = self.style.SUCCESS if summary.changed else self.style.NOTICE
        self.stdout.write(style("Done." if summary.changed else "Nothing changed: the book was already there."))
