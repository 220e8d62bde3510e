"""Every read in accounts, always given the user it is for."""

from django.db.models import Q, QuerySet

from .models import CustomerProfile, User

MAX_SEARCH_TERMS = 5


def customer_profile_list(*, user: User, search: str = "") -> QuerySet[CustomerProfile]:
    """Customer profiles the user may see (an agent: their book; staff: everyone), optionally searched.

    Each word of `search` must match the first or last name, username, email or imported customer reference, so
    "ada lovelace" finds Ada Lovelace; a word of digits is a customer number (the profile's id, or part of the
    imported reference).
    """
    queryset = CustomerProfile.objects.restrict(user, "view").select_related("user", "agent__user")
    for term in search.split()[:MAX_SEARCH_TERMS]:
        if term.isdigit():  # a customer number: "3" is customer 3, not everyone with a 3 in their email
            match = Q(pk=int(term)) | Q(external_reference__icontains=term)
        else:
            match = (
                Q(user__first_name__icontains=term)
                | Q(user__last_name__icontains=term)
                | Q(user__username__icontains=term)
                | Q(user__email__icontains=term)
                | Q(external_reference__icontains=term)
            )
        queryset = queryset.filter(match)
    return queryset


def own_customer_profile(*, user: User) -> CustomerProfile | None:
    """The signed-in user's own customer profile, if they have one."""
    return (
        CustomerProfile.objects.restrict(user, "view").filter(user=user).select_related("user", "agent__user").first()
    )
