"""Portal pages of reports: the role home pages, the customer 360 view and the KPI dashboard."""

from django.http import Http404
from django.utils import timezone
from django.views.generic import TemplateView

from accounts.choices import DataAccessAction
from accounts.models import CustomerProfile
from accounts.services import record_data_access
from insurance.core.roles import Role
from insurance.core.views import RoleRequiredMixin

from . import kpis, portal
from .dashboard import charts
from .forms import KpiFilterForm


class KpiDashboardView(RoleRequiredMixin, TemplateView):
    """KPIs over time as charts, each with its data table, filtered by product and period. The figures are computed
    here with the same functions as the KPI API, so the page needs no API token and works without JavaScript (the
    tables); agents and customers get 403, analytics readers are confined to the API."""

    allowed_roles = (Role.UNDERWRITER, Role.ADMIN)
    template_name = "reports/dashboard.html"

    def get(self, request, *args, **kwargs):
        form = KpiFilterForm(request.GET)
        context = self.get_context_data(
            form=form,
            products=kpis.kpi_products(user=request.user),
            # What the filters show: as sent while they are wrong, the period chosen once they are right.
            selected_product=form.data.get("product", ""),
            from_month=form.data.get("from_month", ""),
            to_month=form.data.get("to_month", ""),
        )
        if not form.is_valid():
            return self.render_to_response(context, status=400)
        query = form.query()
        context.update(
            query=query,
            charts=charts(user=request.user, query=query),
            agents=kpis.agent_performance(user=request.user, query=query),
            as_of=kpis.as_of(user=request.user, query=query),
            from_month=kpis.month_key(query.first_month),
            to_month=kpis.month_key(query.last_month),
        )
        context["chart_specs"] = [chart.as_json() for chart in context["charts"]]
        return self.render_to_response(context)


HOME_TEMPLATES = {
    "customer": "reports/home_customer.html",
    "agent": "reports/home_agent.html",
    "staff": "reports/home_staff.html",
    "none": "reports/home_none.html",
}


class HomeView(TemplateView):
    """Where every signed-in user lands: the page made for their role (`portal.home_kind`), with the few things
    that role does every day; a user with no role yet gets a page saying whom to ask."""

    def get_template_names(self) -> list[str]:
        return [HOME_TEMPLATES[portal.home_kind(self.request.user)]]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        today = timezone.localdate()
        kind = portal.home_kind(user)
        context.update(today=today, home_kind=kind)
        if kind == "customer":
            context.update(portal.customer_home(user=user, today=today))
        elif kind == "agent":
            context.update(portal.agent_home(user=user, today=today))
        elif kind == "staff":
            context.update(portal.staff_home(user=user))
        return context


class Customer360View(RoleRequiredMixin, TemplateView):
    """One customer on one page for their agent and for staff: policies, claims, payments, premiums due, segment
    and renewals due. Another agent's customer is 404 (the profile is out of the viewer's scope)."""

    allowed_roles = (Role.AGENT, Role.UNDERWRITER, Role.ADMIN)
    template_name = "reports/customer_360.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            profile = portal.customer_for_360(user=self.request.user, pk=self.kwargs["pk"])
        except CustomerProfile.DoesNotExist:
            raise Http404("No such customer.") from None
        today = timezone.localdate()
        context.update(profile=profile, today=today)
        context.update(portal.customer_360(user=self.request.user, profile=profile, today=today))
        # The read audit: the customer, and the claims the page lists.
        record_data_access(actor=self.request.user, action=DataAccessAction.VIEW, objects=[profile])
        record_data_access(actor=self.request.user, action=DataAccessAction.LIST, objects=context["claims"].rows)
        return context
