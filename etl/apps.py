from django.apps import AppConfig

from insurance.core.roles import Role


class EtlConfig(AppConfig):
    name = "etl"
    verbose_name = "Imports and extracts"

    role_permissions = {
        # Underwriters see what was imported and by whom; running imports is an admin's job (admin site, commands).
        Role.UNDERWRITER: {"importbatch": ["view"], "extractrun": ["view"]},
    }
