"""The KPI API under /api/analytics/kpis/: one read-only endpoint per KPI, each computed by `reports.kpis` over the
caller's scope, filtered by `product` and a period of whole months (`from_month`, `to_month`, YYYY-MM).

Who: as the feeds, agents (their book), underwriters, admins and analytics readers; customers get 403. Agents get
what the claims API shows them: paid loss ratios (the incurred columns are null), investigations counted as
reviews in cycle times, no fraud figures, and 403 on the straight-through and fraud endpoints, which need a claim
handler's view. Book-wide readers get the figures of the hourly KPI rollup when it covers the period (`as_of` says
when they were computed); agents' figures are always live. An unknown parameter, a malformed month, an unknown
product or a period over 60 months is a 400.
"""

from collections.abc import Callable

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from insurance.core.api.exceptions import ErrorSerializer

from .. import kpis
from ..forms import KpiFilterForm
from ..selectors import sees_handler_columns
from .serializers import money
from .views import AnalyticsAPIView, AnalyticsPermission, refuse_unknown_parameters

AGENT_NULL = " Null for agents (claim handlers and analytics readers only)."


def rate(help_text: str, *, agents_null: bool = False) -> serializers.FloatField:
    return serializers.FloatField(
        allow_null=True, help_text=f"{help_text} Null when its denominator is 0.{AGENT_NULL if agents_null else ''}"
    )


def count(help_text: str, *, agents_null: bool = False) -> serializers.IntegerField:
    return serializers.IntegerField(allow_null=agents_null, help_text=help_text + (AGENT_NULL if agents_null else ""))


# --- rows -----------------------------------------------------------------------------------------------------


class KpiMonthRowSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="The calendar month (UTC), YYYY-MM.")
    product_code = serializers.CharField(
        allow_null=True, help_text="The product's code; null on a totals row (every product in the caller's scope)."
    )


class KpiMoneyMonthRowSerializer(KpiMonthRowSerializer):
    currency = serializers.CharField(help_text="ISO 4217 code of the row's amounts; totals are per currency.")


class KpiPremiumRowSerializer(KpiMoneyMonthRowSerializer):
    policies_written = count("Policies issued whose cover starts in the month.")
    written_premium = money("Premium of those policies for their term (at their current rating, endorsements in).")
    earned_premium = money(
        "Premium earned in the month: each issued policy's premium pro rata for the days it covered in the month over "
        "its term days; cover stops at cancellation or lapse."
    )
    exposure_policy_years = serializers.FloatField(help_text="Days of cover given in the month, over 365.")


class KpiLossRatioRowSerializer(KpiMoneyMonthRowSerializer):
    earned_premium = money("Premium earned in the month (as in the premium KPI).")
    claims = count("Claims whose incident happened in the month (accident month).")
    paid = money("Paid to date on those claims.")
    outstanding_reserves = money("Their outstanding reserves now." + AGENT_NULL, allow_null=True)
    incurred = money("paid + outstanding_reserves." + AGENT_NULL, allow_null=True)
    loss_ratio = rate("incurred / earned_premium, on an accident-month basis valued today.", agents_null=True)
    paid_loss_ratio = rate("paid / earned_premium.")


class KpiFrequencySeverityRowSerializer(KpiMoneyMonthRowSerializer):
    claims = count("Claims whose incident happened in the month, whatever their outcome.")
    exposure_policy_years = serializers.FloatField(help_text="Days of cover given in the month, over 365.")
    frequency = rate("claims / exposure_policy_years: claims per policy-year in force.")
    claims_with_payment = count("Of those claims, the ones with a payment.")
    paid = money("Paid to date on those claims.")
    paid_severity = rate("paid / claims_with_payment: the mean paid per paid claim.")
    claims_with_loss = count("Of those claims, the ones with a payment or an outstanding reserve.", agents_null=True)
    incurred = money("Paid plus outstanding reserves on those claims." + AGENT_NULL, allow_null=True)
    incurred_severity = rate("incurred / claims_with_loss: the mean incurred per claim with a loss.", agents_null=True)


class KpiStraightThroughRowSerializer(KpiMonthRowSerializer):
    claims_decided = count("Claims reported in the month with a final decision (approved in full or part, or denied).")
    straight_through = count("Of those, the ones the decision engine decided without a person.")
    straight_through_rate = rate("straight_through / claims_decided.")
    straight_through_confirmed_fraud = count("Straight-through claims that an investigation later confirmed as fraud.")


class KpiFraudRowSerializer(KpiMonthRowSerializer):
    claims_reported = count("Claims reported in the month.")
    referred = count("Of those, the ones sent to investigation (by the engine or a person) at any point.")
    referral_rate = rate("referred / claims_reported.")
    concluded = count("Referred claims whose investigation concluded (confirmed fraud or legitimate).")
    confirmed_fraud = count("Referred claims confirmed as fraud.")
    hit_rate = rate("confirmed_fraud / concluded.")


class KpiRenewalRowSerializer(KpiMonthRowSerializer):
    due_for_renewal = count(
        "Issued policies whose term ends in the month and that ran to their end (not cancelled or lapsed)."
    )
    renewed = count("Of those, the ones whose renewal was bound.")
    retention_rate = rate("renewed / due_for_renewal.")


class KpiCycleTimeRowSerializer(serializers.Serializer):
    state = serializers.CharField(
        help_text="The claim status. Agents see an investigation as under_review, as the claims API shows it."
    )
    stays = count("Stays in the status that ended in the period (or month): the claim moved on to another status.")
    mean_hours = serializers.FloatField(help_text="Mean hours a stay lasted.")
    median_hours = serializers.FloatField(help_text="Median hours a stay lasted.")


class KpiCycleTimeMonthRowSerializer(KpiCycleTimeRowSerializer):
    month = serializers.CharField(help_text="The month the stays ended (UTC), YYYY-MM.")


class KpiAgentRowSerializer(serializers.Serializer):
    agent_id = serializers.IntegerField(
        allow_null=True, help_text="The selling agent (an agent profile id); null for direct business."
    )
    agency = serializers.CharField(allow_null=True, help_text="The agent's agency; null for direct business.")
    currency = serializers.CharField(help_text="ISO 4217 code of the row's amounts.")
    policies_written = count("Policies issued whose cover starts in the period.")
    written_premium = money("Their premium for the term.")
    earned_premium = money("Premium earned in the period on the agent's policies.")
    claims = count("Claims on the agent's policies whose incident happened in the period.")
    paid = money("Paid to date on those claims.")
    incurred = money("Paid plus outstanding reserves on those claims." + AGENT_NULL, allow_null=True)
    loss_ratio = rate("incurred / earned_premium.", agents_null=True)
    paid_loss_ratio = rate("paid / earned_premium.")
    investigations_concluded = count("Of those claims, referred ones whose investigation concluded.", agents_null=True)
    confirmed_fraud = count("Of those, the ones confirmed as fraud.", agents_null=True)
    fraud_hit_rate = rate("confirmed_fraud / investigations_concluded.", agents_null=True)


# --- envelopes ------------------------------------------------------------------------------------------------


class KpiEnvelopeSerializer(serializers.Serializer):
    from_month = serializers.CharField(help_text="The period's first month, YYYY-MM.")
    to_month = serializers.CharField(help_text="The period's last month, YYYY-MM (inclusive).")
    product = serializers.CharField(allow_null=True, help_text="The product filtered on; null for every product.")
    as_of = serializers.DateTimeField(
        allow_null=True,
        help_text="When the figures were computed: the book-wide KPI rollup's refresh time (hourly) for underwriters, "
        "admins and analytics readers when it covers the period; null when computed live for this request.",
    )


def _monthly(name: str, row: type[serializers.Serializer], doc: str) -> type[serializers.Serializer]:
    """An envelope with a row per product and month, and totals rows (product null) per month."""
    fields = {
        "results": row(many=True, help_text="One row per product (and currency) per month of the period."),
        "totals": row(many=True, help_text="Every product in the caller's scope together: one row per month."),
        "__doc__": doc,
        "__module__": __name__,
    }
    return type(name, (KpiEnvelopeSerializer,), fields)


KpiPremiumSerializer = _monthly("KpiPremiumSerializer", KpiPremiumRowSerializer, "Premium written and earned.")
KpiLossRatioSerializer = _monthly("KpiLossRatioSerializer", KpiLossRatioRowSerializer, "Loss ratio.")
KpiFrequencySeveritySerializer = _monthly(
    "KpiFrequencySeveritySerializer", KpiFrequencySeverityRowSerializer, "Claim frequency and severity."
)
KpiStraightThroughSerializer = _monthly(
    "KpiStraightThroughSerializer", KpiStraightThroughRowSerializer, "Straight-through rate."
)
KpiFraudSerializer = _monthly("KpiFraudSerializer", KpiFraudRowSerializer, "Fraud referral and hit rates.")
KpiRenewalSerializer = _monthly("KpiRenewalSerializer", KpiRenewalRowSerializer, "Renewal retention.")


class KpiCycleTimeSerializer(KpiEnvelopeSerializer):
    """Time spent in each claim status."""

    states = KpiCycleTimeRowSerializer(many=True, help_text="Per status, over the whole period.")
    by_month = KpiCycleTimeMonthRowSerializer(many=True, help_text="Per status and month the stays ended.")


class KpiAgentSerializer(KpiEnvelopeSerializer):
    """Agent performance over the period."""

    results = KpiAgentRowSerializer(many=True, help_text="One row per agent (and currency); direct business last.")


# --- views ----------------------------------------------------------------------------------------------------


class HandlerKpiPermission(AnalyticsPermission):
    """Straight-through and fraud KPIs describe fraud findings and who decided: not for agents."""

    message = "These KPIs are for claim handlers and analytics readers."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and sees_handler_columns(request.user)


KNOWN_PARAMETERS = frozenset({*KpiFilterForm.base_fields, "format"})
PARAMETERS = [
    OpenApiParameter(name, str, description=str(field.help_text)) for name, field in KpiFilterForm.base_fields.items()
]
ERRORS = {
    400: OpenApiResponse(
        ErrorSerializer,
        description="Unknown parameter, malformed month, unknown product, or a "
        "period over 60 months or ending before it starts.",
    ),
    401: OpenApiResponse(ErrorSerializer, description="No, invalid or expired credentials."),
    403: OpenApiResponse(ErrorSerializer, description="Customers; agents on the handler-only KPIs."),
}


def kpi_query(request) -> kpis.KpiQuery:
    """The request's filters, or a 400 naming each bad parameter."""
    refuse_unknown_parameters(request, KNOWN_PARAMETERS, takes="KPIs take")
    form = KpiFilterForm(request.query_params)
    if not form.is_valid():
        raise exceptions.ValidationError({name: list(errors) for name, errors in form.errors.items()})
    return form.query()


class KpiView(AnalyticsAPIView):
    """One KPI: validates the filters, computes over the caller's scope, answers the envelope."""

    renderer_classes = [JSONRenderer]
    compute: Callable[..., dict | list]

    def get(self, request) -> Response:
        query = kpi_query(request)
        figures = type(self).compute(user=request.user, query=query)
        if isinstance(figures, list):
            figures = {"results": figures}
        payload = {
            "from_month": kpis.month_key(query.first_month),
            "to_month": kpis.month_key(query.last_month),
            "product": query.product,
            "as_of": kpis.as_of(user=request.user, query=query),
            **figures,
        }
        return Response(self.get_serializer(payload).data)


def _schema(serializer: type[serializers.Serializer]):
    return extend_schema(tags=["analytics"], parameters=PARAMETERS, responses={200: serializer, **ERRORS})


@_schema(KpiPremiumSerializer)
class PremiumKpiView(KpiView):
    """Premium written (policies whose cover starts in the month, their term's premium) and earned (pro rata for
    the days covered in the month) per product and month, with the exposure in policy-years."""

    serializer_class = KpiPremiumSerializer
    compute = kpis.premium_by_month


@_schema(KpiLossRatioSerializer)
class LossRatioKpiView(KpiView):
    """Loss ratio per product and accident month: paid to date plus outstanding reserves of the claims whose
    incident happened in the month, over the premium earned in the month. Agents get the paid loss ratio only."""

    serializer_class = KpiLossRatioSerializer
    compute = kpis.loss_ratio_by_month


@_schema(KpiFrequencySeveritySerializer)
class FrequencySeverityKpiView(KpiView):
    """Claim frequency (claims per policy-year in force) and severity (mean paid per paid claim; mean incurred per
    claim with a loss) per product and accident month."""

    serializer_class = KpiFrequencySeveritySerializer
    compute = kpis.frequency_severity_by_month


@_schema(KpiCycleTimeSerializer)
class CycleTimeKpiView(KpiView):
    """Time spent in each claim status, from the claim timeline: for every stay that ended in the period (the claim
    moved to another status), its length; count, mean and median hours per status, and per month."""

    serializer_class = KpiCycleTimeSerializer
    compute = kpis.cycle_times


@_schema(KpiStraightThroughSerializer)
class StraightThroughKpiView(KpiView):
    """Straight-through rate per product and report month: claims the decision engine approved or denied without a
    person, over the claims with a final decision, and how many of those later proved fraudulent. Not for agents."""

    serializer_class = KpiStraightThroughSerializer
    compute = kpis.straight_through_by_month
    permission_classes = [HandlerKpiPermission]


@_schema(KpiFraudSerializer)
class FraudKpiView(KpiView):
    """Fraud referral rate (claims reported in the month that were sent to investigation) and hit rate (confirmed
    fraud among referred claims whose investigation concluded) per product and report month. Not for agents."""

    serializer_class = KpiFraudSerializer
    compute = kpis.fraud_by_month
    permission_classes = [HandlerKpiPermission]


@_schema(KpiRenewalSerializer)
class RenewalRetentionKpiView(KpiView):
    """Renewal retention per product and month: of the issued policies whose term ends in the month and that ran
    to their end, the share whose renewal was bound."""

    serializer_class = KpiRenewalSerializer
    compute = kpis.renewal_retention_by_month


@_schema(KpiAgentSerializer)
class AgentKpiView(KpiView):
    """Agent performance over the whole period: per selling agent, policies written, premium written and earned,
    claims, loss ratio and fraud hit rate. An agent sees their own book only."""

    serializer_class = KpiAgentSerializer
    compute = kpis.agent_performance


KPI_VIEWS: dict[str, type[KpiView]] = {
    "premium": PremiumKpiView,
    "loss-ratio": LossRatioKpiView,
    "frequency-severity": FrequencySeverityKpiView,
    "cycle-time": CycleTimeKpiView,
    "straight-through": StraightThroughKpiView,
    "fraud": FraudKpiView,
    "renewal-retention": RenewalRetentionKpiView,
    "agents": AgentKpiView,
}
