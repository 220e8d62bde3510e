from django.db import models


class ModelStage(models.TextChoices):
    STAGING = "staging", "Staging (candidate)"
    PRODUCTION = "production", "Production"
    ARCHIVED = "archived", "Archived"


class Algorithm(models.TextChoices):
    XGBOOST = "xgboost", "XGBoost (gradient-boosted trees)"
    LOGISTIC = "logistic", "Logistic regression (scikit-learn)"
    FOREST = "forest", "Random forest (scikit-learn)"


class ArtifactFormat(models.TextChoices):
    XGBOOST_JSON = "xgboost-json", "XGBoost's own JSON model format"
    PICKLE = "pickle", "Pickle (sha256 verified before loading)"


class ScoreMethod(models.TextChoices):
    MODEL = "model", "Model"
    RULES = "rules", "Rule-based (no production model)"


class RiskBand(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class MonitoringStatus(models.TextChoices):
    OK = "ok", "OK"
    WARN = "warn", "Drifting"
    ALERT = "alert", "Drifted"
