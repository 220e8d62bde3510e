"""Every read in accounts, always given the user it is for."""

from django.db.models import QuerySet

from .models import CustomerProfile, User


def customer_profile_list(*, user: User, search: str = "") -> QuerySet[CustomerProfile]:
    queryset = CustomerProfile.objects.restrict(user, "view").select_related("user", "agent__user")
    if search:
        queryset = queryset.filter(user__last_name__icontains=search) | queryset.filter(user__email__icontains=search)
    return queryset
