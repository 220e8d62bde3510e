"""Role groups and their model permissions.

Each app declares `role_permissions` on its AppConfig: `{role: {model_name: [actions]}}`. The Admin role holds every
permission of the project apps and of user, group and token administration. `sync_role_groups` creates the groups
and adds what is missing; it never removes a permission, so running it again (every `migrate`) changes nothing, and
permissions an administrator added by hand survive.
"""

from django.apps import apps as global_apps
from django.conf import settings
from django.contrib.auth.management import create_permissions

from insurance.core.roles import Role

ADMIN_EXTRA_APPS = ("auth", "authtoken", "django_celery_beat")


def declared_permissions() -> dict[str, set[tuple[str, str]]]:
    """{role: {(app_label, codename)}} as declared by the installed apps."""
    declared: dict[str, set[tuple[str, str]]] = {role.value: set() for role in Role}
    for app_config in global_apps.get_app_configs():
        for role, models in getattr(app_config, "role_permissions", {}).items():
            for model_name, actions in models.items():
                declared[str(role)].update((app_config.label, f"{action}_{model_name}") for action in actions)
    return declared


def sync_role_groups(apps=global_apps) -> None:
    """Create the role groups and give each its declared permissions (idempotent, add-only)."""
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for app_config in apps.get_app_configs():  # permissions of models created in this same migrate run
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)

    for role, wanted in declared_permissions().items():
        group, _ = group_model.objects.get_or_create(name=role)
        if role == Role.ADMIN:
            permissions = permission_model.objects.filter(
                content_type__app_label__in=[*settings.PROJECT_APPS, *ADMIN_EXTRA_APPS]
            )
        else:
            labels = {app_label for app_label, _ in wanted}
            permissions = [
                permission
                for permission in permission_model.objects.filter(content_type__app_label__in=labels).select_related(
                    "content_type"
                )
                if (permission.content_type.app_label, permission.codename) in wanted
            ]
        existing = set(group.permissions.values_list("pk", flat=True))
        missing = [permission for permission in permissions if permission.pk not in existing]
        if missing:
            group.permissions.add(*missing)


def sync_role_groups_after_migrate(sender, apps=global_apps, **kwargs) -> None:
    """post_migrate: models added by later apps' migrations get their role permissions too."""
    sync_role_groups(apps)
