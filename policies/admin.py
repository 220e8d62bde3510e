"""Admin for underwriters and admins: products as data, the policy book, the referral queue."""

from django.contrib import admin

from insurance.core.admin import AuditedModelAdmin, ReadOnlyInline, ReadOnlyModelAdmin, service_action

from . import services
from .models import (
    Coverage,
    CoverageLine,
    Endorsement,
    Instalment,
    InsuredPerson,
    InsuredProperty,
    InsuredVehicle,
    NumberSequence,
    Policy,
    PolicyEvent,
    Product,
    RatingBand,
    RatingFactor,
    Referral,
    UnderwritingRule,
)


class CoverageInline(admin.TabularInline):
    model = Coverage
    extra = 0


class RatingFactorInline(admin.TabularInline):
    model = RatingFactor
    extra = 0
    show_change_link = True
    fields = ("position", "code", "name", "input", "kind", "coverage", "default_multiplier")


class UnderwritingRuleInline(admin.TabularInline):
    model = UnderwritingRule
    extra = 0


@admin.register(Product)
class ProductAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "line_of_business", "currency", "term_months", "is_active")
    list_filter = ("line_of_business", "is_active")
    search_fields = ("code", "name")
    inlines = [CoverageInline, RatingFactorInline, UnderwritingRuleInline]
    fieldsets = (
        (None, {"fields": ("code", "name", "line_of_business", "description", "currency", "is_active")}),
        (
            "Terms",
            {
                "fields": (
                    "term_months",
                    "min_premium",
                    "quote_validity_days",
                    "grace_period_days",
                    "reinstatement_window_days",
                    "renewal_offer_days",
                )
            },
        ),
        (
            "Claim thresholds",
            {
                "fields": (
                    "claim_auto_approve_limit",
                    "claim_fraud_referral_score",
                    "claim_cost_tolerance_pct",
                    "claim_required_documents",
                )
            },
        ),
        ("Audit", {"fields": ("created_at", "updated_at")}),
    )


class RatingBandInline(admin.TabularInline):
    model = RatingBand
    extra = 1


@admin.register(RatingFactor)
class RatingFactorAdmin(AuditedModelAdmin):
    list_display = ("product", "position", "code", "input", "kind", "coverage")
    list_filter = ("product", "input")
    inlines = [RatingBandInline]


@admin.register(Coverage)
class CoverageAdmin(AuditedModelAdmin):
    list_display = ("product", "code", "name", "base_rate", "default_limit", "default_deductible", "is_mandatory")
    list_filter = ("product",)


@admin.register(RatingBand)
class RatingBandAdmin(AuditedModelAdmin):
    list_display = ("factor", "label", "lower", "upper", "value", "multiplier")
    list_filter = ("factor__product",)


@admin.register(UnderwritingRule)
class UnderwritingRuleAdmin(AuditedModelAdmin):
    list_display = ("product", "code", "description", "input", "operator", "value", "outcome", "is_active")
    list_filter = ("product", "outcome", "is_active")


class CoverageLineInline(ReadOnlyInline):
    model = CoverageLine
    fields = ("coverage", "limit", "deductible", "premium")


class InsuredVehicleInline(ReadOnlyInline):
    model = InsuredVehicle


class InsuredPropertyInline(ReadOnlyInline):
    model = InsuredProperty


class InsuredPersonInline(ReadOnlyInline):
    model = InsuredPerson


class InstalmentInline(ReadOnlyInline):
    model = Instalment
    fields = ("sequence", "due_date", "amount", "status", "paid_at", "note")


class EndorsementInline(ReadOnlyInline):
    model = Endorsement
    fields = (
        "version",
        "kind",
        "effective_date",
        "changes",
        "premium_before",
        "premium_after",
        "premium_difference",
        "reason",
    )


class ReferralInline(ReadOnlyInline):
    model = Referral
    fields = ("status", "reasons", "decided_by", "decided_at", "decision_reason", "is_override")


class PolicyEventInline(ReadOnlyInline):
    model = PolicyEvent
    fields = ("created_at", "kind", "actor", "message")
    readonly_fields = ("created_at",)


@admin.register(Policy)
class PolicyAdmin(ReadOnlyModelAdmin):
    """The book. Every change goes through a service: edit nothing here by hand, use the actions."""

    list_display = ("number", "holder", "product", "status", "effective_date", "expiry_date", "premium", "agent")
    list_filter = ("status", "product__line_of_business", "product", "underwriting_outcome", "instalment_count")
    search_fields = ("number", "holder__username", "holder__last_name", "holder__email", "vehicle__vin")
    date_hierarchy = "effective_date"
    list_select_related = ("holder", "product", "agent__user")
    inlines = [
        CoverageLineInline,
        InsuredVehicleInline,
        InsuredPropertyInline,
        InsuredPersonInline,
        InstalmentInline,
        EndorsementInline,
        ReferralInline,
        PolicyEventInline,
    ]
    actions = [
        service_action(services.referral_approve, description="Approve referral", permission="underwrite"),
        service_action(services.referral_decline, description="Decline referral", permission="underwrite"),
        service_action(
            services.policy_bind, description="Issue (bind) the quote", permission="bind", needs_reason=False
        ),
        service_action(services.policy_cancel, description="Cancel", permission="cancel"),
        service_action(services.policy_reinstate, description="Reinstate", permission="reinstate"),
    ]

    def _has_policy_perm(self, request, verb: str) -> bool:
        return request.user.has_perm(f"policies.{verb}_policy")

    def has_underwrite_permission(self, request) -> bool:
        return self._has_policy_perm(request, "underwrite")

    def has_bind_permission(self, request) -> bool:
        return self._has_policy_perm(request, "bind")

    def has_cancel_permission(self, request) -> bool:
        return self._has_policy_perm(request, "cancel")

    def has_reinstate_permission(self, request) -> bool:
        return self._has_policy_perm(request, "reinstate")


@admin.register(Referral)
class ReferralAdmin(AuditedModelAdmin):
    """The referral queue, oldest first."""

    list_display = ("policy", "status", "created_at", "decided_by", "decided_at", "is_override")
    list_filter = ("status", "is_override")
    search_fields = ("policy__number",)
    ordering = ("status", "created_at")
    readonly_fields = (
        "policy",
        "status",
        "reasons",
        "decided_by",
        "decided_at",
        "decision_reason",
        "is_override",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(
    CoverageLine, InsuredVehicle, InsuredProperty, InsuredPerson, Instalment, Endorsement, PolicyEvent, NumberSequence
)
class PolicyPartAdmin(ReadOnlyModelAdmin):
    """Parts of a policy, read-only here: they change only through the policy's services."""
