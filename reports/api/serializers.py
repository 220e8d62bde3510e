"""The rows of the analytics feeds: one serializer per feed, the single definition of its columns.

Each field gives a column's name, JSON type, nullability and description (`help_text`, shown in the OpenAPI schema
and the data dictionary), and its `source`, the ORM path the value is read from with `values_list`. The JSON pages,
the CSV stream and the dictionary are all built from these classes (`reports.api.rows`, `reports.api.dictionary`).

Names follow the warehouse extracts (`etl.extracts`): the same column means the same thing everywhere. People are
ids and places are the holder's region: no personal data leaves through a feed.
"""

from rest_framework import serializers

from claims.choices import ClaimStatus, DecisionOutcome, FraudRisk, InvestigationOutcome, LossType, Priority
from fraud.choices import RiskBand, ScoreMethod
from policies.choices import InstalmentStatus, LineOfBusiness, PolicyStatus


def _source(source: str | None) -> dict[str, str]:
    return {"source": source} if source else {}


def money(help_text: str, *, source: str | None = None, allow_null: bool = False) -> serializers.DecimalField:
    """An amount as a JSON number (not a string), exact to the cent."""
    return serializers.DecimalField(
        **_source(source),
        max_digits=14,
        decimal_places=2,
        coerce_to_string=False,
        allow_null=allow_null,
        help_text=help_text,
    )


def timestamp(help_text: str, *, source: str | None = None, allow_null: bool = False) -> serializers.DateTimeField:
    return serializers.DateTimeField(**_source(source), allow_null=allow_null, help_text=f"{help_text} ISO-8601, UTC.")


POLICY_COLUMNS = ("policy_number", "product_code", "line_of_business", "holder_id", "agent_id", "holder_region")


def policy_columns(prefix: str, *names: str) -> tuple[serializers.Field, ...]:
    """The policy, product, agent and region columns each fact joins, read from the policy at `prefix`: those named
    (every one of `POLICY_COLUMNS` by default), always in the order of `POLICY_COLUMNS`. Unpack them in a row
    serializer's body under the same names, in that order; a serializer orders its fields by when they were made, so
    the columns take the place of that line."""
    unknown = set(names) - set(POLICY_COLUMNS)
    if unknown:
        raise ValueError(f"not policy columns: {sorted(unknown)}")
    fields = {
        "policy_number": serializers.CharField(source=f"{prefix}number", help_text="The policy's number."),
        "product_code": serializers.CharField(source=f"{prefix}product__code", help_text="The product's code."),
        "line_of_business": serializers.ChoiceField(
            source=f"{prefix}product__line_of_business",
            choices=LineOfBusiness.choices,
            help_text="The product's line of business.",
        ),
        "holder_id": serializers.IntegerField(
            **_source(prefix and f"{prefix}holder_id"),
            help_text="The policyholder (a user id; no name leaves through a feed).",
        ),
        "agent_id": serializers.IntegerField(
            **_source(prefix and f"{prefix}agent_id"),
            allow_null=True,
            help_text="The agent who sold the policy (an agent profile id); null for direct business.",
        ),
        "holder_region": serializers.CharField(
            source=f"{prefix}holder__customer_profile__region",
            allow_null=True,
            help_text="The policyholder's region (state, province or county); null or empty when unknown.",
        ),
    }
    return tuple(fields[name] for name in POLICY_COLUMNS if not names or name in names)


class FeedSerializer(serializers.Serializer):
    """A feed's row. Subclasses declare every column as a field with `source` and `help_text`.

    `handler_only` columns are null for users who may not handle claims (agents), as the claims API leaves them
    out; `public_values` maps a column's value to what such users are told (an investigation looks like a review).
    """

    handler_only: tuple[str, ...] = ()
    public_values: dict[str, dict[str, str]] = {}


class ClaimRowSerializer(FeedSerializer):
    """One row per claim, as it stands now."""

    claim_id = serializers.IntegerField(source="id", help_text="The claim's id; the feed's key.")
    claim_number = serializers.CharField(source="number", help_text="The claim's number, e.g. CLM-2026-000042.")
    policy_id = serializers.IntegerField(help_text="The policy claimed on.")
    policy_number, product_code, line_of_business, holder_id, agent_id, holder_region = policy_columns("policy__")
    incident_at = timestamp("When the loss happened.")
    reported_at = timestamp("When the loss was first notified.")
    loss_type = serializers.ChoiceField(choices=LossType.choices, help_text="What kind of loss.")
    amount_claimed = money("The amount the claimant asked for, in `currency`.")
    currency = serializers.CharField(help_text="ISO 4217 code of every amount of the claim.")
    approved_amount = money("The amount approved for payment; null until a decision.", allow_null=True)
    paid_amount = money("The sum paid so far.")
    reserve_amount = money("The outstanding reserve. Null for agents (claim handlers only).", allow_null=True)
    status = serializers.ChoiceField(
        choices=ClaimStatus.choices,
        help_text="The claim's state. Agents see an investigation as under_review, as the claimant does.",
    )
    priority = serializers.ChoiceField(
        choices=Priority.choices, allow_null=True, help_text="Review priority. Null for agents."
    )
    fraud_risk = serializers.ChoiceField(
        choices=FraudRisk.choices,
        allow_null=True,
        help_text="The fraud finding of the latest decision. Null for agents.",
    )
    decision_outcome = serializers.ChoiceField(
        choices=[("", "Not decided"), *DecisionOutcome.choices],
        help_text="The latest decision; empty until one. Agents see investigate as review.",
    )
    decided_by_person = serializers.BooleanField(
        allow_null=True,
        help_text="A person decided (false: the decision engine did, straight through). Null for agents.",
    )
    investigation_outcome = serializers.ChoiceField(
        choices=InvestigationOutcome.choices,
        allow_null=True,
        help_text="What an investigation concluded (confirmed_fraud, legitimate) or unknown. Null for agents.",
    )
    closed_at = timestamp("When the claim was closed; null while open.", allow_null=True)
    created_at = timestamp("When the row was created.")
    updated_at = timestamp("When the row last changed (the `updated_after` filter reads it).")

    handler_only = ("reserve_amount", "priority", "fraud_risk", "decided_by_person", "investigation_outcome")
    public_values = {
        "status": {ClaimStatus.INVESTIGATION: ClaimStatus.UNDER_REVIEW},
        "decision_outcome": {DecisionOutcome.INVESTIGATE: DecisionOutcome.REVIEW},
    }


class PolicyRowSerializer(FeedSerializer):
    """One row per policy or quote, as it stands now (its current version, after endorsements)."""

    policy_id = serializers.IntegerField(source="id", help_text="The policy's id; the feed's key.")
    policy_number, product_code, line_of_business, holder_id, agent_id, holder_region = policy_columns("")
    status = serializers.ChoiceField(choices=PolicyStatus.choices, help_text="The policy's lifecycle state.")
    effective_date = serializers.DateField(help_text="First day of cover (ISO-8601 date).")
    expiry_date = serializers.DateField(help_text="Day cover ends (ISO-8601 date).")
    premium = money("Premium for the term at the current rating, in `currency`.")
    currency = serializers.CharField(help_text="ISO 4217 code of every amount of the policy.")
    instalment_count = serializers.IntegerField(help_text="Instalments per term: 1, 2, 4 or 12.")
    version = serializers.IntegerField(help_text="Goes up with every endorsement.")
    bound_at = timestamp("When the quote was bound (the policy written); null for quotes.", allow_null=True)
    cancelled_on = serializers.DateField(allow_null=True, help_text="Date cancellation took effect; null if none.")
    lapsed_on = serializers.DateField(allow_null=True, help_text="Date the policy lapsed; null if it did not.")
    refund_amount = money("Refund on cancellation; null if none.", allow_null=True)
    renewal_of_number = serializers.CharField(
        source="renewal_of__number", allow_null=True, help_text="The policy this one renews; null for new business."
    )
    created_at = timestamp("When the row was created (the quote).")
    updated_at = timestamp("When the row last changed (the `updated_after` filter reads it).")


class InstalmentRowSerializer(FeedSerializer):
    """One row per instalment of a policy's premium (negative amounts are credits)."""

    instalment_id = serializers.IntegerField(source="id", help_text="The instalment's id; the feed's key.")
    policy_id = serializers.IntegerField(help_text="The policy it belongs to.")
    policy_number, product_code, line_of_business, holder_id, agent_id, holder_region = policy_columns("policy__")
    sequence = serializers.IntegerField(help_text="1 for the first instalment of the policy, and so on.")
    due_date = serializers.DateField(help_text="When it is due (ISO-8601 date).")
    amount = money("Amount due, in `currency`; negative for a credit.")
    currency = serializers.CharField(source="policy__currency", help_text="ISO 4217 code of `amount`.")
    status = serializers.ChoiceField(choices=InstalmentStatus.choices, help_text="due, paid or void.")
    paid_at = timestamp("When it was paid; null while unpaid.", allow_null=True)
    created_at = timestamp("When the row was created.")
    updated_at = timestamp("When the row last changed (the `updated_after` filter reads it).")


class PaymentRowSerializer(FeedSerializer):
    """One row per payment made on a claim. Payments are never changed once made."""

    payment_id = serializers.IntegerField(source="id", help_text="The payment's id; the feed's key.")
    claim_id = serializers.IntegerField(help_text="The claim paid.")
    claim_number = serializers.CharField(source="claim__number", help_text="The claim's number.")
    policy_number, product_code, line_of_business, holder_id, agent_id, holder_region = policy_columns(
        "claim__policy__"
    )
    amount = money("Amount paid, in `currency`.")
    currency = serializers.CharField(help_text="ISO 4217 code of `amount`.")
    paid_at = timestamp(source="created_at", help_text="When the payment was made.")
    updated_at = timestamp("When the row last changed (the `updated_after` filter reads it).")


class ReserveRowSerializer(FeedSerializer):
    """One row per movement of a claim's reserve: set, adjusted, or released by a payment or a decision."""

    reserve_change_id = serializers.IntegerField(source="id", help_text="The movement's id; the feed's key.")
    claim_id = serializers.IntegerField(help_text="The claim whose reserve moved.")
    claim_number = serializers.CharField(source="claim__number", help_text="The claim's number.")
    policy_number, product_code, line_of_business, holder_id, agent_id, holder_region = policy_columns(
        "claim__policy__"
    )
    amount = money("The movement, in `currency`: positive raises the reserve, negative lowers it.")
    balance_after = money("The claim's outstanding reserve after this movement.")
    currency = serializers.CharField(source="claim__currency", help_text="ISO 4217 code of the amounts.")
    reason = serializers.CharField(help_text="Why the reserve moved, as recorded.")
    created_at = timestamp("When the reserve moved.")
    updated_at = timestamp("When the row last changed (the `updated_after` filter reads it).")


class FraudScoreRowSerializer(FeedSerializer):
    """One row per fraud score of a claim (a claim is scored again when what the model sees changes)."""

    fraud_score_id = serializers.IntegerField(source="id", help_text="The score's id; the feed's key.")
    claim_id = serializers.IntegerField(help_text="The claim scored.")
    claim_number = serializers.CharField(source="claim__number", help_text="The claim's number.")
    product_code, line_of_business, agent_id, holder_region = policy_columns(
        "claim__policy__", "product_code", "line_of_business", "agent_id", "holder_region"
    )
    model_key = serializers.CharField(help_text="'v7' for fraud model version 7, 'rules-1' for the rule-based score.")
    model_version = serializers.IntegerField(
        source="model_version__version", allow_null=True, help_text="The model version; null for the rules."
    )
    method = serializers.ChoiceField(choices=ScoreMethod.choices, help_text="model, or rules when no model ran.")
    probability = serializers.FloatField(help_text="The estimated probability of fraud, 0 to 1.")
    risk_band = serializers.ChoiceField(choices=RiskBand.choices, help_text="low, medium or high.")
    created_at = timestamp("When the claim was scored.")
    updated_at = timestamp("When the row last changed (the `updated_after` filter reads it).")


class CustomerRowSerializer(FeedSerializer):
    """One row per customer, with the segment of the latest segmentation run (`manage.py segment_customers`) and the
    figures it was given on. No name or contact detail: the customer is an id, the place a region."""

    customer_id = serializers.IntegerField(
        source="id", help_text="The customer (a user id, the other feeds' `holder_id`); the feed's key."
    )
    agent_id = serializers.IntegerField(
        source="customer_profile__agent_id",
        allow_null=True,
        help_text="The agent who serves the customer (an agent profile id); null for direct customers.",
    )
    region = serializers.CharField(
        source="customer_profile__region", help_text="State, province or county; empty when unknown."
    )
    country = serializers.CharField(source="customer_profile__country", help_text="ISO 3166-1 alpha-2 code.")
    segment = serializers.CharField(
        source="customer_segment__name",
        allow_null=True,
        help_text="The customer's segment, e.g. 'long-standing multi-product'; null until a segmentation ran.",
    )
    segment_label = serializers.IntegerField(
        source="customer_segment__label",
        allow_null=True,
        help_text="The segment's number in its run (0 is the largest); null until a segmentation ran.",
    )
    segmentation_run_id = serializers.IntegerField(
        source="customer_segment__run_id", allow_null=True, help_text="The segmentation run that assigned it."
    )
    tenure_years = serializers.FloatField(
        source="customer_segment__tenure_years",
        allow_null=True,
        help_text="Years since the first cover started, when segmented.",
    )
    premium_in_force = money(
        "Premium of the policies in force, when segmented.", source="customer_segment__premium", allow_null=True
    )
    products_held = serializers.IntegerField(
        source="customer_segment__products_held",
        allow_null=True,
        help_text="Distinct products in force, when segmented.",
    )
    claim_frequency = serializers.FloatField(
        source="customer_segment__claim_frequency",
        allow_null=True,
        help_text="Claims per year of tenure (at least a year), when segmented.",
    )
    average_claim = money(
        "Average amount claimed per claim (0 without claims), when segmented.",
        source="customer_segment__claim_value",
        allow_null=True,
    )
    created_at = timestamp("When the customer was created.")
    updated_at = timestamp(
        "When the customer's profile or segment last changed (the `updated_after` filter reads it).",
        source="row_updated_at",
    )
