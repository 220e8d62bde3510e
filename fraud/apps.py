"""Fraud: scoring every claim with a model the insurer can retrain, compare and roll back.

Owns the feature function and its schema version, training (xgboost and scikit-learn baselines), the model
registry (artifacts, metrics, stages), scores with their explanations, and drift monitoring. Depends on claims.
"""

from django.apps import AppConfig
from django.db.models.signals import post_save

from insurance.core.roles import Role


class FraudConfig(AppConfig):
    name = "fraud"
    verbose_name = "Fraud"

    role_permissions = {
        # Underwriters see scores, models and monitoring; promoting a model is an admin's decision.
        Role.UNDERWRITER: {"fraudscore": ["view"], "modelversion": ["view"], "monitoringsnapshot": ["view"]},
        Role.ANALYTICS_READER: {"fraudscore": ["view"]},
    }

    def ready(self) -> None:
        from claims.models import Claim

        from . import health, signals  # noqa: F401  (health registers the "fraud" check of /health/)
        from .models import ModelVersion

        post_save.connect(signals.claim_saved, sender=Claim, dispatch_uid="fraud.score_saved_claim")
        post_save.connect(
            signals.model_version_saved, sender=ModelVersion, dispatch_uid="fraud.rescore_after_promotion"
        )
