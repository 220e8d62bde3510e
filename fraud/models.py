"""The model registry, fraud scores with their explanations, and monitoring snapshots."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from insurance.core.models import BaseModel

from .choices import Algorithm, ArtifactFormat, ModelStage, MonitoringStatus, RiskBand, ScoreMethod


class ModelVersion(BaseModel):
    """A trained fraud model: its artifact (verified by sha256 before loading), what it was trained on, how it
    scored, and its stage. Exactly one version is in production at a time (a partial unique constraint)."""

    version = models.PositiveIntegerField(unique=True)
    algorithm = models.CharField(max_length=12, choices=Algorithm.choices)
    stage = models.CharField(max_length=12, choices=ModelStage.choices, default=ModelStage.STAGING, db_index=True)
    artifact = models.BinaryField(help_text="The fitted model: XGBoost JSON, or a pickle for scikit-learn models.")
    artifact_format = models.CharField(max_length=15, choices=ArtifactFormat.choices)
    artifact_sha256 = models.CharField(max_length=64)
    preprocessing = models.JSONField(
        default=dict, help_text="The fitted encoder: feature order, categories, fill values (fit on training rows)."
    )
    feature_schema_version = models.CharField(max_length=10)
    training_fingerprint = models.CharField(max_length=64, help_text="sha256 of the training claims and labels.")
    training_rows = models.PositiveIntegerField(default=0)
    params = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True, help_text="Holdout and cross-validation metrics, fairness.")
    threshold = models.FloatField(help_text="Probability at or above which a claim is referred (the review budget).")
    review_budget = models.FloatField(help_text="Share of claims the fraud team can review, e.g. 0.10.")
    reference = models.JSONField(
        default=dict, blank=True, help_text="Training distributions of features and scores, for drift monitoring."
    )
    holdout = models.JSONField(default=dict, blank=True, help_text="The time-based holdout: cutoff and claim ids.")
    plot = models.BinaryField(null=True, blank=True, help_text="PNG: ROC, precision-recall and calibration.")
    trained_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    promoted_at = models.DateTimeField(null=True, blank=True)
    promoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    scope_owner_field = None  # staff only
    history_excluded_fields = ("artifact", "plot")

    class Meta:
        ordering = ["-version"]
        permissions = [("promote_modelversion", "Can promote or roll back fraud models")]
        constraints = [
            models.UniqueConstraint(
                fields=["stage"], condition=Q(stage=ModelStage.PRODUCTION), name="one_production_fraud_model"
            )
        ]

    def __str__(self) -> str:
        return f"fraud model v{self.version} ({self.algorithm}, {self.stage})"

    @property
    def score_key(self) -> str:
        """The `FraudScore.model_key` of this version's scores: "v7"."""
        return f"v{self.version}"


class FraudScore(BaseModel):
    """One score of one claim: the model (or the rules) that gave it, what it saw and why.

    `model_key` and `feature_fingerprint` make scoring idempotent: one score per claim version (the features it
    saw) and model version, whatever number of times the task is delivered.
    """

    claim = models.ForeignKey("claims.Claim", on_delete=models.CASCADE, related_name="fraud_scores")
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="scores"
    )
    model_key = models.CharField(max_length=20, help_text="'v7' for a model, 'rules-1' for the rule-based score.")
    method = models.CharField(max_length=6, choices=ScoreMethod.choices)
    feature_schema_version = models.CharField(max_length=10)
    feature_fingerprint = models.CharField(max_length=64)
    probability = models.FloatField()
    risk_band = models.CharField(max_length=6, choices=RiskBand.choices)
    features = models.JSONField(default=dict)
    contributions = models.JSONField(
        default=list, help_text="[{feature, value, contribution, direction, reason}], largest first."
    )

    scope_owner_field = None  # underwriters, admins and analytics readers only; never customers or agents

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["claim", "model_key", "feature_fingerprint"], name="one_score_per_claim_version_and_model"
            )
        ]
        indexes = [models.Index(fields=["claim", "-created_at"]), models.Index(fields=["model_key", "created_at"])]

    def __str__(self) -> str:
        return f"{self.claim} {self.probability:.2f} ({self.model_key})"


class MonitoringSnapshot(BaseModel):
    """Drift (population stability against training) and realised precision and recall for a window."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="snapshots")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    scored = models.PositiveIntegerField(default=0)
    feature_psi = models.JSONField(default=dict)
    score_psi = models.FloatField(null=True, blank=True)
    realised = models.JSONField(default=dict, help_text="Precision and recall on claims whose investigation ended.")
    status = models.CharField(max_length=6, choices=MonitoringStatus.choices, default=MonitoringStatus.OK)

    scope_owner_field = None

    class Meta:
        ordering = ["-window_end"]
        get_latest_by = "window_end"

    def __str__(self) -> str:
        return f"v{self.model_version.version} {self.window_end:%Y-%m-%d} {self.status}"
