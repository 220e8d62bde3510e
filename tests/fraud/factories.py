"""Fraud test objects that several test modules need."""

import hashlib

from fraud.choices import ModelStage
from fraud.models import ModelVersion


def model_version(*, actor, version: int = 1, stage: str = ModelStage.STAGING) -> ModelVersion:
    """A registered model version with a placeholder artifact: enough for the registry's API and pages, not to
    score with (tests that score train a real model or use the rules)."""
    artifact = b'{"learner": "not a real model"}'
    return ModelVersion.objects.create(
        version=version,
        algorithm="xgboost",
        stage=stage,
        artifact=artifact,
        artifact_format="xgboost-json",
        artifact_sha256=hashlib.sha256(artifact).hexdigest(),
        feature_schema_version="1",
        training_fingerprint="f" * 64,
        training_rows=1200,
        metrics={"holdout": {"roc_auc": 0.91, "average_precision": 0.62}},
        threshold=0.42,
        review_budget=0.1,
        plot=b"\x89PNG\r\n\x1a\n",
        trained_by=actor,
    )
