"""Create a user in one role: `manage.py create_user alice --role Customer --password ...`."""

from django.core.management.base import CommandError
from rest_framework.authtoken.models import Token

from accounts import services
from accounts.models import AgentProfile
from insurance.core.commands import AuditedCommand
from insurance.core.exceptions import ServiceError
from insurance.core.roles import Role


class Command(AuditedCommand):
    help = "Create a user with a role (and the customer or agent profile it needs)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", help="omit for an account that logs in with an API token only")
        parser.add_argument("--email", default="")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--agent", metavar="USERNAME", help="customers: the agent who serves them")
        parser.add_argument("--agency", default="", help="agents: their agency")
        parser.add_argument("--licence-number", default="", help="agents: their licence number")
        parser.add_argument("--token", action="store_true", help="also create an API token and print it")

    def handle(self, *args, **options) -> None:
        agent = None
        if options["agent"]:
            agent = AgentProfile.objects.filter(user__username=options["agent"]).first()
            if agent is None:
                raise CommandError(f"--agent: no agent named {options['agent']!r}")
        try:
            user = services.user_create(
                actor=self.actor,
                username=options["username"],
                role=options["role"],
                password=options["password"],
                email=options["email"],
                first_name=options["first_name"],
                last_name=options["last_name"],
                agent=agent,
                agency=options["agency"],
                licence_number=options["licence_number"],
            )
        except ServiceError as error:
            raise CommandError(error.message) from None
        self.stdout.write(self.style.SUCCESS(f"Created {options['role']} {user.username} (id {user.pk})."))
        if options["token"]:
            token, _ = Token.objects.get_or_create(user=user)
            self.stdout.write(f"API token: {token.key}")
