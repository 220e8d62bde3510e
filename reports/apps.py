from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports and analytics"

    # Analytics tokens are an admin's business (the Admin role holds every permission of the project apps); the
    # feeds read the other apps' models under those apps' permissions.
    role_permissions: dict = {}
