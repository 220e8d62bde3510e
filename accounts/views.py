"""Portal pages of accounts: the user's own profile, an agent's book of customers, and a customer's details.

The home page of each role is in reports (it reads policies and claims too); log in, log out and the password
pages are Django's auth views (accounts/auth_urls.py and templates/registration/).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.views.generic import DetailView, ListView, TemplateView

from insurance.core.exceptions import ServiceError
from insurance.core.forms import add_service_error
from insurance.core.roles import Role, has_role, user_roles
from insurance.core.scoping import is_unrestricted
from insurance.core.views import RoleRequiredMixin, ScopedObjectMixin

from . import selectors, services
from .access_log import AccessLoggedDetailMixin, AccessLoggedListMixin
from .forms import CustomerContactForm, CustomerSearchForm
from .models import CustomerProfile

# Who may open the customer 360 page (reports:customer-360), for the link to it.
CUSTOMER_360_ROLES = (Role.AGENT, Role.UNDERWRITER, Role.ADMIN)


class ProfileView(TemplateView):
    """Your profile. A customer sees and edits their contact details and address (written by
    `customer_profile_update`, with a history row naming them); other roles see their account details."""

    template_name = "accounts/profile.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        profile = self.customer_profile()
        context.update(
            roles=sorted(user_roles(user)),
            profile=profile,
            agent_profile=getattr(user, "agent_profile", None) if has_role(user, Role.AGENT) else None,
        )
        if profile is not None and "form" not in context:
            context["form"] = CustomerContactForm.for_profile(profile)
        return context

    def customer_profile(self) -> CustomerProfile | None:
        if not has_role(self.request.user, Role.CUSTOMER):
            return None
        return selectors.own_customer_profile(user=self.request.user)

    def post(self, request, *args, **kwargs):
        profile = self.customer_profile()
        if profile is None:
            raise PermissionDenied("Only customers edit their contact details here.")
        form = CustomerContactForm.for_profile(profile, data=request.POST)
        if form.is_valid():
            changes = form.changes()
            if not changes:
                messages.info(request, "Nothing was changed.")
                return redirect("accounts:profile")
            try:
                services.customer_profile_update(actor=request.user, profile=profile, **changes)
            except (ServiceError, ValidationError) as error:
                add_service_error(form, error)
            else:
                messages.success(request, "Your details have been saved.")
                return redirect("accounts:profile")
        return self.render_to_response(self.get_context_data(form=form), status=400)


class CustomerListView(RoleRequiredMixin, AccessLoggedListMixin, ListView):
    """An agent's book of customers (underwriters and admins: every customer), searched by name, email or number."""

    allowed_roles = (Role.AGENT, Role.UNDERWRITER, Role.ADMIN)
    template_name = "accounts/customer_list.html"
    context_object_name = "customers"
    paginate_by = 25

    def get_queryset(self):
        self.search_form = CustomerSearchForm(self.request.GET or None)
        search = self.search_form.cleaned_data["q"] if self.search_form.is_valid() else ""
        self.search = search.strip()
        return selectors.customer_profile_list(user=self.request.user, search=self.search)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(search_form=self.search_form, search=self.search, whole_book=is_unrestricted(self.request.user))
        return context


class CustomerProfileDetailView(RoleRequiredMixin, AccessLoggedDetailMixin, ScopedObjectMixin, DetailView):
    allowed_roles = (Role.CUSTOMER, Role.AGENT, Role.UNDERWRITER, Role.ADMIN)
    model = CustomerProfile
    queryset = CustomerProfile.objects.select_related("user", "agent__user")
    template_name = "accounts/customer_detail.html"
    context_object_name = "profile"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["shows_360"] = has_role(self.request.user, *CUSTOMER_360_ROLES)
        return context
