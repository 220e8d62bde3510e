"""The base class of our management commands: writes are audited as `--actor` or the command system account."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from .audit import acting_as, system_account


class AuditedCommand(BaseCommand):
    """Subclasses implement `handle` and pass `self.actor` to the services they call."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.add_argument(
            "--actor",
            metavar="USERNAME",
            help="record this user as the actor of the changes (default: the system account for commands)",
        )
        return parser

    def execute(self, *args, **options):
        username = options.get("actor")
        if username:
            try:
                self.actor = get_user_model().objects.get(username=username)
            except get_user_model().DoesNotExist:
                raise CommandError(f"--actor: no user named {username!r}") from None
        else:
            self.actor = system_account("command")
        with acting_as(self.actor):
            return super().execute(*args, **options)
