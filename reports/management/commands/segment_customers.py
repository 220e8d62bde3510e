from django.core.management.base import CommandError

from insurance.core.commands import AuditedCommand
from insurance.core.exceptions import ServiceError

from ...segmentation import K_RANGE, segmentation_run


class Command(AuditedCommand):
    help = (
        "Cluster customers on tenure, premium, products held, claim frequency and claim value into named segments, "
        "store the run and replace each customer's segment."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--k",
            type=int,
            help=f"number of segments (default: the best silhouette from {K_RANGE.start} to {K_RANGE.stop - 1})",
        )
        parser.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")

    def handle(self, *args, **options) -> None:
        try:
            run = segmentation_run(actor=self.actor, k=options["k"], seed=options["seed"])
        except ServiceError as error:
            raise CommandError(error.message) from None
        silhouette = "n/a" if run.silhouette is None else f"{run.silhouette:.3f}"
        chosen = "given" if run.k_requested else "chosen by silhouette"
        self.stdout.write(
            f"Segmentation #{run.pk}: {run.customer_count} customers in {run.k} segments (k {chosen}, "
            f"silhouette {silhouette}, seed {run.seed})"
        )
        for segment in run.segments:
            name, size, share = segment["name"], segment["size"], segment["share"]
            self.stdout.write(f"  {segment['label']}  {name:<45} {size:>9,}  {share:.1%}")
