"""Every read of fraud, always given the user it is for. Scores and models are staff-only: a customer's or an
agent's queryset is empty (neither model has an owner; see `insurance.core.scoping`)."""

from django.db.models import QuerySet

from .models import FraudScore, ModelVersion

# Bytes and bulky JSON that no list or detail shows: the artifact and plot are served only where needed.
MODEL_VERSION_DEFERRED = ("artifact", "plot", "reference", "holdout", "preprocessing")


def score_list(*, user) -> QuerySet[FraudScore]:
    return FraudScore.objects.restrict(user, "view").select_related("claim", "model_version")


def scores_of_claim(*, user, claim) -> QuerySet[FraudScore]:
    """The claim's scores, newest first."""
    return score_list(user=user).filter(claim=claim).order_by("-created_at", "-pk")


def model_version_list(*, user) -> QuerySet[ModelVersion]:
    return (
        ModelVersion.objects.restrict(user, "view")
        .select_related("trained_by", "promoted_by")
        .defer(*MODEL_VERSION_DEFERRED)
    )
