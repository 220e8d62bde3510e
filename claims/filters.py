"""FilterSets shared by the claims API and portal."""

import django_filters

from . import selectors
from .choices import ClaimStatus, LossType
from .models import Claim


class ClaimFilter(django_filters.FilterSet):
    """Claimants and agents filter on the statuses they are shown: an investigation counts as a review for them,
    so filtering cannot reveal one."""

    status = django_filters.ChoiceFilter(choices=ClaimStatus.choices, method="filter_status")
    loss_type = django_filters.ChoiceFilter(choices=LossType.choices)

    class Meta:
        model = Claim
        fields = ["status", "loss_type"]

    def filter_status(self, queryset, name, value):
        if self.request is None or selectors.can_handle(self.request.user):
            return queryset.filter(status=value)
        if value == ClaimStatus.INVESTIGATION:
            return queryset.none()
        if value == ClaimStatus.UNDER_REVIEW:
            return queryset.filter(status__in=[ClaimStatus.UNDER_REVIEW, ClaimStatus.INVESTIGATION])
        return queryset.filter(status=value)
