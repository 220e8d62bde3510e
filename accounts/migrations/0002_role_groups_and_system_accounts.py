"""Create the role groups with their permissions, and the system accounts Celery and commands act as.

Idempotent: running it again changes nothing (tests/accounts/test_roles.py holds this).
"""

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import migrations


def create_roles_and_system_accounts(apps, schema_editor):
    from accounts.roles import sync_role_groups

    sync_role_groups(apps)
    user_model = apps.get_model("accounts", "User")
    for username in settings.SYSTEM_ACCOUNTS.values():
        user_model.objects.get_or_create(
            username=username,
            defaults={"is_system": True, "is_active": False, "password": make_password(None)},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles_and_system_accounts, migrations.RunPython.noop)]
