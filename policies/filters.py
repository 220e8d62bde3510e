"""FilterSets shared by the policies API and portal."""

import django_filters

from .choices import LineOfBusiness, PolicyStatus
from .models import Policy


class PolicyFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=PolicyStatus.choices)
    product = django_filters.CharFilter(field_name="product__code")
    line_of_business = django_filters.ChoiceFilter(
        field_name="product__line_of_business", choices=LineOfBusiness.choices
    )
    effective_after = django_filters.DateFilter(field_name="effective_date", lookup_expr="gte")
    effective_before = django_filters.DateFilter(field_name="effective_date", lookup_expr="lte")
    expiring_before = django_filters.DateFilter(field_name="expiry_date", lookup_expr="lte")
    holder = django_filters.NumberFilter(field_name="holder_id")

    class Meta:
        model = Policy
        fields = ["status", "product", "line_of_business", "holder"]
