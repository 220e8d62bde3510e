"""Every read of fraud, always given the user it is for. Scores and models are staff-only: a customer's or an
agent's queryset is empty (neither model has an owner; see `insurance.core.scoping`)."""

from django.db.models import QuerySet

from .models import FraudScore, ModelVersion

# The model's bytes and its plot: only loading the model and showing the plot read them.
ARTIFACT_FIELDS = ("artifact", "plot")
# Scoring also needs the training reference and holdout (drift, replay); no list or detail shows any of them.
SCORING_DEFERRED = (*ARTIFACT_FIELDS, "reference", "holdout")
# Bytes and bulky JSON that no list or detail shows.
MODEL_VERSION_DEFERRED = (*SCORING_DEFERRED, "preprocessing")
# The same, for a score or a snapshot read with `select_related("model_version")`: a join would fetch them per row.
RELATED_MODEL_VERSION_DEFERRED = tuple(f"model_version__{name}" for name in MODEL_VERSION_DEFERRED)


def score_list(*, user) -> QuerySet[FraudScore]:
    return (
        FraudScore.objects.restrict(user, "view")
        .select_related("claim", "model_version")
        .defer(*RELATED_MODEL_VERSION_DEFERRED)
    )


def model_version_list(*, user) -> QuerySet[ModelVersion]:
    return (
        ModelVersion.objects.restrict(user, "view")
        .select_related("trained_by", "promoted_by")
        .defer(*MODEL_VERSION_DEFERRED)
    )
