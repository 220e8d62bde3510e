"""Create the demo products and a small book of policies (used by `make run`)."""

from insurance.core.commands import AuditedCommand
from policies.demo import create_demo_book, create_demo_products


class Command(AuditedCommand):
    help = "Create the demo products and, on an empty book, demo customers and their policies."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--customers", type=int, default=12, help="demo customers besides alice")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, **options) -> None:
        products = create_demo_products()
        self.stdout.write(f"Products: {', '.join(product.code for product in products)}")
        policies = create_demo_book(actor=self.actor, customers=options["customers"], seed=options["seed"])
        if policies:
            self.stdout.write(self.style.SUCCESS(f"Created {len(policies)} quotes and policies."))
        else:
            self.stdout.write("The book already has policies; nothing added.")
