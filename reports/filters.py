"""FilterSets of the analytics feeds. Dates are ranges (`<date>_after` inclusive, `<date>_before` exclusive), every
feed takes `updated_after` for incremental refresh, and the facts joined to a policy filter by product, line of
business, region and agent. A parameter no FilterSet names is refused (400) by the view, never ignored."""

from typing import ClassVar

import django_filters

from accounts.models import User
from claims.choices import ClaimStatus, LossType
from claims.filters import filter_shown_status
from claims.models import Claim, Payment, ReserveChange
from fraud.choices import RiskBand, ScoreMethod
from fraud.models import FraudScore
from insurance.core.filters import InstantFilter
from policies.choices import InstalmentStatus, LineOfBusiness, PolicyStatus
from policies.models import Instalment, Policy

from .selectors import sees_handler_columns


def moment_range(name: str, field: str, what: str) -> dict[str, django_filters.Filter]:
    return {
        f"{name}_after": InstantFilter(
            field_name=field, lookup_expr="gte", help_text=f"{what} at or after this instant (ISO-8601; UTC if naive)."
        ),
        f"{name}_before": InstantFilter(
            field_name=field, lookup_expr="lt", help_text=f"{what} before this instant (ISO-8601; UTC if naive)."
        ),
    }


def date_range(name: str, field: str, what: str) -> dict[str, django_filters.Filter]:
    return {
        f"{name}_after": django_filters.DateFilter(
            field_name=field, lookup_expr="gte", help_text=f"{what} on or after this date (YYYY-MM-DD)."
        ),
        f"{name}_before": django_filters.DateFilter(
            field_name=field, lookup_expr="lt", help_text=f"{what} before this date (YYYY-MM-DD)."
        ),
    }


def policy_filters(prefix: str) -> dict[str, django_filters.Filter]:
    """Product, line of business, region and agent, through the policy at `prefix`."""
    return {
        "product": django_filters.CharFilter(field_name=f"{prefix}product__code", help_text="Product code."),
        "line_of_business": django_filters.ChoiceFilter(
            field_name=f"{prefix}product__line_of_business", choices=LineOfBusiness.choices, help_text="Line."
        ),
        "region": django_filters.CharFilter(
            field_name=f"{prefix}holder__customer_profile__region", help_text="The policyholder's region, exactly."
        ),
        "agent": django_filters.NumberFilter(
            field_name=f"{prefix}agent_id", help_text="The selling agent's id (the rows' `agent_id`)."
        ),
    }


class FactFilter(django_filters.FilterSet):
    """The filters every feed shares; `policy_path` adds the policy's filters, `extra_filters` a feed's own."""

    policy_path: ClassVar[str | None] = None
    extra_filters: ClassVar[dict[str, django_filters.Filter]] = {}

    updated_after = InstantFilter(
        field_name="updated_at",
        lookup_expr="gt",
        help_text="Rows changed after this instant (ISO-8601), for incremental refresh: pass the `as_of` of the "
        "previous refresh, minus a few minutes for transactions that committed late.",
    )

    @classmethod
    def get_filters(cls):
        filters = super().get_filters()
        if cls.policy_path is not None:
            filters.update(policy_filters(cls.policy_path))
        filters.update(cls.extra_filters)
        return filters


class ClaimFactFilter(FactFilter):
    policy_path = "policy__"
    extra_filters = {
        **moment_range("incident", "incident_at", "Incidents"),
        **moment_range("reported", "reported_at", "Claims reported"),
        **moment_range("created", "created_at", "Claims created"),
    }

    status = django_filters.ChoiceFilter(choices=ClaimStatus.choices, method="filter_status")
    loss_type = django_filters.ChoiceFilter(choices=LossType.choices)

    class Meta:
        model = Claim
        fields = ["status", "loss_type"]

    def filter_status(self, queryset, name, value):
        """Agents filter on what they are shown: an investigation counts as a review, so a filter cannot reveal it."""
        sees = self.request is None or sees_handler_columns(self.request.user)
        return filter_shown_status(queryset, value, sees_investigations=sees)


class PolicyFactFilter(FactFilter):
    policy_path = ""
    extra_filters = {
        **date_range("effective", "effective_date", "Cover starting"),
        **date_range("expiry", "expiry_date", "Cover ending"),
        **moment_range("created", "created_at", "Quotes created"),
    }

    status = django_filters.ChoiceFilter(choices=PolicyStatus.choices)

    class Meta:
        model = Policy
        fields = ["status"]


class InstalmentFactFilter(FactFilter):
    policy_path = "policy__"
    extra_filters = {
        **date_range("due", "due_date", "Instalments due"),
        **moment_range("paid", "paid_at", "Instalments paid"),
    }

    status = django_filters.ChoiceFilter(choices=InstalmentStatus.choices)

    class Meta:
        model = Instalment
        fields = ["status"]


class PaymentFactFilter(FactFilter):
    policy_path = "claim__policy__"
    extra_filters = moment_range("paid", "created_at", "Payments made")

    class Meta:
        model = Payment
        fields: ClassVar[list[str]] = []


class ReserveFactFilter(FactFilter):
    policy_path = "claim__policy__"
    extra_filters = moment_range("created", "created_at", "Reserve movements")

    class Meta:
        model = ReserveChange
        fields: ClassVar[list[str]] = []


class FraudScoreFactFilter(FactFilter):
    policy_path = "claim__policy__"
    extra_filters = moment_range("created", "created_at", "Scores given")

    risk_band = django_filters.ChoiceFilter(choices=RiskBand.choices)
    method = django_filters.ChoiceFilter(choices=ScoreMethod.choices)
    model_key = django_filters.CharFilter(help_text="'v7' for model version 7, 'rules-1' for the rule-based score.")

    class Meta:
        model = FraudScore
        fields = ["risk_band", "method", "model_key"]


class CustomerFactFilter(FactFilter):
    """Customers by region, agent and segment, and by the products they hold (a bound policy of that product or
    line, whatever its state now)."""

    extra_filters = moment_range("created", "created_at", "Customers created")

    updated_after = InstantFilter(
        field_name="row_updated_at",
        lookup_expr="gt",
        help_text="Customers whose profile or segment changed after this instant (ISO-8601), for incremental refresh.",
    )
    region = django_filters.CharFilter(
        field_name="customer_profile__region", help_text="The customer's region, exactly."
    )
    agent = django_filters.NumberFilter(
        field_name="customer_profile__agent_id", help_text="The serving agent's id (the rows' `agent_id`)."
    )
    segment = django_filters.CharFilter(field_name="customer_segment__name", help_text="The segment's name, exactly.")
    product = django_filters.CharFilter(method="filter_policies", help_text="Customers with a policy of this product.")
    line_of_business = django_filters.ChoiceFilter(
        choices=LineOfBusiness.choices, method="filter_policies", help_text="Customers with a policy in this line."
    )

    class Meta:
        model = User
        fields: ClassVar[list[str]] = []

    def filter_policies(self, queryset, name, value):
        """A subquery, not a join: a customer with two matching policies is still one row."""
        path = {"product": "product__code", "line_of_business": "product__line_of_business"}[name]
        holders = Policy.objects.filter(bound_at__isnull=False, **{path: value}).values("holder_id")
        return queryset.filter(pk__in=holders)
