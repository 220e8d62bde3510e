"""Portal pages of policies: the policy list and page, quote and buy, renewals and lapses, the referral queue.

Thin views over the same selectors (reads, scoped to the user) and services (writes, with the user as actor) the
API uses. A service's refusal is shown on the form with its status (400, or 409 for a state conflict); a form
that is merely incomplete is shown again with 200, as Django does.
"""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.generic import DetailView, ListView, TemplateView

from accounts.access_log import AccessLoggedDetailMixin, AccessLoggedListMixin
from accounts.selectors import customer_profile_list, own_customer_profile
from insurance.core.exceptions import ServiceError
from insurance.core.forms import add_service_error
from insurance.core.roles import Role, has_role, holds_role
from insurance.core.views import RoleRequiredMixin

from . import lifecycle, selectors, services
from .choices import PolicyStatus
from .filters import PolicyFilter
from .forms import (
    RISK_FORMS,
    DecisionForm,
    QuoteForm,
    QuoteStartForm,
    ReasonForm,
    RenewalWindowForm,
)
from .models import Policy

PORTAL_ROLES = (Role.CUSTOMER, Role.AGENT, Role.UNDERWRITER, Role.ADMIN)
SELLING_ROLES = (Role.CUSTOMER, Role.AGENT)
# Agents and staff see other people's policies, so their pages name the customer.
BOOK_ROLES = (Role.AGENT, Role.UNDERWRITER, Role.ADMIN)
STAFF_ROLES = (Role.UNDERWRITER, Role.ADMIN)
# A quote until it is bound: pages call it a quote (with a summary), afterwards a policy (with a schedule).
QUOTE_STATES = frozenset({PolicyStatus.QUOTE, PolicyStatus.REFERRED, PolicyStatus.DECLINED, PolicyStatus.QUOTE_EXPIRED})
DEFAULT_RENEWAL_DAYS = 60
RENEWAL_PAGE_ROWS = 200

# Lifecycle actions staff may take from a policy page: label, whether a reason is required, the service.
STAFF_ACTIONS = {
    "renew": ("Offer a renewal", False, services.policy_offer_renewal),
    "cancel": ("Cancel the policy", True, services.policy_cancel),
    "reinstate": ("Reinstate the policy", True, services.policy_reinstate),
}


def breakdown_lines(policy: Policy) -> list[dict]:
    """The rating breakdown's lines with each coverage's name, for people who do not know the codes."""
    names = {line.coverage.code: line.coverage.name for line in policy.coverage_lines.all()}
    return [
        {**line, "name": names.get(line.get("coverage"), line.get("coverage"))}
        for line in (policy.rating_breakdown or {}).get("lines", [])
    ]


class PolicyObjectMixin:
    """One policy of the user's scope (`selectors.policy_detail`), with what its pages show: another person's
    policy is 404."""

    context_object_name = "policy"

    def get_queryset(self):
        return selectors.policy_detail(user=self.request.user, today=timezone.localdate())


class PolicyListView(RoleRequiredMixin, AccessLoggedListMixin, ListView):
    """Policies and quotes in the user's scope, filtered by status (the API's FilterSet), newest first."""

    allowed_roles = PORTAL_ROLES
    template_name = "policies/policy_list.html"
    context_object_name = "policies"
    paginate_by = 25

    def get_queryset(self):
        self.filterset = PolicyFilter(
            self.request.GET or None, queryset=selectors.policy_summaries(user=self.request.user)
        )
        status = self.filterset.form.fields["status"]
        status.widget = forms.CheckboxSelectMultiple(choices=status.choices)
        return self.filterset.qs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["filter"] = self.filterset
        context["can_quote"] = has_role(self.request.user, *SELLING_ROLES)
        context["show_customer"] = holds_role(self.request.user, *BOOK_ROLES)
        return context


class PolicyDetailView(RoleRequiredMixin, AccessLoggedDetailMixin, PolicyObjectMixin, DetailView):
    """A policy or quote: cover, premium breakdown, instalments, schedule, history, and what the user may do."""

    allowed_roles = PORTAL_ROLES
    template_name = "policies/policy_detail.html"

    def staff_actions(self, failed: str = "", failed_form: forms.Form | None = None) -> list[dict]:
        """The lifecycle actions staff may take now, each with its form (the one that failed keeps its errors)."""
        user = self.request.user
        if not holds_role(user, *STAFF_ROLES):
            return []
        allowed = lifecycle.allowed_actions(self.object.status)
        actions = []
        for name, (label, needs_reason, _service) in STAFF_ACTIONS.items():
            if name in allowed and user.has_perm(f"policies.{name}_policy"):
                form = failed_form if name == failed else (ReasonForm(prefix=name) if needs_reason else forms.Form())
                actions.append({"name": name, "label": label, "needs_reason": needs_reason, "form": form})
        return actions

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, policy = self.request.user, self.object
        context.update(
            breakdown_lines=breakdown_lines(policy),
            can_bind=(
                policy.status == PolicyStatus.QUOTE
                and has_role(user, *SELLING_ROLES)
                and user.has_perm("policies.bind_policy")
            ),
            can_decide=policy.status == PolicyStatus.REFERRED and holds_role(user, *STAFF_ROLES),
            show_customer=holds_role(user, *BOOK_ROLES),
            is_quote=policy.status in QUOTE_STATES,
            today=timezone.localdate(),
        )
        context.setdefault("staff_actions", self.staff_actions())
        return context


class PolicyScheduleView(PolicyDetailView):
    """The policy schedule (or quote summary), a printable page built from the policy record: policies keep no
    uploaded documents of their own."""

    template_name = "policies/policy_schedule.html"


class PolicyActionView(PolicyDetailView):
    """Staff lifecycle actions from the policy page (POST only): offer a renewal, cancel, reinstate."""

    allowed_roles = STAFF_ROLES
    http_method_names = ["post"]

    def post(self, request, pk: int, action: str):
        if action not in STAFF_ACTIONS:
            raise Http404("No such action.")
        if not request.user.has_perm(f"policies.{action}_policy"):
            raise PermissionDenied("Your role may not do this.")
        self.object = self.get_object()
        label, needs_reason, service = STAFF_ACTIONS[action]
        form = ReasonForm(request.POST, prefix=action) if needs_reason else forms.Form(request.POST)
        status = 200
        if form.is_valid():
            arguments = {"reason": form.cleaned_data["reason"]} if needs_reason else {}
            try:
                result = service(actor=request.user, policy=self.object, **arguments)
            except ServiceError as error:
                add_service_error(form, error)
                status = error.status_code
            else:
                if action == "renew":
                    messages.success(request, f"Renewal {result.number} offered at {result.premium} {result.currency}.")
                else:
                    messages.success(request, f"{result.number} is now {result.get_status_display().lower()}.")
                return HttpResponseRedirect(reverse("policies:policy-detail", args=[self.object.pk]))
        actions = self.staff_actions(failed=action, failed_form=form)
        if not any(item["name"] == action for item in actions):  # no longer allowed here: still say why
            actions.append({"name": action, "label": label, "needs_reason": needs_reason, "form": form})
        context = self.get_context_data(object=self.object, staff_actions=actions)
        return self.render_to_response(context, status=status)


class PolicyBindView(RoleRequiredMixin, PolicyObjectMixin, DetailView):
    """Buying a quote: what the customer will pay and when, then one confirmation that binds it."""

    allowed_roles = SELLING_ROLES
    template_name = "policies/policy_bind.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm("policies.bind_policy"):
            raise PermissionDenied("Your role may not bind policies.")
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        # Binding has its own row rule, as in the API: a per-object grant to see a quote never lets its holder buy it.
        return super().get_queryset().restrict(self.request.user, "bind")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        policy = self.object
        context["breakdown_lines"] = breakdown_lines(policy)
        context["is_quote"] = policy.status in QUOTE_STATES
        if policy.status == PolicyStatus.QUOTE:
            context["schedule"] = services.instalment_schedule(
                premium=policy.premium,
                count=policy.instalment_count,
                effective_date=policy.effective_date,
                expiry_date=policy.expiry_date,
                term_months=policy.product.term_months,
            )
        return context

    def post(self, request, pk: int):
        self.object = self.get_object()
        try:
            policy = services.policy_bind(actor=request.user, policy=self.object)
        except ServiceError as error:
            context = self.get_context_data(object=self.object, error=error.message)
            return self.render_to_response(context, status=error.status_code)
        messages.success(request, f"Policy {policy.number} is in force from {policy.effective_date:%Y-%m-%d}.")
        return HttpResponseRedirect(reverse("policies:policy-detail", args=[policy.pk]))


class QuoteCreateView(RoleRequiredMixin, TemplateView):
    """Quote and buy. Step one picks the product (and, for an agent, the customer); step two asks for the risk
    that product insures and prices it through `quote_create`. The quote's page then shows the breakdown and
    the way to buy it."""

    allowed_roles = SELLING_ROLES
    template_name = "policies/quote_create.html"

    def setup_quote(self) -> None:
        user, query = self.request.user, self.request.GET
        products = selectors.products_on_sale(user=user)
        customers = customer_profile_list(user=user) if has_role(user, Role.AGENT) else None
        if customers is None:
            self.customer = own_customer_profile(user=user)
        elif query.get("customer"):
            if not query["customer"].isdigit():
                raise Http404("No such customer.")
            self.customer = get_object_or_404(customers, pk=query["customer"])
        else:
            self.customer = None
        self.start_form = QuoteStartForm(
            query if "product" in query else None,
            products=products,
            customers=customers,
            initial={"customer": self.customer},
        )
        self.product = None
        if self.start_form.is_valid():
            self.product = self.start_form.cleaned_data["product"]
            self.customer = self.start_form.cleaned_data.get("customer", self.customer)
        self.risk_kind = services.RISK_OF_LINE[self.product.line_of_business] if self.product else None

    def risk_initial(self) -> dict:
        """What we already know about the customer, so they need not type it again."""
        profile = self.customer
        if profile is None:
            return {}
        if self.risk_kind == "person":
            return {"full_name": profile.user.get_full_name(), "date_of_birth": profile.date_of_birth}
        if self.risk_kind == "property":
            return {
                "address_line1": profile.address_line1,
                "city": profile.city,
                "postal_code": profile.postal_code,
                "region": profile.region,
            }
        return {}

    def build_forms(self, data=None) -> tuple[QuoteForm, forms.Form]:
        quote_form = QuoteForm(data, product=self.product)
        risk_form = RISK_FORMS[self.risk_kind](data, prefix=self.risk_kind, initial=self.risk_initial())
        return quote_form, risk_form

    def get(self, request, *args, **kwargs):
        self.setup_quote()
        context = self.get_context_data()
        if self.product and self.customer:
            context["quote_form"], context["risk_form"] = self.build_forms()
        return self.render_to_response(context)

    def post(self, request, *args, **kwargs):
        self.setup_quote()
        if not (self.product and self.customer):
            return self.render_to_response(self.get_context_data())
        quote_form, risk_form = self.build_forms(request.POST)
        status = 200
        if quote_form.is_valid() and risk_form.is_valid():
            try:
                policy = services.quote_create(
                    actor=request.user,
                    product=self.product,
                    holder=self.customer.user,
                    **quote_form.service_arguments(),
                    **{self.risk_kind: risk_form.cleaned_data},
                )
            except ServiceError as error:
                add_service_error(quote_form, error, subforms={self.risk_kind: risk_form})
                status = error.status_code
            else:
                messages.success(request, self.outcome_message(policy))
                return HttpResponseRedirect(reverse("policies:policy-detail", args=[policy.pk]))
        context = self.get_context_data(quote_form=quote_form, risk_form=risk_form)
        return self.render_to_response(context, status=status)

    @staticmethod
    def outcome_message(policy: Policy) -> str:
        if policy.status == PolicyStatus.REFERRED:
            return (
                f"Quote {policy.number} was referred to an underwriter. "
                "It can be bought once an underwriter approves it."
            )
        if policy.status == PolicyStatus.DECLINED:
            return f"Quote {policy.number} was declined by the underwriting rules."
        return f"Quote {policy.number}: {policy.premium} {policy.currency}. Check the breakdown, then buy it below."

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            start_form=self.start_form,
            product=self.product,
            customer=self.customer,
            risk_kind=self.risk_kind,
            is_agent=has_role(self.request.user, Role.AGENT),
        )
        if self.product:
            context["included_coverages"] = [c for c in self.product.coverages.all() if c.is_mandatory]
        return context


class RenewalsView(RoleRequiredMixin, TemplateView):
    """An agent's book (or, for staff, every policy): renewals due in the next days, policies in arrears that
    will lapse when their grace period ends, and policies that lapsed in as many days back."""

    allowed_roles = BOOK_ROLES
    template_name = "policies/renewals.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        form = RenewalWindowForm(self.request.GET or None, initial={"days": DEFAULT_RENEWAL_DAYS})
        days = DEFAULT_RENEWAL_DAYS
        if form.is_valid() and form.cleaned_data["days"]:
            days = form.cleaned_data["days"]
        today = timezone.localdate()
        renewals = selectors.renewals_due(user=user, today=today, until=today + timedelta(days=days))
        arrears = selectors.policies_in_arrears(user=user, today=today)
        lapsed = selectors.lapsed_since(user=user, since=today - timedelta(days=days))
        renewal_rows = list(renewals[:RENEWAL_PAGE_ROWS])
        for policy in renewal_rows:
            policy.renewal_status_label = PolicyStatus(policy.renewal_status).label if policy.renewal_status else ""
        arrears_rows = list(arrears[:RENEWAL_PAGE_ROWS])
        for policy in arrears_rows:
            policy.lapses_on = lifecycle.lapses_on(policy.oldest_overdue, policy.product.grace_period_days)
        context.update(
            form=form,
            days=days,
            today=today,
            limit=RENEWAL_PAGE_ROWS,
            renewals=renewal_rows,
            renewals_total=renewals.count(),
            arrears=arrears_rows,
            arrears_total=arrears.count(),
            lapsed=list(lapsed[:RENEWAL_PAGE_ROWS]),
            lapsed_total=lapsed.count(),
        )
        return context


class ReferralQueueView(RoleRequiredMixin, ListView):
    """Referred quotes waiting for an underwriter, oldest first, with the rules that referred them."""

    allowed_roles = STAFF_ROLES
    template_name = "policies/referral_queue.html"
    context_object_name = "referrals"
    paginate_by = 25

    def get_queryset(self):
        return selectors.pending_referrals(user=self.request.user)


class ReferralDecideView(RoleRequiredMixin, PolicyObjectMixin, DetailView):
    """One referred quote: its risk, price and referral reasons, and the decision with a required reason."""

    allowed_roles = STAFF_ROLES
    template_name = "policies/referral_decide.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", DecisionForm())
        context["breakdown_lines"] = breakdown_lines(self.object)
        context["can_decide"] = self.object.status == PolicyStatus.REFERRED
        return context

    def post(self, request, pk: int):
        self.object = self.get_object()
        form = DecisionForm(request.POST)
        status = 200
        if form.is_valid():
            decide = (
                services.referral_approve if form.cleaned_data["decision"] == "approve" else services.referral_decline
            )
            try:
                policy = decide(actor=request.user, policy=self.object, reason=form.cleaned_data["reason"])
            except ServiceError as error:
                add_service_error(form, error)
                status = error.status_code
            else:
                outcome = "approved: it may now be bound" if policy.status == PolicyStatus.QUOTE else "declined"
                messages.success(request, f"Quote {policy.number} {outcome}.")
                return HttpResponseRedirect(reverse("policies:referral-queue"))
        return self.render_to_response(self.get_context_data(object=self.object, form=form), status=status)
