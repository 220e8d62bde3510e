from insurance.core.commands import AuditedCommand

from ...services import kpi_rollup_refresh


class Command(AuditedCommand):
    help = (
        "Recompute the book-wide KPI rollup that answers underwriters, admins and analytics readers (Celery beat "
        "does it every hour); agents' KPIs are always computed live."
    )

    def handle(self, *args, **options) -> None:
        rollup = kpi_rollup_refresh(actor=self.actor)
        self.stdout.write(
            f"KPI rollup #{rollup.pk}: {rollup.first_month:%Y-%m} to {rollup.last_month:%Y-%m}, "
            f"{rollup.part_count} parts in {rollup.seconds:.1f} s"
        )
