"""Products (what the insurer sells, as data), policies and their insured risks, instalments, endorsements,
referrals and the policy timeline."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from insurance.core.models import BaseModel

from .choices import (
    EndorsementKind,
    FactorKind,
    InstalmentStatus,
    LineOfBusiness,
    PolicyStatus,
    RatingInput,
    ReferralStatus,
    RuleOperator,
    UnderwritingOutcome,
    VehicleUse,
)

MONEY = {"max_digits": 14, "decimal_places": 2}
NON_NEGATIVE = [MinValueValidator(Decimal("0"))]


class Product(BaseModel):
    """A product as data: its coverages, rating table, underwriting rules, terms and claim thresholds.

    Admins edit all of it in the admin; nothing about a product is in code.
    """

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    line_of_business = models.CharField(max_length=10, choices=LineOfBusiness.choices)
    description = models.TextField(blank=True)
    currency = models.CharField(max_length=3, default="USD", help_text="ISO 4217 code of every amount.")
    term_months = models.PositiveSmallIntegerField(default=12, validators=[MinValueValidator(1), MaxValueValidator(36)])
    min_premium = models.DecimalField(**MONEY, default=Decimal("0"), validators=NON_NEGATIVE)
    is_active = models.BooleanField(default=True)
    quote_validity_days = models.PositiveSmallIntegerField(default=30, help_text="A quote expires after this.")
    grace_period_days = models.PositiveSmallIntegerField(default=30, help_text="Days an instalment may stay unpaid.")
    reinstatement_window_days = models.PositiveSmallIntegerField(
        default=90, help_text="Days after cancellation or lapse during which the policy may be reinstated."
    )
    renewal_offer_days = models.PositiveSmallIntegerField(
        default=30, help_text="A renewal is offered this many days before expiry."
    )
    # Thresholds the claims decision engine reads.
    claim_auto_approve_limit = models.DecimalField(
        **MONEY,
        default=Decimal("2500"),
        validators=NON_NEGATIVE,
        help_text="Claims up to this amount may be approved without a person.",
    )
    claim_fraud_referral_score = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.700"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="A fraud score at or above this sends a claim to investigation.",
    )
    claim_cost_tolerance_pct = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("20"),
        validators=NON_NEGATIVE,
        help_text="A claimed amount this many percent above the documented or expected cost goes to review.",
    )
    claim_required_documents = models.JSONField(
        default=list, blank=True, help_text='Document types a claim needs before auto-approval, e.g. ["invoice"].'
    )

    scope_public = True

    class Meta:
        ordering = ["line_of_business", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Coverage(BaseModel):
    """A coverage a product offers, with its base rate (per term) and default limit and deductible."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="coverages")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=120)
    covered_loss_types = models.JSONField(default=list, blank=True, help_text='e.g. ["collision", "theft"]')
    base_rate = models.DecimalField(**MONEY, validators=NON_NEGATIVE, help_text="Premium per term before factors.")
    default_limit = models.DecimalField(**MONEY, validators=NON_NEGATIVE)
    default_deductible = models.DecimalField(**MONEY, default=Decimal("0"), validators=NON_NEGATIVE)
    min_limit = models.DecimalField(**MONEY, default=Decimal("0"), validators=NON_NEGATIVE)
    max_limit = models.DecimalField(**MONEY, null=True, blank=True, validators=NON_NEGATIVE)
    is_mandatory = models.BooleanField(default=True)

    scope_public = True

    class Meta:
        ordering = ["product", "code"]
        constraints = [models.UniqueConstraint(fields=["product", "code"], name="coverage_code_unique_per_product")]

    def __str__(self) -> str:
        return f"{self.product.code}/{self.code}"


class RatingFactor(BaseModel):
    """One row of a product's rating table: a multiplier chosen by bands of (or exact values of) one input."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="rating_factors")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=120)
    input = models.CharField(max_length=20, choices=RatingInput.choices)
    kind = models.CharField(max_length=10, choices=FactorKind.choices, default=FactorKind.BAND)
    coverage = models.ForeignKey(
        Coverage,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="rating_factors",
        help_text="Empty: the factor applies to every coverage line.",
    )
    default_multiplier = models.DecimalField(
        max_digits=8, decimal_places=4, default=Decimal("1"), help_text="Used when no band matches."
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Factors apply in this order.")

    scope_public = True

    class Meta:
        ordering = ["product", "position", "code"]
        constraints = [models.UniqueConstraint(fields=["product", "code"], name="factor_code_unique_per_product")]

    def __str__(self) -> str:
        return f"{self.product.code}/{self.code}"


class RatingBand(BaseModel):
    """A band of a factor: `lower <= value < upper` (either end open), or an exact `value` for lookups."""

    factor = models.ForeignKey(RatingFactor, on_delete=models.CASCADE, related_name="bands")
    label = models.CharField(max_length=60, blank=True)
    lower = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    upper = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    value = models.CharField(max_length=60, blank=True, help_text="For exact-value factors.")
    multiplier = models.DecimalField(max_digits=8, decimal_places=4, validators=NON_NEGATIVE)

    scope_public = True

    class Meta:
        ordering = ["factor", "lower", "value"]

    def __str__(self) -> str:
        if self.label or self.value:
            return self.label or self.value
        if self.upper is None:
            return f"{self.lower} and over"
        return f"under {self.upper}" if self.lower is None else f"{self.lower} to {self.upper}"


class UnderwritingRule(BaseModel):
    """A rule checked at quote time: when `input operator value` holds, the quote is referred or declined."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="underwriting_rules")
    code = models.CharField(max_length=40, help_text="Reason code, e.g. DRIVER_UNDER_21.")
    description = models.CharField(max_length=200)
    input = models.CharField(max_length=20, choices=RatingInput.choices)
    operator = models.CharField(max_length=5, choices=RuleOperator.choices)
    value = models.CharField(max_length=200, help_text="A number, a word, or comma-separated words for 'one of'.")
    outcome = models.CharField(
        max_length=10, choices=[(UnderwritingOutcome.REFER, "Refer"), (UnderwritingOutcome.DECLINE, "Decline")]
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["product", "code"]
        constraints = [models.UniqueConstraint(fields=["product", "code"], name="rule_code_unique_per_product")]

    def __str__(self) -> str:
        return f"{self.code}: {self.description}"


class NumberSequence(BaseModel):
    """Counters behind people-readable numbers (POL-2026-000123). A counter only ever goes up: no number is reused."""

    prefix = models.CharField(max_length=10)
    year = models.PositiveSmallIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prefix", "year"], name="number_sequence_unique")]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last_value}"


class Policy(BaseModel):
    """A quote or a policy: one row through its whole life (see `policies.lifecycle` for the state machine)."""

    number = models.CharField(max_length=20, unique=True, editable=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="policies")
    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="policies")
    agent = models.ForeignKey(
        "accounts.AgentProfile", on_delete=models.PROTECT, null=True, blank=True, related_name="policies"
    )
    status = models.CharField(max_length=15, choices=PolicyStatus.choices, default=PolicyStatus.QUOTE, db_index=True)
    effective_date = models.DateField()
    expiry_date = models.DateField()
    quote_expires_on = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    premium = models.DecimalField(**MONEY, help_text="Premium for the term at the current rating (after endorsements).")
    rating_inputs = models.JSONField(default=dict, help_text="What the rating and the underwriting rules read.")
    rating_breakdown = models.JSONField(default=dict, help_text="Each line's base rate and factors, and the total.")
    underwriting_outcome = models.CharField(max_length=10, choices=UnderwritingOutcome.choices)
    underwriting_reasons = models.JSONField(default=list, blank=True)
    instalment_count = models.PositiveSmallIntegerField(
        default=1, choices=[(1, "Annual"), (2, "Half-yearly"), (4, "Quarterly"), (12, "Monthly")]
    )
    version = models.PositiveIntegerField(default=1, help_text="Goes up with every endorsement.")
    renewal_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="renewals",
        help_text="The term this quote renews (a renewal that expired or was declined may be offered again).",
    )
    bound_at = models.DateTimeField(null=True, blank=True)
    cancelled_on = models.DateField(null=True, blank=True)
    cancellation_reason = models.CharField(max_length=255, blank=True)
    refund_amount = models.DecimalField(**MONEY, null=True, blank=True)
    lapsed_on = models.DateField(null=True, blank=True)
    attributes = models.JSONField(
        default=dict, blank=True, help_text="Imported columns with no field of their own, kept as sent."
    )

    scope_owner_field = "holder"

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "policies"
        permissions = [
            ("bind_policy", "Can bind a quote (issue the policy)"),
            ("endorse_policy", "Can endorse a policy mid-term"),
            ("renew_policy", "Can offer a renewal"),
            ("cancel_policy", "Can cancel a policy"),
            ("reinstate_policy", "Can reinstate a cancelled or lapsed policy"),
            ("underwrite_policy", "Can approve or decline referred quotes"),
            ("pay_policy", "Can record an instalment payment"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expiry_date__gt=F("effective_date")), name="policy_expiry_after_effective"
            ),
            models.CheckConstraint(condition=Q(premium__gte=0), name="policy_premium_not_negative"),
        ]
        indexes = [
            models.Index(fields=["status", "expiry_date"]),
            models.Index(fields=["status", "quote_expires_on"]),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def term_days(self) -> int:
        return (self.expiry_date - self.effective_date).days


class CoverageLine(BaseModel):
    """A coverage on one policy, with its own limit, deductible and premium."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="coverage_lines")
    coverage = models.ForeignKey(Coverage, on_delete=models.PROTECT, related_name="+")
    limit = models.DecimalField(**MONEY, validators=NON_NEGATIVE)
    deductible = models.DecimalField(**MONEY, validators=NON_NEGATIVE)
    premium = models.DecimalField(**MONEY, validators=NON_NEGATIVE)

    scope_owner_field = "policy__holder"

    class Meta:
        ordering = ["policy", "coverage__code"]
        constraints = [models.UniqueConstraint(fields=["policy", "coverage"], name="one_line_per_coverage")]

    def __str__(self) -> str:
        return f"{self.policy.number} {self.coverage.code}"


class InsuredVehicle(BaseModel):
    policy = models.OneToOneField(Policy, on_delete=models.CASCADE, related_name="vehicle")
    make = models.CharField(max_length=60)
    model = models.CharField(max_length=60)
    year = models.PositiveSmallIntegerField(validators=[MinValueValidator(1900), MaxValueValidator(2100)])
    vin = models.CharField(max_length=17, db_index=True, blank=True, help_text="Empty on imported legacy policies.")
    value = models.DecimalField(
        **MONEY, validators=NON_NEGATIVE, null=True, blank=True, help_text="Empty when an import did not say."
    )
    use = models.CharField(max_length=12, choices=VehicleUse.choices, default=VehicleUse.PRIVATE)

    scope_owner_field = "policy__holder"

    def __str__(self) -> str:
        return f"{self.year} {self.make} {self.model}"


class InsuredProperty(BaseModel):
    policy = models.OneToOneField(Policy, on_delete=models.CASCADE, related_name="property")
    address_line1 = models.CharField(max_length=200)
    city = models.CharField(max_length=100)
    postal_code = models.CharField(max_length=20)
    region = models.CharField(max_length=100, blank=True)
    construction_year = models.PositiveSmallIntegerField(validators=[MinValueValidator(1600), MaxValueValidator(2100)])
    value = models.DecimalField(**MONEY, validators=NON_NEGATIVE)

    scope_owner_field = "policy__holder"

    class Meta:
        verbose_name_plural = "insured properties"

    def __str__(self) -> str:
        return f"{self.address_line1}, {self.city}"


class InsuredPerson(BaseModel):
    policy = models.OneToOneField(Policy, on_delete=models.CASCADE, related_name="insured_person")
    full_name = models.CharField(max_length=200)
    date_of_birth = models.DateField()
    smoker = models.BooleanField(default=False)
    health_declarations = models.JSONField(default=list, blank=True, help_text="Declared conditions, as written.")

    scope_owner_field = "policy__holder"

    def __str__(self) -> str:
        return self.full_name


class Instalment(BaseModel):
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="instalments")
    sequence = models.PositiveSmallIntegerField()
    due_date = models.DateField(db_index=True)
    amount = models.DecimalField(**MONEY, help_text="Negative for a credit (an endorsement that lowers the premium).")
    status = models.CharField(max_length=5, choices=InstalmentStatus.choices, default=InstalmentStatus.DUE)
    paid_at = models.DateTimeField(null=True, blank=True)
    payment_reference = models.CharField(max_length=60, blank=True)
    note = models.CharField(max_length=200, blank=True)

    scope_owner_field = "policy__holder"

    class Meta:
        ordering = ["policy", "sequence"]
        constraints = [models.UniqueConstraint(fields=["policy", "sequence"], name="instalment_sequence_unique")]
        indexes = [models.Index(fields=["status", "due_date"])]

    def __str__(self) -> str:
        return f"{self.policy.number} #{self.sequence}"


class Endorsement(BaseModel):
    """A mid-term change: what changed, from when, and the premium difference for the rest of the term."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="endorsements")
    version = models.PositiveIntegerField(help_text="The policy version this endorsement created.")
    kind = models.CharField(max_length=12, choices=EndorsementKind.choices)
    effective_date = models.DateField()
    changes = models.JSONField(default=dict)
    reason = models.CharField(max_length=255, blank=True)
    premium_before = models.DecimalField(**MONEY)
    premium_after = models.DecimalField(**MONEY)
    premium_difference = models.DecimalField(**MONEY, help_text="Pro-rata for the days left in the term.")
    rating_breakdown = models.JSONField(default=dict)

    scope_owner_field = "policy__holder"

    class Meta:
        ordering = ["policy", "version"]
        constraints = [models.UniqueConstraint(fields=["policy", "version"], name="endorsement_version_unique")]

    def __str__(self) -> str:
        return f"{self.policy.number} v{self.version} {self.kind}"


class Referral(BaseModel):
    """A quote waiting for an underwriter, and their decision: who, when and why."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="referrals")
    status = models.CharField(max_length=10, choices=ReferralStatus.choices, default=ReferralStatus.PENDING)
    reasons = models.JSONField(default=list)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=255, blank=True)
    is_override = models.BooleanField(default=False, help_text="The underwriter overrode an automatic decline.")

    scope_owner_field = "policy__holder"

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.policy.number} referral ({self.status})"


class PolicyEvent(BaseModel):
    """The policy timeline: who did what, when and why."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    message = models.CharField(max_length=255)
    data = models.JSONField(default=dict, blank=True)

    scope_owner_field = "policy__holder"

    class Meta:
        ordering = ["policy", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.policy.number} {self.kind}"
