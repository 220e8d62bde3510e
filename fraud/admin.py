"""Admin of fraud, read-only except for two decisions an admin takes with a reason: promoting a model and rolling
production back (both through `fraud.services.registry`). Artifact bytes are never shown; the evaluation plot is
served by a small permission-checked view."""

import json

from django.contrib import admin
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from insurance.core.admin import ReadOnlyModelAdmin, service_action
from insurance.core.exceptions import ConflictError

from .choices import ModelStage
from .models import FraudScore, ModelVersion, MonitoringSnapshot
from .selectors import RELATED_MODEL_VERSION_DEFERRED


def _pretty_json(value) -> str:
    if not value:
        return "-"
    return format_html(
        '<pre style="white-space: pre-wrap; margin: 0">{}</pre>', json.dumps(value, indent=2, sort_keys=True)
    )


# --- the registry's decisions, as admin services: (actor, version, reason) -----------------------------------------


def promote_version(*, actor, version: ModelVersion, reason: str) -> None:
    """Make a candidate the production model (the champion) if it scores at least as well as the current one on
    its holdout (`registry.promote` refuses a worse challenger, and the first model, which has nothing to beat)."""
    from .services import registry

    registry.promote(actor=actor, version=version, reason=reason)


def force_promote_version(*, actor, version: ModelVersion, reason: str) -> None:
    """Promote without the comparison: the first model, or an admin's explicit override (the reason says why)."""
    from .services import registry

    registry.promote(actor=actor, version=version, force=True, reason=reason)


def roll_back_version(*, actor, version: ModelVersion, reason: str) -> None:
    """Take the selected production model out and restore the one it replaced (`registry.rollback`)."""
    from .services import registry

    if version.stage != ModelStage.PRODUCTION:
        raise ConflictError(
            f"v{version.version} is {version.stage}, not in production: select the production model to roll it back.",
            code="not_production",
        )
    registry.rollback(actor=actor, reason=reason)


promote_version.__name__ = "promote"
force_promote_version.__name__ = "force_promote"
roll_back_version.__name__ = "rollback"


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyModelAdmin):
    exclude = ("artifact", "plot", "reference", "holdout", "preprocessing")
    list_display = (
        "version",
        "algorithm",
        "stage",
        "holdout_roc_auc",
        "holdout_average_precision",
        "threshold",
        "review_budget",
        "training_rows",
        "trained_by",
        "promoted_at",
        "created_at",
    )
    list_filter = ("stage", "algorithm", "feature_schema_version")
    search_fields = ("version", "artifact_sha256", "training_fingerprint")
    list_select_related = ("trained_by", "promoted_by")
    actions = [
        service_action(
            promote_version,
            description="Promote (champion/challenger)",
            permission="promote",
            object_argument="version",
        ),
        service_action(
            force_promote_version,
            description="Promote without comparison (first model, or override)",
            permission="promote",
            object_argument="version",
        ),
        service_action(
            roll_back_version, description="Roll back production", permission="promote", object_argument="version"
        ),
    ]
    computed_fields = ("plot_image", "metrics_display", "params_display", "encoding_display", "training_data")

    def has_promote_permission(self, request) -> bool:
        return request.user.has_perm("fraud.promote_modelversion")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("artifact")

    def get_readonly_fields(self, request, obj=None):
        hidden = {"metrics", "params"}
        return [name for name in super().get_readonly_fields(request, obj) if name not in hidden] + list(
            self.computed_fields
        )

    def get_urls(self):
        plot = path("<int:pk>/plot.png", self.admin_site.admin_view(self.plot_view), name="fraud_modelversion_plot")
        return [plot, *super().get_urls()]

    def plot_view(self, request, pk: int) -> HttpResponse:
        """The evaluation plot (ROC, precision-recall, calibration) as a PNG, for those who may see the model."""
        version = get_object_or_404(ModelVersion.objects.only("pk", "plot"), pk=pk)
        if not self.has_view_permission(request, version) or not version.plot:
            raise Http404
        response = HttpResponse(bytes(version.plot), content_type="image/png")
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, max-age=3600"
        return response

    def _holdout(self, obj: ModelVersion) -> dict:
        return (obj.metrics or {}).get("holdout") or {}

    @admin.display(description="Holdout ROC AUC")
    def holdout_roc_auc(self, obj: ModelVersion) -> str:
        value = self._holdout(obj).get("roc_auc")
        return "-" if value is None else f"{value:.3f}"

    @admin.display(description="Holdout average precision")
    def holdout_average_precision(self, obj: ModelVersion) -> str:
        value = self._holdout(obj).get("average_precision")
        return "-" if value is None else f"{value:.3f}"

    @admin.display(description="Evaluation plot")
    def plot_image(self, obj: ModelVersion) -> str:
        if obj.pk is None or not obj.plot:
            return "-"
        url = reverse("admin:fraud_modelversion_plot", args=[obj.pk])
        return format_html(
            '<a href="{}"><img src="{}" alt="ROC, precision-recall and calibration of v{}" style="max-width: 900px">'
            "</a>",
            url,
            url,
            obj.version,
        )

    @admin.display(description="Metrics")
    def metrics_display(self, obj: ModelVersion) -> str:
        return _pretty_json(obj.metrics)

    @admin.display(description="Parameters")
    def params_display(self, obj: ModelVersion) -> str:
        return _pretty_json(obj.params)

    @admin.display(description="Features used")
    def encoding_display(self, obj: ModelVersion) -> str:
        encoder = obj.preprocessing or {}
        names = [spec.get("name", "?") for spec in encoder.get("features") or [] if isinstance(spec, dict)]
        if not names:
            return "-"
        dropped = encoder.get("dropped") or []
        return f"{len(names)} features in {len(encoder.get('columns') or [])} columns: {', '.join(names)}" + (
            f"; dropped (never seen with a value): {', '.join(dropped)}" if dropped else ""
        )

    @admin.display(description="Training data")
    def training_data(self, obj: ModelVersion) -> str:
        holdout = obj.holdout or {}
        cutoff = holdout.get("cutoff", "-")
        held = len(holdout.get("claim_ids") or [])
        return f"{obj.training_rows} claims; time-based holdout from {cutoff} ({held} claims)"


@admin.register(FraudScore)
class FraudScoreAdmin(ReadOnlyModelAdmin):
    exclude = ("features", "contributions")
    list_display = ("claim", "model_key", "method", "probability_display", "risk_band", "created_at")
    list_filter = ("risk_band", "method", "model_key", "feature_schema_version")
    search_fields = ("claim__number", "model_key", "feature_fingerprint")
    list_select_related = ("claim", "model_version")
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("model_version").defer(*RELATED_MODEL_VERSION_DEFERRED)

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "reasons_display", "features_display"]

    @admin.display(description="Probability", ordering="probability")
    def probability_display(self, obj: FraudScore) -> str:
        return f"{obj.probability:.3f}"

    @admin.display(description="Why (largest contributions first)")
    def reasons_display(self, obj: FraudScore) -> str:
        items = obj.contributions or []
        if not items:
            return "-"
        rows = format_html_join(
            "",
            "<li>{} <small>({} = {}; {} {})</small></li>",
            (
                (
                    item.get("reason", ""),
                    item.get("feature", ""),
                    item.get("value", ""),
                    item.get("direction", ""),
                    f"{float(item.get('contribution') or 0):+.3f}",
                )
                for item in items
            ),
        )
        return format_html("<ol>{}</ol>", rows)

    @admin.display(description="Features the scorer saw")
    def features_display(self, obj: FraudScore) -> str:
        if not obj.features:
            return "-"
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td></tr>",
            ((name, "unknown" if value is None else value) for name, value in sorted(obj.features.items())),
        )
        return format_html("<table>{}</table>", rows)


@admin.register(MonitoringSnapshot)
class MonitoringSnapshotAdmin(ReadOnlyModelAdmin):
    list_display = ("model_version", "window_start", "window_end", "scored", "score_psi", "status")
    list_filter = ("status", "model_version")
    list_select_related = ("model_version",)
    date_hierarchy = "window_end"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("model_version").defer(*RELATED_MODEL_VERSION_DEFERRED)
