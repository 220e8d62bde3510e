from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from insurance.core.roles import Role

from .. import lifecycle
from ..choices import EndorsementKind, VehicleUse
from ..models import (
    Coverage,
    CoverageLine,
    Endorsement,
    Instalment,
    InsuredPerson,
    InsuredProperty,
    InsuredVehicle,
    Policy,
    PolicyEvent,
    Product,
)

MONEY = {"max_digits": 14, "decimal_places": 2}


class CoverageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Coverage
        fields = [
            "code",
            "name",
            "covered_loss_types",
            "base_rate",
            "default_limit",
            "default_deductible",
            "min_limit",
            "max_limit",
            "is_mandatory",
        ]
        read_only_fields = fields


class ProductSerializer(serializers.ModelSerializer):
    coverages = CoverageSerializer(many=True, read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "code",
            "name",
            "line_of_business",
            "description",
            "currency",
            "term_months",
            "quote_validity_days",
            "coverages",
        ]
        read_only_fields = fields


class CoverageLineSerializer(serializers.ModelSerializer):
    coverage = serializers.CharField(source="coverage.code", read_only=True)

    class Meta:
        model = CoverageLine
        fields = ["coverage", "limit", "deductible", "premium"]
        read_only_fields = fields


class InsuredVehicleSerializer(serializers.ModelSerializer):
    class Meta:
        model = InsuredVehicle
        fields = ["make", "model", "year", "vin", "value", "use"]
        read_only_fields = fields


class InsuredPropertySerializer(serializers.ModelSerializer):
    class Meta:
        model = InsuredProperty
        fields = ["address_line1", "city", "postal_code", "region", "construction_year", "value"]
        read_only_fields = fields


class InsuredPersonSerializer(serializers.ModelSerializer):
    class Meta:
        model = InsuredPerson
        fields = ["full_name", "date_of_birth", "smoker", "health_declarations"]
        read_only_fields = fields


class InstalmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Instalment
        fields = ["sequence", "due_date", "amount", "status", "paid_at", "payment_reference", "note"]
        read_only_fields = fields


class EndorsementSerializer(serializers.ModelSerializer):
    class Meta:
        model = Endorsement
        fields = [
            "version",
            "kind",
            "effective_date",
            "changes",
            "reason",
            "premium_before",
            "premium_after",
            "premium_difference",
            "created_at",
        ]
        read_only_fields = fields


class PolicyEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None, read_only=True)

    class Meta:
        model = PolicyEvent
        fields = ["kind", "message", "actor", "created_at"]
        read_only_fields = fields


class PolicySerializer(serializers.ModelSerializer):
    """A quote or policy, with why it costs what it costs (`rating_breakdown`) and what can happen next."""

    product = serializers.CharField(source="product.code", read_only=True)
    line_of_business = serializers.CharField(source="product.line_of_business", read_only=True)
    renewal_of = serializers.CharField(source="renewal_of.number", default=None, allow_null=True, read_only=True)
    coverage_lines = CoverageLineSerializer(many=True, read_only=True)
    # What is insured: the one its product's line of business names, the others null.
    vehicle = InsuredVehicleSerializer(read_only=True, default=None, allow_null=True)
    property = InsuredPropertySerializer(read_only=True, default=None, allow_null=True)
    insured_person = InsuredPersonSerializer(read_only=True, default=None, allow_null=True)
    instalments = InstalmentSerializer(many=True, read_only=True)
    endorsements = EndorsementSerializer(many=True, read_only=True)
    events = PolicyEventSerializer(many=True, read_only=True)
    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = Policy
        fields = [
            "id",
            "number",
            "product",
            "line_of_business",
            "holder",
            "agent",
            "status",
            "allowed_actions",
            "effective_date",
            "expiry_date",
            "quote_expires_on",
            "currency",
            "premium",
            "rating_breakdown",
            "underwriting_outcome",
            "underwriting_reasons",
            "instalment_count",
            "version",
            "renewal_of",
            "coverage_lines",
            "vehicle",
            "property",
            "insured_person",
            "instalments",
            "endorsements",
            "events",
            "bound_at",
            "cancelled_on",
            "cancellation_reason",
            "refund_amount",
            "lapsed_on",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_actions(self, policy: Policy) -> list[str]:
        return lifecycle.allowed_actions(policy.status)


class QuoteCoverageSerializer(serializers.Serializer):
    coverage = serializers.CharField(max_length=40)
    limit = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"), required=False)
    deductible = serializers.DecimalField(**MONEY, min_value=Decimal("0"), required=False)


class QuoteVehicleSerializer(serializers.Serializer):
    make = serializers.CharField(max_length=60)
    model = serializers.CharField(max_length=60)
    year = serializers.IntegerField(min_value=1900, max_value=2100)
    vin = serializers.CharField(min_length=17, max_length=17)
    value = serializers.DecimalField(**MONEY, min_value=Decimal("1"), max_value=Decimal("100000000"))
    use = serializers.ChoiceField(choices=VehicleUse.choices, default=VehicleUse.PRIVATE)


class QuotePropertySerializer(serializers.Serializer):
    address_line1 = serializers.CharField(max_length=200)
    city = serializers.CharField(max_length=100)
    postal_code = serializers.CharField(max_length=20)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    construction_year = serializers.IntegerField(min_value=1600, max_value=2100)
    value = serializers.DecimalField(**MONEY, min_value=Decimal("1"), max_value=Decimal("100000000"))


class QuotePersonSerializer(serializers.Serializer):
    full_name = serializers.CharField(max_length=200)
    date_of_birth = serializers.DateField()
    smoker = serializers.BooleanField(default=False)
    health_declarations = serializers.ListField(child=serializers.CharField(max_length=200), required=False)


class QuoteRequestSerializer(serializers.Serializer):
    """Ask for a quote. A customer quotes for themselves (omit `holder`); an agent names one of their customers."""

    product = serializers.SlugRelatedField(slug_field="code", queryset=Product.objects.filter(is_active=True))
    holder = serializers.PrimaryKeyRelatedField(queryset=User.objects.none(), required=False)
    effective_date = serializers.DateField()
    expiry_date = serializers.DateField(required=False, help_text="Default: the product's full term.")
    instalment_count = serializers.ChoiceField(choices=[1, 2, 4, 12], default=1)
    prior_claims_3y = serializers.IntegerField(min_value=0, max_value=50, default=0)
    coverages = QuoteCoverageSerializer(many=True, required=False)
    vehicle = QuoteVehicleSerializer(required=False)
    property = QuotePropertySerializer(required=False)
    person = QuotePersonSerializer(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:  # only customers the caller may act for
            self.fields["holder"].queryset = User.objects.restrict(request.user, "view").filter(
                groups__name=Role.CUSTOMER
            )

    def validate(self, attrs: dict) -> dict:
        user = self.context["request"].user
        if "holder" not in attrs:
            if not hasattr(user, "customer_profile"):
                raise serializers.ValidationError({"holder": ["Name the customer the quote is for."]})
            attrs["holder"] = user
        return attrs


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255)


class CancelRequestSerializer(ReasonSerializer):
    effective_date = serializers.DateField(required=False, help_text="Default: today.")


class EndorseRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EndorsementKind.choices)
    effective_date = serializers.DateField()
    changes = serializers.DictField(
        help_text='vehicle: new vehicle fields; address: {"region": ..., address fields}; '
        'limit: {"coverage": code, "limit": amount}; deductible: {"coverage": code, "deductible": amount}'
    )
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class PayRequestSerializer(serializers.Serializer):
    sequence = serializers.IntegerField(min_value=1)
    amount = serializers.DecimalField(**MONEY, min_value=Decimal("-100000000"), max_value=Decimal("100000000"))
    reference = serializers.CharField(max_length=60, help_text="The payment's reference (bank transfer, card...).")


class EndorsementResultSerializer(serializers.Serializer):
    endorsement = EndorsementSerializer()
    policy = PolicySerializer()
