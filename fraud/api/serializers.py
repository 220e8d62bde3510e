from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import FraudScore, ModelVersion


class ContributionSerializer(serializers.Serializer):
    """One feature's part in a score, largest first."""

    feature = serializers.CharField()
    value = serializers.JSONField(allow_null=True)
    contribution = serializers.FloatField()
    direction = serializers.CharField()
    reason = serializers.CharField()


class FraudScoreSerializer(serializers.ModelSerializer):
    """A score with the model (or the rules) that gave it, the features it saw and why."""

    claim = serializers.CharField(source="claim.number", read_only=True)
    model_version = serializers.IntegerField(
        source="model_version.version", default=None, allow_null=True, read_only=True
    )  # None for a rule-based score
    rule_based = serializers.SerializerMethodField()
    reasons = serializers.SerializerMethodField()
    contributions = ContributionSerializer(many=True, read_only=True)
    features = serializers.DictField(read_only=True)

    class Meta:
        model = FraudScore
        fields = [
            "id",
            "claim",
            "model_key",
            "model_version",
            "method",
            "rule_based",
            "probability",
            "risk_band",
            "reasons",
            "contributions",
            "features",
            "feature_schema_version",
            "feature_fingerprint",
            "created_at",
        ]
        read_only_fields = fields

    def get_rule_based(self, score: FraudScore) -> bool:
        return score.method == "rules"

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_reasons(self, score: FraudScore) -> list[str]:
        return [item["reason"] for item in score.contributions or [] if item.get("reason")]


class ModelVersionSerializer(serializers.ModelSerializer):
    """A registered model: what it was trained on, how it scored, its stage. Never the artifact itself."""

    trained_by = serializers.CharField(source="trained_by.username", read_only=True)
    promoted_by = serializers.CharField(source="promoted_by.username", default=None, allow_null=True, read_only=True)
    metrics = serializers.DictField(read_only=True)
    params = serializers.DictField(read_only=True)

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "version",
            "algorithm",
            "stage",
            "artifact_format",
            "artifact_sha256",
            "feature_schema_version",
            "training_fingerprint",
            "training_rows",
            "params",
            "metrics",
            "threshold",
            "review_budget",
            "trained_by",
            "promoted_at",
            "promoted_by",
            "created_at",
        ]
        read_only_fields = fields
