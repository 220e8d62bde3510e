from decimal import Decimal

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from policies.models import Policy

from .. import lifecycle, selectors
from ..choices import DecisionOutcome, InvestigationOutcome, LossType
from ..lifecycle import public_status
from ..models import Claim, ClaimDecision, ClaimDocument, ClaimEvent, ClaimNote, ExtractedField, Payment

MONEY = {"max_digits": 14, "decimal_places": 2}
MAX_AMOUNT = Decimal("1000000000")


def _for_handler(context) -> bool:
    request = context.get("request")
    return bool(request and selectors.can_handle(request.user))


class ExtractedFieldSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExtractedField
        fields = ["id", "name", "value", "verified_value", "confidence", "page", "box", "needs_review"]
        read_only_fields = fields


class ClaimDocumentSerializer(serializers.ModelSerializer):
    fields = ExtractedFieldSerializer(many=True, read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ClaimDocument
        fields = [
            "id",
            "original_name",
            "kind",
            "size",
            "pages",
            "sha256",
            "status",
            "failure_reason",
            "document_type",
            "method",
            "ocr_confidence",
            "fields",
            "download_url",
            "created_at",
        ]
        read_only_fields = fields

    def get_download_url(self, document: ClaimDocument) -> str:
        return reverse("claims-api:claim-download", args=[document.claim_id, document.pk])


class ClaimEventSerializer(serializers.ModelSerializer):
    # None for the system, and for staff as claimants and agents see them.
    actor = serializers.CharField(source="actor.username", default=None, allow_null=True, read_only=True)

    class Meta:
        model = ClaimEvent
        fields = ["kind", "message", "actor", "from_status", "to_status", "created_at"]
        read_only_fields = fields


# Checks whose reasons stay with the handlers: the fraud finding, and what a person wrote when deciding.
HIDDEN_CHECKS = frozenset({"fraud", "person"})


class ClaimDecisionSerializer(serializers.ModelSerializer):
    """A decision and why. Handlers see its inputs and thresholds; others see the reasons without fraud details."""

    decided_by = serializers.CharField(source="decided_by.username", default=None, allow_null=True, read_only=True)

    class Meta:
        model = ClaimDecision
        fields = [
            "rule_version",
            "outcome",
            "reasons",
            "priority",
            "payable_amount",
            "decided_by",
            "inputs",
            "thresholds",
            "created_at",
        ]
        read_only_fields = fields
        sometimes_omitted = ("inputs", "thresholds", "priority", "decided_by")  # for all but handlers

    def to_representation(self, decision):
        data = super().to_representation(decision)
        if not _for_handler(self.context):
            data["reasons"] = [reason for reason in data["reasons"] if reason.get("check") not in HIDDEN_CHECKS]
            for name in self.Meta.sometimes_omitted:
                data.pop(name)
        return data


class ClaimNoteSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True)

    class Meta:
        model = ClaimNote
        fields = ["id", "author", "text", "created_at"]
        read_only_fields = fields


HANDLER_ONLY = (
    "assigned_handler",
    "decided_by_person",
    "investigation_outcome",
    "reserve_amount",
    "priority",
    "fraud_risk",
    "notes",
)


class ClaimSerializer(serializers.ModelSerializer):
    """A claim with its documents, decisions and timeline. Notes, fraud details, reserves and assignment are shown
    only to claim handlers."""

    policy = serializers.CharField(source="policy.number", read_only=True)
    allowed_actions = serializers.SerializerMethodField()
    documents = ClaimDocumentSerializer(many=True, read_only=True)
    decisions = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()
    notes = ClaimNoteSerializer(many=True, read_only=True)
    # Blank until the engine has decided.
    decision_outcome = serializers.ChoiceField(choices=DecisionOutcome.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Claim
        fields = [
            "id",
            "number",
            "policy",
            "claimant",
            "reported_by",
            "incident_at",
            "incident_place",
            "loss_type",
            "description",
            "amount_claimed",
            "currency",
            "police_report_filed",
            "police_report_reference",
            "witness_count",
            "witness_details",
            "status",
            "allowed_actions",
            "priority",
            "decision_outcome",
            "decision_reasons",
            "fraud_risk",
            "approved_amount",
            "paid_amount",
            "reserve_amount",
            "assigned_handler",
            "decided_by_person",
            "investigation_outcome",
            "documents",
            "decisions",
            "timeline",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        sometimes_omitted = (*HANDLER_ONLY, "allowed_actions")  # for all but handlers

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_actions(self, claim: Claim) -> list[str]:
        return lifecycle.allowed_actions(claim.status)

    @extend_schema_field(ClaimDecisionSerializer(many=True))
    def get_decisions(self, claim: Claim) -> list[dict]:
        decisions = claim.decisions.all()
        if not _for_handler(self.context):  # an investigation is never announced to the claimant
            decisions = [decision for decision in decisions if decision.outcome != DecisionOutcome.INVESTIGATE]
        return ClaimDecisionSerializer(decisions, many=True, context=self.context).data

    @extend_schema_field(ClaimEventSerializer(many=True))
    def get_timeline(self, claim: Claim) -> list[dict]:
        events = claim.events.all()
        if _for_handler(self.context):
            return ClaimEventSerializer(events, many=True).data
        visible = [event for event in events if event.customer_visible]
        shown = ClaimEventSerializer(visible, many=True).data
        for event, row in zip(visible, shown, strict=True):
            # An approval after an investigation starts, for the claimant, from a review.
            row["from_status"] = public_status(row["from_status"])
            row["to_status"] = public_status(row["to_status"])
            if event.actor is not None and event.actor.is_staff:
                row["actor"] = None  # staff stay "a claims handler" to claimants and agents, as in the portal
        return shown

    def to_representation(self, claim):
        data = super().to_representation(claim)
        if not _for_handler(self.context):
            for name in HANDLER_ONLY:
                data.pop(name, None)
            data["decision_reasons"] = [
                reason for reason in data["decision_reasons"] if reason.get("check") not in HIDDEN_CHECKS
            ]
            if data["decision_outcome"] == DecisionOutcome.INVESTIGATE:
                data["decision_outcome"] = DecisionOutcome.REVIEW
            data["status"] = public_status(data["status"])
            data.pop("allowed_actions")
        return data


class ClaimSubmitSerializer(serializers.Serializer):
    """First notice of loss. JSON, or multipart with files in `documents`."""

    policy = serializers.SlugRelatedField(slug_field="number", queryset=Policy.objects.none())
    incident_at = serializers.DateTimeField()
    incident_place = serializers.CharField(max_length=255)
    loss_type = serializers.ChoiceField(choices=LossType.choices)
    description = serializers.CharField(max_length=5000)
    amount_claimed = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"), max_value=MAX_AMOUNT)
    police_report_filed = serializers.BooleanField(default=False)
    police_report_reference = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    witness_count = serializers.IntegerField(min_value=0, max_value=100, default=0)
    witness_details = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    documents = serializers.ListField(child=serializers.FileField(allow_empty_file=True), required=False, max_length=20)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:  # only policies the caller may see: a customer's own, an agent's customers'
            self.fields["policy"].queryset = Policy.objects.restrict(request.user, "view")


class DocumentUploadSerializer(serializers.Serializer):
    documents = serializers.ListField(child=serializers.FileField(allow_empty_file=True), min_length=1, max_length=20)


class ApproveSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255)
    amount = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"), max_value=MAX_AMOUNT, required=False)


class PartialApproveSerializer(ApproveSerializer):
    amount = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"), max_value=MAX_AMOUNT)


class ClaimReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255)


class DocumentRequestSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=1000)


class ReserveSerializer(serializers.Serializer):
    amount = serializers.DecimalField(**MONEY, min_value=Decimal("0"), max_value=MAX_AMOUNT)
    reason = serializers.CharField(max_length=255)


class PaymentRequestSerializer(serializers.Serializer):
    amount = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"), max_value=MAX_AMOUNT)
    reference = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")


class PaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["id", "amount", "currency", "reference", "created_at"]
        read_only_fields = fields


class NoteRequestSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=5000)


class AssignSerializer(serializers.Serializer):
    handler = serializers.IntegerField(allow_null=True)


class InvestigationOutcomeSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=InvestigationOutcome.choices)
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class FieldVerifySerializer(serializers.Serializer):
    field = serializers.IntegerField()
    value = serializers.CharField(max_length=255)
