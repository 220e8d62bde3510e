"""Admin base classes: history on every model, and admin actions that call services (with a reason)."""

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from simple_history.admin import SimpleHistoryAdmin

from .exceptions import ServiceError


class AuditedModelAdmin(SimpleHistoryAdmin):
    """Every project model's admin: shows history, and timestamps read-only."""

    readonly_fields: tuple[str, ...] = ("created_at", "updated_at")

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        """History is for reading. simple-history's revert (a POST here) would write past the services, their row
        locks, checks and timeline, so it is refused whatever the template shows."""
        if request.method == "POST":
            raise PermissionDenied("History is read-only; change records through their actions.")
        return super().history_form_view(request, object_id, version_id, extra_context)


class ReadOnlyInline(admin.TabularInline):
    """An inline that shows, never edits: these rows change only through their owner's services."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyModelAdmin(AuditedModelAdmin):
    """The admin of a model that changes only through services: browse, search and see its history."""

    def get_readonly_fields(self, request, obj=None):
        hidden = set(self.exclude or ())
        return [field.name for field in self.model._meta.fields if field.name not in hidden]

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=255,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text="Recorded with the change and shown on the timeline.",
    )


def service_action(
    service: Callable,
    *,
    description: str,
    permission: str,
    object_argument: str = "policy",
    needs_reason: bool = True,
) -> Callable:
    """An admin action that calls `service(actor=request.user, <object_argument>=obj[, reason=...])` for each
    selected object. With `needs_reason` it first asks for the reason on an intermediate page. Refusals (409, 400)
    are reported per object; the others still go through."""

    def run(modeladmin, request, queryset):
        reason = None
        if needs_reason:
            form = ReasonForm(request.POST if "apply" in request.POST else None)
            if not form.is_valid():
                return TemplateResponse(
                    request,
                    "admin/action_with_reason.html",
                    {
                        **modeladmin.admin_site.each_context(request),
                        "title": description,
                        "objects": queryset,
                        "form": form,
                        "action": request.POST.get("action"),
                        "opts": modeladmin.model._meta,
                        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                    },
                )
            reason = form.cleaned_data["reason"]
        done = 0
        for obj in queryset:
            kwargs = {"actor": request.user, object_argument: obj}
            if reason is not None:
                kwargs["reason"] = reason
            try:
                service(**kwargs)
                done += 1
            except ServiceError as error:
                modeladmin.message_user(request, f"{obj}: {error.message}", messages.ERROR)
        if done:
            modeladmin.message_user(request, f"{description}: {done} done.", messages.SUCCESS)
        return None

    run.__name__ = service.__name__
    return admin.action(description=description, permissions=[permission])(run)
