from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from insurance.core.admin import AuditedModelAdmin, ReadOnlyModelAdmin
from insurance.core.exceptions import ServiceError

from . import services
from .access_log import AccessLoggedAdminMixin
from .models import AgentProfile, CustomerProfile, DataAccessLog, ObjectAccessGrant, User
from .services import check_grant


@admin.register(User)
class AuditedUserAdmin(UserAdmin, AuditedModelAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "is_system", "is_active")
    list_filter = ("groups", "is_staff", "is_system", "is_active")
    readonly_fields = ("created_at", "updated_at", "last_login", "date_joined", "is_system")
    fieldsets = (*UserAdmin.fieldsets, ("System", {"fields": ("is_system", "created_at", "updated_at")}))


@admin.register(AgentProfile)
class AgentProfileAdmin(AuditedModelAdmin):
    list_display = ("user", "agency", "licence_number", "phone")
    search_fields = ("user__username", "user__last_name", "agency", "licence_number")
    autocomplete_fields = ("user",)


@admin.register(CustomerProfile)
class CustomerProfileAdmin(AccessLoggedAdminMixin, AuditedModelAdmin):
    list_display = ("user", "agent", "city", "region", "country", "date_of_birth")
    list_filter = ("country", "region", "agent")
    search_fields = ("user__username", "user__last_name", "user__email", "phone", "postal_code")
    autocomplete_fields = ("user", "agent")


class ObjectAccessGrantForm(forms.ModelForm):
    """The admin may only create grants the service would: view or change, on a real object, with an expiry."""

    class Meta:
        model = ObjectAccessGrant
        fields = ("user", "content_type", "object_pk", "permission", "expires_at", "reason")

    def clean(self):
        data = super().clean()
        permission, content_type = data.get("permission"), data.get("content_type")
        if permission and content_type and permission.content_type_id != content_type.pk:
            raise forms.ValidationError("The permission belongs to another kind of object.")
        if content_type and data.get("object_pk"):
            model = content_type.model_class()
            if model is None or not model._default_manager.filter(pk=data["object_pk"]).exists():
                raise forms.ValidationError("No such object.")
        action = permission.codename.split("_", 1)[0] if permission else ""
        try:
            check_grant(actions=[action], expires_at=data.get("expires_at"), reason=data.get("reason", ""))
        except ServiceError as error:
            raise forms.ValidationError(error.message) from None
        return data


@admin.register(ObjectAccessGrant)
class ObjectAccessGrantAdmin(AuditedModelAdmin):
    form = ObjectAccessGrantForm
    list_display = ("user", "permission", "content_type", "object_pk", "expires_at", "granted_by", "reason")
    list_filter = ("content_type", "expires_at")
    search_fields = ("user__username", "object_pk", "reason")
    autocomplete_fields = ("user", "granted_by")
    readonly_fields = ("created_at", "updated_at", "granted_by")

    def save_model(self, request, obj, form, change) -> None:
        """A new grant goes through the service (the one place grants are made); edits save as usual."""
        if change:
            super().save_model(request, obj, form, change)
            return
        target = obj.content_type.get_object_for_this_type(pk=obj.object_pk)
        (grant,) = services.object_access_grant(
            actor=request.user,
            user=obj.user,
            obj=target,
            actions=[obj.permission.codename.split("_", 1)[0]],
            expires_at=obj.expires_at,
            reason=obj.reason,
        )
        obj.pk = grant.pk
        obj.granted_by = grant.granted_by


@admin.register(DataAccessLog)
class DataAccessLogAdmin(ReadOnlyModelAdmin):
    """The read audit, for reading only: no one adds, changes or deletes an entry, not even an administrator."""

    list_display = ("created_at", "user", "action", "content_type", "object_id", "count", "path", "request_id")
    list_filter = ("action", "content_type")
    search_fields = ("user__username", "object_id", "request_id")
    list_select_related = ("user", "content_type")
    date_hierarchy = "created_at"

    def has_change_permission(self, request, obj=None) -> bool:
        return False
