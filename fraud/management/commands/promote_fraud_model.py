"""`manage.py promote_fraud_model VERSION [--replay-days 30] [--force] [--reason TEXT]`: show what the version would
change on recent claims (`registry.replay`), then make it the production model if it scores at least as well as
the current one on its holdout (`registry.promote`)."""

from django.core.management.base import CommandError

from fraud.models import ModelVersion
from fraud.selectors import ARTIFACT_FIELDS
from fraud.services import registry
from insurance.core.commands import AuditedCommand
from insurance.core.exceptions import ServiceError

SHOWN = 20


class Command(AuditedCommand):
    help = (
        "Promote a trained fraud model to production. First replays the last --replay-days days of claims under "
        "production and under the candidate (referrals and the claims that flip), then compares both on the "
        "candidate's holdout and refuses a candidate with a lower PR-AUC. --force overrides the comparison (and is "
        "needed for the first model); give --reason with it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("version", type=int, help="the model version number (v<N>)")
        parser.add_argument("--replay-days", type=int, default=30, help="days of recent claims to replay (30)")
        parser.add_argument("--force", action="store_true", help="promote without the champion/challenger check")
        parser.add_argument("--reason", default="", help="why (kept on the version's history)")

    def handle(self, *args, **options) -> None:
        version = ModelVersion.objects.defer(*ARTIFACT_FIELDS).filter(version=options["version"]).first()
        if version is None:
            raise CommandError(f"No fraud model v{options['version']}.")
        try:
            self._print_replay(registry.replay(version=version, days=options["replay_days"]))
            promoted = registry.promote(
                actor=self.actor, version=version, force=options["force"], reason=options["reason"]
            )
        except ServiceError as error:
            raise CommandError(error.message) from error
        self.stdout.write(self.style.SUCCESS(f"v{promoted.version} ({promoted.algorithm}) is now in production."))

    def _print_replay(self, replay: dict) -> None:
        candidate, production = replay["candidate"], replay["production"]
        self.stdout.write(f"Replay of {replay['claims']:,} claim(s) reported in the last {replay['days']} days:")
        if production is None:
            self.stdout.write("  production: no model (claims are scored by the rules)")
        else:
            self.stdout.write(
                f"  production v{production['version']}: {production['referred']:,} referred "
                f"(threshold {production['threshold']:.4f})"
            )
        self.stdout.write(
            f"  candidate  v{candidate['version']}: {candidate['referred']:,} referred "
            f"(threshold {candidate['threshold']:.4f}): {replay['more']:,} more, {replay['fewer']:,} fewer"
        )
        for title, rows in (
            ("newly referred", replay["newly_referred"]),
            ("no longer referred", replay["no_longer_referred"]),
        ):
            if not rows:
                continue
            self.stdout.write(f"  {title}: {len(rows):,}")
            for row in rows[:SHOWN]:
                before = "-" if row["production"] is None else f"{row['production']:.3f}"
                self.stdout.write(f"    {row['number'] or row['claim_id']}: {before} -> {row['candidate']:.3f}")
            if len(rows) > SHOWN:
                self.stdout.write(f"    ... and {len(rows) - SHOWN:,} more")
