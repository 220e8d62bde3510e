from django.apps import AppConfig

from insurance.core.roles import Role


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports and analytics"

    # Analytics tokens are an admin's business (the Admin role holds every permission of the project apps); the
    # feeds read the other apps' models under those apps' permissions. Customer segments are read by agents (their
    # customers), underwriters and analytics readers (the customers feed needs `view_customersegment`, not the
    # personal data behind `view_customerprofile`); underwriters may also run a segmentation.
    role_permissions = {
        Role.AGENT: {"customersegment": ["view"]},
        Role.UNDERWRITER: {"customersegment": ["view"], "segmentationrun": ["view", "add"]},
        Role.ANALYTICS_READER: {"customersegment": ["view"], "segmentationrun": ["view"]},
    }
