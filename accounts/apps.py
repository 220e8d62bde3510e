from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save

from insurance.core.roles import Role


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and roles"

    # What each role may do with this app's models; every app declares its own (see accounts.roles).
    role_permissions = {
        Role.CUSTOMER: {"user": ["view"], "customerprofile": ["view", "change"]},
        Role.AGENT: {"user": ["view"], "customerprofile": ["view", "add", "change"], "agentprofile": ["view"]},
        Role.UNDERWRITER: {
            "user": ["view"],
            "customerprofile": ["view", "change"],
            "agentprofile": ["view"],
            "objectaccessgrant": ["view", "add", "delete"],
        },
    }

    def ready(self) -> None:
        from . import signals
        from .roles import sync_role_groups_after_migrate

        post_save.connect(signals.user_saved, sender=self.get_model("User"), dispatch_uid="accounts.user_saved")

        # Runs once per migrate; it creates any missing permissions of every app itself, so app order is irrelevant.
        post_migrate.connect(sync_role_groups_after_migrate, sender=self, dispatch_uid="accounts.sync_role_groups")
