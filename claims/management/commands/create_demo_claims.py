"""Create demo claims with rendered documents on the demo book (used by `make run`)."""

from claims.demo import create_demo_claims
from insurance.core.commands import AuditedCommand


class Command(AuditedCommand):
    help = "Create demo claims (with invoice images, OCR and decisions) on in-force demo policies, once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--count", type=int, default=8)
        parser.add_argument("--seed", type=int, default=11)

    def handle(self, *args, **options) -> None:
        claims = create_demo_claims(actor=self.actor, count=options["count"], seed=options["seed"])
        if not claims:
            self.stdout.write("Claims exist already (or no in-force demo policies); nothing added.")
            return
        for claim in claims:
            claim.refresh_from_db()
            self.stdout.write(
                f"  {claim.number} {claim.amount_claimed:>9} {claim.status:<13} "
                f"{', '.join(reason['code'] for reason in claim.decision_reasons)}"
            )
        self.stdout.write(self.style.SUCCESS(f"Created {len(claims)} claims."))
