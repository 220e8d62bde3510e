"""Admin for adjusters (underwriters) and admins: the claim book, filters by status, priority and fraud risk,
inlines for documents, decisions, reserves, payments, notes and the timeline, and actions that call services."""

from django.contrib import admin

from accounts.access_log import AccessLoggedAdminMixin
from insurance.core.admin import ReadOnlyInline, ReadOnlyModelAdmin, service_action

from . import services
from .models import (
    Claim,
    ClaimDecision,
    ClaimDocument,
    ClaimEvent,
    ClaimNote,
    ExtractedField,
    IdempotencyRecord,
    Payment,
    ReserveChange,
)


class DocumentInline(ReadOnlyInline):
    model = ClaimDocument
    fields = ("original_name", "kind", "pages", "status", "document_type", "ocr_confidence", "failure_reason")
    show_change_link = True


class DecisionInline(ReadOnlyInline):
    model = ClaimDecision
    fields = ("created_at", "rule_version", "outcome", "priority", "payable_amount", "decided_by", "reasons")
    readonly_fields = ("created_at",)


class ReserveChangeInline(ReadOnlyInline):
    model = ReserveChange
    fields = ("created_at", "amount", "balance_after", "reason", "actor")
    readonly_fields = ("created_at",)


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ("created_at", "amount", "currency", "reference", "paid_by")
    readonly_fields = ("created_at",)


class NoteInline(ReadOnlyInline):
    model = ClaimNote
    fields = ("created_at", "author", "text")
    readonly_fields = ("created_at",)


class EventInline(ReadOnlyInline):
    model = ClaimEvent
    fields = ("created_at", "kind", "actor", "from_status", "to_status", "message")
    readonly_fields = ("created_at",)


@admin.register(Claim)
class ClaimAdmin(AccessLoggedAdminMixin, ReadOnlyModelAdmin):
    list_display = (
        "number",
        "policy",
        "loss_type",
        "amount_claimed",
        "status",
        "priority",
        "decision_outcome",
        "assigned_handler",
        "created_at",
    )
    list_filter = ("status", "priority", "fraud_risk", "loss_type", "decision_outcome", "investigation_outcome")
    search_fields = ("number", "policy__number", "claimant__username", "claimant__last_name")
    date_hierarchy = "created_at"
    list_select_related = ("policy", "assigned_handler")
    inlines = [DocumentInline, DecisionInline, ReserveChangeInline, PaymentInline, NoteInline, EventInline]
    actions = [
        service_action(services.claim_approve, description="Approve", permission="decide", object_argument="claim"),
        service_action(services.claim_deny, description="Deny", permission="decide", object_argument="claim"),
        service_action(
            services.claim_investigate,
            description="Send to investigation",
            permission="decide",
            object_argument="claim",
        ),
        service_action(services.claim_close, description="Close", permission="decide", object_argument="claim"),
    ]

    def has_decide_permission(self, request) -> bool:
        return request.user.has_perm("claims.decide_claim")


class ExtractedFieldInline(ReadOnlyInline):
    """Read-only: confirming a value goes through the verify service (API or portal), which re-runs the decision."""

    model = ExtractedField
    fields = ("name", "value", "confidence", "page", "needs_review", "verified_value", "verified_by")


@admin.register(ClaimDocument)
class ClaimDocumentAdmin(ReadOnlyModelAdmin):
    exclude = ("file",)  # stored outside the web root: open it through the API's permission-checked download

    list_display = ("claim", "original_name", "kind", "status", "document_type", "ocr_confidence")
    list_filter = ("status", "document_type", "kind")
    search_fields = ("claim__number", "sha256", "original_name")
    inlines = [ExtractedFieldInline]


@admin.register(ClaimDecision, ClaimEvent, ClaimNote, ExtractedField, Payment, ReserveChange, IdempotencyRecord)
class ClaimPartAdmin(ReadOnlyModelAdmin):
    """Parts of a claim, read-only here: they change only through the claim's services."""
