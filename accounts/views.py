"""Portal pages of accounts: the home page and customer profiles, scoped like the API."""

from django.views.generic import DetailView, TemplateView

from insurance.core.roles import Role, user_roles
from insurance.core.views import RoleRequiredMixin, ScopedObjectMixin

from . import selectors
from .models import CustomerProfile


class HomeView(TemplateView):
    """Where every signed-in user lands: who they are, their roles and where to go next."""

    template_name = "accounts/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["roles"] = sorted(user_roles(user))
        context["customers"] = selectors.customer_profile_list(user=user)[:50]
        return context


class CustomerProfileDetailView(RoleRequiredMixin, ScopedObjectMixin, DetailView):
    allowed_roles = (Role.CUSTOMER, Role.AGENT, Role.UNDERWRITER, Role.ADMIN)
    model = CustomerProfile
    queryset = CustomerProfile.objects.select_related("user", "agent__user")
    template_name = "accounts/customer_detail.html"
    context_object_name = "profile"
