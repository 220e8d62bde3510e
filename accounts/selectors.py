"""Every read in accounts, always given the user it is for."""

from django.db.models import QuerySet

from .models import AgentProfile, CustomerProfile, User


def customer_profile_list(*, user: User, search: str = "") -> QuerySet[CustomerProfile]:
    queryset = CustomerProfile.objects.restrict(user, "view").select_related("user", "agent__user")
    if search:
        queryset = queryset.filter(user__last_name__icontains=search) | queryset.filter(user__email__icontains=search)
    return queryset


def agent_profile_list(*, user: User) -> QuerySet[AgentProfile]:
    return AgentProfile.objects.restrict(user, "view").select_related("user")


def customers_of_agent(*, user: User, agent: AgentProfile) -> QuerySet[CustomerProfile]:
    return customer_profile_list(user=user).filter(agent=agent)
