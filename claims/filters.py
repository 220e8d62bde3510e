"""FilterSets shared by the claims API and portal."""

import django_filters

from . import selectors
from .choices import ClaimStatus, LossType
from .models import Claim


def filter_shown_status(queryset, value: str, *, sees_investigations: bool):
    """Claims in status `value` as the user is shown them: for those who may not see investigations (claimants,
    agents) an investigation is a review, so a status filter can neither find one nor tell one apart."""
    if sees_investigations:
        return queryset.filter(status=value)
    if value == ClaimStatus.INVESTIGATION:
        return queryset.none()
    if value == ClaimStatus.UNDER_REVIEW:
        return queryset.filter(status__in=[ClaimStatus.UNDER_REVIEW, ClaimStatus.INVESTIGATION])
    return queryset.filter(status=value)


class ClaimFilter(django_filters.FilterSet):
    """Claimants and agents filter on the statuses they are shown: an investigation counts as a review for them,
    so filtering cannot reveal one."""

    status = django_filters.ChoiceFilter(choices=ClaimStatus.choices, method="filter_status")
    loss_type = django_filters.ChoiceFilter(choices=LossType.choices)

    class Meta:
        model = Claim
        fields = ["status", "loss_type"]

    def filter_status(self, queryset, name, value):
        sees = self.request is None or selectors.can_handle(self.request.user)
        return filter_shown_status(queryset, value, sees_investigations=sees)
