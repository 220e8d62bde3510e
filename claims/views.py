"""Portal pages of claims: the claims a user may see, filing a claim with its documents, a claim's status and
timeline, and the handlers' review queue and work page.

Thin views: reads go through `claims.selectors` with the user, writes through `claims.services` with the user as
actor, and a service's refusal comes back as a form error. What customers and agents are shown follows the claims
API: an investigation looks like a review, and fraud details, notes and reserves stay with the handlers. Every
claim a page shows is recorded in the read audit (accounts.access_log).
"""

from django.contrib import messages
from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import DetailView, FormView, ListView

from accounts.access_log import AccessLoggedDetailMixin, AccessLoggedListMixin
from insurance.core.exceptions import ServiceError
from insurance.core.forms import add_service_error
from insurance.core.roles import Role, has_role
from insurance.core.views import RoleRequiredMixin, ScopedObjectMixin
from policies.selectors import policy_summaries

from . import lifecycle, selectors, services
from .choices import ClaimStatus, DecisionOutcome
from .downloads import document_response
from .filters import ClaimFilter
from .forms import (
    ClaimCreateForm,
    DocumentAddForm,
    DocumentRequestForm,
    FieldVerifyForm,
    PartialApproveForm,
    ReasonForm,
)
from .models import Claim, ExtractedField

PORTAL_ROLES = (Role.CUSTOMER, Role.AGENT, Role.UNDERWRITER, Role.ADMIN)
# Documents a browser shows inline; the others (PDF, TIFF) are downloaded.
INLINE_KINDS = frozenset({"png", "jpeg"})
# Decision reasons claimants and agents never see. What a person wrote when deciding is shown: the timeline and
# the decision email already tell the claimant.
CLAIMANT_HIDDEN_CHECKS = frozenset({"fraud"})


class HandlerRequiredMixin(AccessMixin):
    """Claim handlers only (`selectors.can_handle`): these pages show fraud scores, notes and decision inputs."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not selectors.can_handle(request.user):
            raise PermissionDenied("Only claim handlers may open this page.")
        return super().dispatch(request, *args, **kwargs)


def wants_json(request) -> bool:
    """The upload script (static/js/claim-upload.js) posts with XMLHttpRequest and reads JSON back."""
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


def saved_response(request, url: str):
    """Where to go after an upload: a redirect, or for the upload script the URL in JSON."""
    if wants_json(request):
        return JsonResponse({"ok": True, "redirect": url}, status=201)
    return redirect(url)


def form_errors_json(form) -> JsonResponse:
    errors = {name: [str(message) for message in errors] for name, errors in form.errors.items()}
    return JsonResponse({"ok": False, "errors": errors}, status=400)


def decision_summary(claim: Claim, *, handler: bool) -> dict | None:
    """The latest decision this user may see, with the reasons they may read."""
    decisions = [d for d in claim.decisions.all() if handler or d.outcome != DecisionOutcome.INVESTIGATE]
    if not decisions:
        return None
    latest = decisions[-1]
    hidden = frozenset() if handler else CLAIMANT_HIDDEN_CHECKS
    return {
        "decision": latest,
        "by_person": latest.decided_by_id is not None,
        "reasons": [reason for reason in latest.reasons if reason.get("check") not in hidden],
    }


class ClaimListView(RoleRequiredMixin, AccessLoggedListMixin, ListView):
    """Claims in the user's scope, newest first, filtered by status and loss type (the API's filter)."""

    allowed_roles = PORTAL_ROLES
    template_name = "claims/claim_list.html"
    context_object_name = "claims"
    paginate_by = 25

    def get_queryset(self):
        claims = selectors.claim_list(user=self.request.user).prefetch_related(None)
        self.filterset = ClaimFilter(self.request.GET or None, queryset=claims, request=self.request)
        fields = self.filterset.form.fields
        hidden = set() if selectors.can_handle(self.request.user) else {ClaimStatus.INVESTIGATION}
        # Never offer a status the user is never shown; the blank choice reads as what it does.
        fields["status"].empty_label, fields["loss_type"].empty_label = "Any status", "Any type"
        fields["status"].choices = [choice for choice in ClaimStatus.choices if choice[0] not in hidden]
        if self.filterset.is_bound and not self.filterset.is_valid():
            return claims.none()  # the form says what was wrong; an ignored filter would show everything
        return self.filterset.qs.order_by("-created_at", "-pk")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            filter=self.filterset,
            show_claimant=not has_role(self.request.user, Role.CUSTOMER),
            query=query.urlencode(),
            may_file=has_role(self.request.user, *ClaimCreateView.allowed_roles),
        )
        return context


class ClaimCreateView(RoleRequiredMixin, FormView):
    """First notice of loss, by the customer or their agent, with several documents. Every document is inspected
    before anything is stored; the claim, its documents and its first timeline event are saved together."""

    allowed_roles = (Role.CUSTOMER, Role.AGENT)
    template_name = "claims/claim_form.html"
    form_class = ClaimCreateForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "policies": selectors.fileable_policies(user=self.request.user)}

    def get_initial(self):
        """`?policy=<pk>` preselects a policy. Like every id a page takes, one outside the user's scope is 404; one
        in scope that takes no claim (not in force) is only not preselected."""
        initial = super().get_initial()
        wanted = self.request.GET.get("policy", "")
        if not wanted:
            return initial
        user = self.request.user
        if not wanted.isdecimal() or not policy_summaries(user=user).filter(pk=wanted).exists():
            raise Http404("No such policy among those you may see.")
        initial["policy"] = selectors.fileable_policies(user=user).filter(pk=wanted).first()
        return initial

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "is_agent": has_role(self.request.user, Role.AGENT)}

    def form_valid(self, form):
        try:
            claim = services.claim_submit(actor=self.request.user, **form.submit_arguments())
        except ServiceError as error:
            add_service_error(form, error, aliases=form.SERVICE_ALIASES)
            return self.form_invalid(form)
        documents = len(form.cleaned_data["documents"])
        messages.success(self.request, f"Claim {claim.number} was filed with {documents} document(s).")
        return saved_response(self.request, reverse("claims:claim-detail", args=[claim.pk]))

    def form_invalid(self, form):
        if wants_json(self.request):
            return form_errors_json(form)
        return super().form_invalid(form)


class ClaimDetailView(RoleRequiredMixin, AccessLoggedDetailMixin, ScopedObjectMixin, DetailView):
    """A claim as the user may see it: status, amounts, decision and reason, documents, timeline, and a form to
    answer a request for more documents (POST here adds documents)."""

    allowed_roles = PORTAL_ROLES
    model = Claim
    queryset = Claim.objects.select_related("policy__product", "claimant", "reported_by").prefetch_related(
        "decisions__decided_by"
    )
    template_name = "claims/claim_detail.html"
    context_object_name = "claim"

    def may_add_documents(self, claim: Claim) -> bool:
        """The claims API's rule for adding documents: the permission to report claims, on a claim not closed."""
        return claim.status != ClaimStatus.CLOSED and self.request.user.has_perm("claims.add_claim")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, claim = self.request.user, self.object
        handler = selectors.can_handle(user)
        context.update(
            handler=handler,
            status=lifecycle.shown_status(claim.status, handler=handler),
            decision=decision_summary(claim, handler=handler),
            documents=selectors.claim_documents(user=user, claim=claim).prefetch_related(None),  # no fields here
            timeline=selectors.claim_timeline(user=user, claim=claim),
            open_request=selectors.open_document_request(user=user, claim=claim),
        )
        if self.may_add_documents(claim):
            context.setdefault("upload_form", DocumentAddForm())
        return context

    def post(self, request, *args, **kwargs):
        self.scope_action = "add"  # the row rule the API applies to adding documents
        self.object = claim = self.get_object()
        if not self.may_add_documents(claim):
            raise PermissionDenied("Documents cannot be added to this claim.")
        form = DocumentAddForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                saved = services.document_add(actor=request.user, claim=claim, documents=form.cleaned_data["documents"])
            except ServiceError as error:
                add_service_error(form, error)
            else:
                names = ", ".join(document.original_name for document in saved)
                messages.success(request, f"Thank you: {len(saved)} document(s) added ({names}).")
                return saved_response(request, reverse("claims:claim-detail", args=[claim.pk]))
        if wants_json(request):
            return form_errors_json(form)
        return self.render_to_response(self.get_context_data(upload_form=form))


class DocumentFileView(View):
    """A claim document for those who may see the claim: images inline (the review page shows them), other kinds
    and `?download=1` as an attachment. Sandboxed and never sniffed, like the API's download."""

    def get(self, request, pk: int, document_pk: int):
        if not request.user.has_perm("claims.view_claimdocument"):
            raise PermissionDenied("Your role may not open claim documents.")
        inline_kinds = frozenset() if "download" in request.GET else INLINE_KINDS
        return document_response(user=request.user, claim_pk=pk, document_pk=document_pk, inline_kinds=inline_kinds)


class ReviewQueueView(HandlerRequiredMixin, AccessLoggedListMixin, ListView):
    """Claims waiting for a person, most urgent first, each with its fraud score and top reasons."""

    template_name = "claims/review_queue.html"
    context_object_name = "claims"
    paginate_by = 25
    top_reasons = 3

    def get_queryset(self):
        # Not the API's prefetch of every document, event, note and decision: this page shows none of them.
        return selectors.review_queue(user=self.request.user).prefetch_related(None)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        claims = context["claims"]
        fraud_checked, assessments = selectors.fraud_assessments(user=self.request.user, claims=claims)
        for claim in claims:
            claim.fraud_checked, claim.fraud = fraud_checked, assessments.get(claim.pk)
            claim.fraud_reasons = claim.fraud.reasons[: self.top_reasons] if claim.fraud else []
        return context


class ClaimReviewView(HandlerRequiredMixin, AccessLoggedDetailMixin, ScopedObjectMixin, DetailView):
    """A handler's work page: each document next to its extracted fields (low-confidence ones to confirm or
    correct), the fraud score with its reasons, and the decisions, each with a reason."""

    model = Claim
    queryset = Claim.objects.select_related("policy__product", "claimant", "assigned_handler").prefetch_related(
        "decisions__decided_by"
    )
    template_name = "claims/claim_review.html"
    context_object_name = "claim"

    # action: (form class, form prefix)
    ACTIONS = {
        "approve": (ReasonForm, "approve"),
        "partially_approve": (PartialApproveForm, "partial"),
        "deny": (ReasonForm, "deny"),
        "request_documents": (DocumentRequestForm, "request"),
    }

    def decision_forms(self, bound: dict | None = None) -> dict:
        bound = bound or {}
        return {
            action: bound.get(action) or form_class(prefix=prefix)
            for action, (form_class, prefix) in self.ACTIONS.items()
        }

    def get_context_data(self, *, bound_forms: dict | None = None, bound_field=None, **kwargs):
        context = super().get_context_data(**kwargs)
        user, claim = self.request.user, self.object
        documents = list(selectors.claim_documents(user=user, claim=claim))
        for document in documents:
            document.inline = document.kind in INLINE_KINDS
            for field in document.fields.all():
                if bound_field is not None and bound_field[0] == field.pk:
                    field.form = bound_field[1]
                else:
                    field.form = FieldVerifyForm(prefix=f"field-{field.pk}", initial={"value": field.effective_value})
        fraud_checked, assessments = selectors.fraud_assessments(user=user, claims=[claim])
        fraud = assessments.get(claim.pk)
        allowed = set(lifecycle.allowed_actions(claim.status))
        context.update(
            handler=True,
            status=lifecycle.shown_status(claim.status, handler=True),
            decision=decision_summary(claim, handler=True),
            documents=documents,
            timeline=selectors.claim_timeline(user=user, claim=claim),
            fraud_checked=fraud_checked,
            fraud=fraud,
            may_decide=user.has_perm("claims.decide_claim"),
            forms=self.decision_forms(bound_forms),
            allowed={action: action in allowed for action in self.ACTIONS},
            # A refusal of an action whose form is not shown (the claim moved on meanwhile) is shown on its own.
            refused=[
                error
                for action, form in (bound_forms or {}).items()
                if action not in allowed
                for error in form.non_field_errors()
            ],
        )
        return context

    def post(self, request, *args, **kwargs):
        self.scope_action = "decide"  # the row rule the API applies to decisions and field checks
        self.object = claim = self.get_object()
        if not request.user.has_perm("claims.decide_claim"):
            raise PermissionDenied("Your role may not decide claims.")
        action = request.POST.get("action", "")
        if action == "verify_field":
            return self.verify_field(claim)
        if action not in self.ACTIONS:
            return HttpResponseBadRequest("Unknown action.")
        form_class, prefix = self.ACTIONS[action]
        form = form_class(request.POST, prefix=prefix)
        if form.is_valid():
            try:
                claim = self.decide(action, claim, form.cleaned_data)
            except ServiceError as error:
                add_service_error(form, error)
            else:
                label = ClaimStatus(claim.status).label.lower()
                done = "Documents requested" if action == "request_documents" else f"Claim is now {label}"
                messages.success(request, f"{claim.number}: {done}.")
                return redirect("claims:claim-review", pk=claim.pk)
        return self.render_to_response(self.get_context_data(bound_forms={action: form}))

    def decide(self, action: str, claim: Claim, data: dict) -> Claim:
        actor = self.request.user
        if action == "approve":
            return services.claim_approve(actor=actor, claim=claim, reason=data["reason"])
        if action == "partially_approve":
            return services.claim_approve(actor=actor, claim=claim, reason=data["reason"], amount=data["amount"])
        if action == "deny":
            return services.claim_deny(actor=actor, claim=claim, reason=data["reason"])
        return services.claim_request_documents(actor=actor, claim=claim, message=data["message"])

    def verify_field(self, claim: Claim):
        try:
            field = selectors.claim_field(user=self.request.user, claim=claim, field_pk=int(self.request.POST["field"]))
        except (KeyError, ValueError, ExtractedField.DoesNotExist):
            raise Http404("No such field on this claim.") from None
        form = FieldVerifyForm(self.request.POST, prefix=f"field-{field.pk}")
        if form.is_valid():
            field = services.field_verify(actor=self.request.user, field=field, value=form.cleaned_data["value"])
            messages.success(self.request, f"{field.name} recorded as {field.verified_value}.")
            return redirect("claims:claim-review", pk=claim.pk)
        return self.render_to_response(self.get_context_data(bound_field=(field.pk, form)))
