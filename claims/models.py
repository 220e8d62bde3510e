"""Claims, their documents and extracted fields, decisions, reserves, payments, notes and the claim timeline."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from insurance.core.models import BaseModel

from .choices import (
    ClaimStatus,
    DecisionOutcome,
    DocumentStatus,
    DocumentType,
    FraudRisk,
    InvestigationOutcome,
    LossType,
    Priority,
)

MONEY = {"max_digits": 14, "decimal_places": 2}


class Claim(BaseModel):
    """A claim on a policy, from first notice of loss to payment (see `claims.lifecycle` for its states)."""

    number = models.CharField(max_length=20, unique=True, editable=False)
    policy = models.ForeignKey("policies.Policy", on_delete=models.PROTECT, related_name="claims")
    claimant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="claims")
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    incident_at = models.DateTimeField()
    reported_at = models.DateTimeField(
        default=timezone.now, db_index=True, help_text="When the loss was first notified (earlier for imported claims)."
    )
    incident_place = models.CharField(max_length=255)
    loss_type = models.CharField(max_length=20, choices=LossType.choices)
    description = models.TextField()
    amount_claimed = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(max_length=3)
    police_report_filed = models.BooleanField(default=False)
    police_report_reference = models.CharField(max_length=60, blank=True)
    witness_count = models.PositiveSmallIntegerField(default=0)
    witness_details = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=ClaimStatus.choices, default=ClaimStatus.SUBMITTED, db_index=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    assigned_handler = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="assigned_claims"
    )
    decision_outcome = models.CharField(max_length=12, choices=DecisionOutcome.choices, blank=True)
    decision_reasons = models.JSONField(default=list, blank=True)
    fraud_risk = models.CharField(
        max_length=12,
        choices=FraudRisk.choices,
        default=FraudRisk.NOT_CHECKED,
        db_index=True,
        help_text="The fraud finding of the latest decision.",
    )
    decided_by_person = models.BooleanField(
        default=False, help_text="A person decided; the engine no longer re-evaluates automatically."
    )
    approved_amount = models.DecimalField(**MONEY, null=True, blank=True)
    reserve_amount = models.DecimalField(**MONEY, default=Decimal("0"), help_text="Outstanding reserve.")
    paid_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    investigation_outcome = models.CharField(
        max_length=16, choices=InvestigationOutcome.choices, default=InvestigationOutcome.UNKNOWN, db_index=True
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    attributes = models.JSONField(
        default=dict, blank=True, help_text="Imported columns with no field of their own, kept as sent."
    )

    scope_owner_field = "policy__holder"

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("handle_claim", "Can see handler notes, fraud details and decision inputs"),
            ("decide_claim", "Can approve, partially approve, deny and route claims"),
            ("reserve_claim", "Can set and adjust reserves"),
            ("pay_claim", "Can pay claims"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_claimed__gt=0), name="claim_amount_positive"),
            models.CheckConstraint(condition=Q(paid_amount__gte=0), name="claim_paid_not_negative"),
            models.CheckConstraint(condition=Q(reserve_amount__gte=0), name="claim_reserve_not_negative"),
        ]
        indexes = [
            models.Index(fields=["policy", "incident_at"]),
            models.Index(fields=["claimant", "created_at"]),
            models.Index(fields=["status", "priority"]),
            models.Index(fields=["loss_type", "created_at"]),
            # Fraud features: the latest comparable claims (same loss type and currency) reported before a claim.
            models.Index(fields=["loss_type", "currency", "reported_at"]),
        ]

    def __str__(self) -> str:
        return self.number


class ClaimEvent(BaseModel):
    """The claim timeline: who did what, when and why; status changes carry their from and to states."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    message = models.CharField(max_length=500)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    data = models.JSONField(default=dict, blank=True)
    customer_visible = models.BooleanField(default=True)

    scope_owner_field = "claim__policy__holder"

    class Meta:
        ordering = ["claim", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.claim.number} {self.kind}"


class ClaimNote(BaseModel):
    """A handler's note. Never shown to customers or agents."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()

    scope_owner_field = None  # staff only

    class Meta:
        ordering = ["claim", "created_at"]

    def __str__(self) -> str:
        return f"{self.claim.number} note by {self.author}"


class ClaimDocument(BaseModel):
    """An uploaded document, stored under a generated name outside the web root, with its hash and OCR result."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="documents")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to="claims/%Y/%m/", max_length=255)
    original_name = models.CharField(max_length=150, help_text="Sanitised; for display only.")
    kind = models.CharField(max_length=5, help_text="pdf, jpeg, png or tiff, decided from the bytes.")
    mime = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    pages = models.PositiveSmallIntegerField(default=1)
    sha256 = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=10, choices=DocumentStatus.choices, default=DocumentStatus.PENDING)
    failure_reason = models.CharField(max_length=255, blank=True)
    document_type = models.CharField(max_length=20, choices=DocumentType.choices, default=DocumentType.UNKNOWN)
    method = models.CharField(max_length=12, blank=True, help_text="text_layer or ocr")
    text = models.TextField(blank=True)
    ocr_confidence = models.FloatField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    scope_owner_field = "claim__policy__holder"
    history_excluded_fields = ("text",)

    class Meta:
        ordering = ["claim", "created_at"]

    def __str__(self) -> str:
        return f"{self.claim.number}: {self.original_name}"


class ExtractedField(BaseModel):
    """A value read from a document, with its confidence and where it was found; a person may verify it."""

    document = models.ForeignKey(ClaimDocument, on_delete=models.CASCADE, related_name="fields")
    name = models.CharField(max_length=30)
    value = models.CharField(max_length=255)
    confidence = models.FloatField()
    page = models.PositiveSmallIntegerField(default=1)
    box = models.JSONField(null=True, blank=True, help_text="[left, top, width, height] in page pixels")
    needs_review = models.BooleanField(default=False)
    verified_value = models.CharField(max_length=255, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)

    scope_owner_field = "document__claim__policy__holder"

    class Meta:
        ordering = ["document", "name"]
        indexes = [models.Index(fields=["name", "value"])]

    def __str__(self) -> str:
        return f"{self.name}={self.value}"

    @property
    def effective_value(self) -> str:
        return self.verified_value or self.value


class ClaimDecision(BaseModel):
    """One run of the decision engine (or a person's decision): outcome, reasons, and exactly what it saw."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="decisions")
    rule_version = models.CharField(max_length=20)
    outcome = models.CharField(max_length=12, choices=DecisionOutcome.choices)
    reasons = models.JSONField(default=list, help_text="[{check, code, message}]")
    inputs = models.JSONField(default=dict)
    thresholds = models.JSONField(default=dict)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    payable_amount = models.DecimalField(**MONEY, null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the engine decided.",
    )

    scope_owner_field = "claim__policy__holder"

    class Meta:
        ordering = ["claim", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.claim.number} {self.outcome} ({self.rule_version})"


class ReserveChange(BaseModel):
    """A movement of a claim's reserve (set, adjusted, released by a payment), with the balance after it."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="reserve_changes")
    amount = models.DecimalField(**MONEY, help_text="Positive raises the reserve, negative lowers it.")
    balance_after = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=255)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    scope_owner_field = None  # staff and analytics only

    class Meta:
        ordering = ["claim", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.claim.number} reserve {self.amount:+}"


class Payment(BaseModel):
    """Money paid on a claim. The sum never exceeds the approved amount (checked under a row lock)."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=60, blank=True)
    paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    scope_owner_field = "claim__policy__holder"

    class Meta:
        ordering = ["claim", "created_at"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self) -> str:
        return f"{self.claim.number} paid {self.amount}"


class IdempotencyRecord(BaseModel):
    """The first result of a request sent with an `Idempotency-Key`, replayed to retries of the same request."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    completed = models.BooleanField(default=False)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)

    scope_owner_field = "user"
    scope_agent_field = "user"

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "scope", "key"], name="idempotency_key_unique")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"
