"""The shared core as an installed app: it owns infrastructure models (the task outbox) and registers lookups."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "insurance.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # `__any_of` is registered by importing the module; importing it here makes it available everywhere, not
        # only after some module that happens to import it has been loaded.
        from . import lookups  # noqa: F401
