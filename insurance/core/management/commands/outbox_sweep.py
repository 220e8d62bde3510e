"""`manage.py outbox_sweep`: send the task outbox's unsent rows now (what the `core-outbox-sweep` beat entry does),
for when beat is not running or after a broker outage; without a broker the tasks run here."""

from insurance.core import outbox
from insurance.core.commands import AuditedCommand


class Command(AuditedCommand):
    help = "Send the outbox rows not sent yet (oldest first), and say how many still wait."

    def handle(self, *args, **options) -> None:
        sent = outbox.sweep()
        left = outbox.waiting()
        oldest = left.order_by("created_at").values_list("created_at", flat=True).first()
        self.stdout.write(
            f"sent {sent}; {left.count()} waiting" + (f" (oldest from {oldest:%Y-%m-%d %H:%M:%S})" if oldest else "")
        )
