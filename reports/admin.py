from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model

from insurance.core.admin import AuditedModelAdmin, ReadOnlyModelAdmin, service_action
from insurance.core.roles import Role

from . import services
from .models import AnalyticsToken, CustomerSegment, KpiRollup, KpiRollupAgentMonth, KpiRollupPart, SegmentationRun


class AnalyticsTokenIssueForm(forms.ModelForm):
    """Issuing goes through the service; the token is shown once, in the message after saving."""

    days = forms.IntegerField(
        min_value=1,
        max_value=settings.ANALYTICS_TOKEN_MAX_DAYS,
        initial=settings.ANALYTICS_TOKEN_DEFAULT_DAYS,
        help_text="Days until the token expires.",
    )

    class Meta:
        model = AnalyticsToken
        fields = ("user", "name")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = get_user_model().objects.filter(
            groups__name=Role.ANALYTICS_READER, is_active=True
        )


@admin.register(AnalyticsToken)
class AnalyticsTokenAdmin(AuditedModelAdmin):
    list_display = ("prefix", "user", "name", "expires_at", "revoked_at", "issued_by", "created_at")
    list_filter = ("expires_at", "revoked_at")
    search_fields = ("prefix", "name", "user__username")
    actions = [
        service_action(
            services.analytics_token_revoke,
            description="Revoke the selected tokens",
            permission="change",
            object_argument="token",
        )
    ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = AnalyticsTokenIssueForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ("created_at", "updated_at")
        return [field.name for field in AnalyticsToken._meta.fields if field.name != "key_hash"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("user", "name", "days")
        return self.get_readonly_fields(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: the history keeps who revoked it and why

    def save_model(self, request, obj, form, change) -> None:
        # The form offers only active analytics readers and the allowed days, so the service has nothing to refuse.
        issued = services.analytics_token_issue(
            actor=request.user, user=obj.user, days=form.cleaned_data["days"], name=obj.name
        )
        obj.pk = issued.token.pk
        obj.prefix = issued.token.prefix
        self.message_user(
            request,
            f"Token for {obj.user}: {issued.secret} (expires {issued.token.expires_at:%Y-%m-%d %H:%M} UTC). "
            "Copy it now: it is not shown again.",
            messages.WARNING,
        )


@admin.register(SegmentationRun)
class SegmentationRunAdmin(ReadOnlyModelAdmin):
    """Runs are made by `manage.py segment_customers`; here they are read, with their segments and metrics."""

    list_display = ("pk", "k", "k_requested", "seed", "customer_count", "silhouette", "run_by", "created_at")
    list_filter = ("created_at",)


@admin.register(CustomerSegment)
class CustomerSegmentAdmin(ReadOnlyModelAdmin):
    """Each customer's current segment; its history shows the segments of earlier runs."""

    list_display = ("customer", "name", "run", "tenure_years", "premium", "products_held", "claim_frequency")
    list_filter = ("name",)
    list_select_related = ("customer", "run")
    search_fields = ("customer__username", "name")


@admin.register(KpiRollup)
class KpiRollupAdmin(ReadOnlyModelAdmin):
    """Refreshes of the book-wide KPI rollup (`manage.py refresh_kpis`, hourly on Celery beat)."""

    list_display = ("pk", "first_month", "last_month", "finished_at", "seconds", "part_count", "refreshed_by")
    list_filter = ("finished_at",)


@admin.register(KpiRollupPart)
class KpiRollupPartAdmin(ReadOnlyModelAdmin):
    """The sums of one KPI family and month of a rollup, as the KPIs read them."""

    list_display = ("rollup", "family", "month")
    list_filter = ("family",)
    list_select_related = ("rollup",)


@admin.register(KpiRollupAgentMonth)
class KpiRollupAgentMonthAdmin(ReadOnlyModelAdmin):
    """One agent's sums for one month and product of a rollup, as agent performance reads them."""

    list_display = ("rollup", "month", "agent_id", "agency", "product_code", "currency", "policies_written", "claims")
    list_filter = ("month",)
    search_fields = ("agency",)
