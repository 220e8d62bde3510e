"""Create one demo user per role and print their credentials (used by `make run`)."""

from accounts.demo import create_demo_users
from insurance.core.commands import AuditedCommand


class Command(AuditedCommand):
    help = "Create the demo users (one per role) if missing, and print their credentials."

    def handle(self, *args, **options) -> None:
        rows = create_demo_users(actor=self.actor)
        self.stdout.write("Demo users (log in at http://127.0.0.1:8000/login/ or /admin/):")
        for demo, created in rows:
            note = "created" if created else "already there"
            self.stdout.write(f"  {demo.role:<16} {demo.username:<8} password: {demo.password}   ({note})")
