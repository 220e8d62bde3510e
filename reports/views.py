"""Portal pages of reports: the KPI dashboard for underwriters and admins."""

from django.views.generic import TemplateView

from insurance.core.roles import Role
from insurance.core.views import RoleRequiredMixin

from . import kpis
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
