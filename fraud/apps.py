from django.apps import AppConfig

from insurance.core.roles import Role


class FraudConfig(AppConfig):
    name = "fraud"
    verbose_name = "Fraud"

    role_permissions = {
        # Underwriters see scores, models and monitoring; promoting a model is an admin's decision.
        Role.UNDERWRITER: {"fraudscore": ["view"], "modelversion": ["view"], "monitoringsnapshot": ["view"]},
        Role.ANALYTICS_READER: {"fraudscore": ["view"]},
    }
