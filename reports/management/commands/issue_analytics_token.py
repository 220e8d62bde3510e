from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from insurance.core.commands import AuditedCommand
from insurance.core.exceptions import ServiceError

from ...services import analytics_token_issue


class Command(AuditedCommand):
    help = "Issue an expiring analytics token to an analytics reader and print it (it is not shown again)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--days", type=int, help="days until it expires (default ANALYTICS_TOKEN_DEFAULT_DAYS)")
        parser.add_argument("--name", default="", help="what the token is for, e.g. 'Power BI finance'")

    def handle(self, *args, **options) -> None:
        try:
            user = get_user_model().objects.get(username=options["username"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {options['username']!r}.") from None
        try:
            issued = analytics_token_issue(actor=self.actor, user=user, days=options["days"], name=options["name"])
        except ServiceError as error:
            raise CommandError(error.message) from None
        self.stdout.write(issued.secret)
        self.stderr.write(
            f"Token {issued.token.prefix}… for {user.username}, expires {issued.token.expires_at:%Y-%m-%d %H:%M} UTC. "
            "Send it as `Authorization: Token <token>` to /api/analytics/; it is not shown again."
        )
