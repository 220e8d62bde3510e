"""Users, profiles and per-object access grants."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from guardian.managers import UserObjectPermissionManager
from guardian.models import UserObjectPermissionAbstract

from insurance.core.models import BaseModel
from insurance.core.scoping import RestrictedQuerySet

from .choices import DataAccessAction


class UserManager(DjangoUserManager.from_queryset(RestrictedQuerySet)):
    pass


class User(AbstractUser, BaseModel):
    """A person or a system account. Roles are the groups the user belongs to (see `insurance.core.roles`)."""

    is_system = models.BooleanField(
        default=False,
        help_text="A system account (Celery, management commands): cannot log in; named as the actor of its changes.",
    )

    objects = UserManager()

    scope_owner_field = ""  # a user owns their own row; their agent serves it
    history_excluded_fields = ("password", "last_login")

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        ordering = ["username"]
        indexes = [models.Index(fields=["email"])]  # fraud features: other customers sharing an email


class AgentProfile(BaseModel):
    """An agent (or broker) who sells policies and files claims for the customers they serve."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="agent_profile")
    agency = models.CharField(max_length=200)
    licence_number = models.CharField(max_length=50, unique=True)
    phone = models.CharField(max_length=40, blank=True)

    scope_owner_field = "user"
    scope_agent_field = "user"

    class Meta:
        ordering = ["agency", "user__username"]

    def __str__(self) -> str:
        return f"{self.user.get_full_name() or self.user.username} ({self.agency})"


class CustomerProfile(BaseModel):
    """A policyholder's contact details. Personal data: only the customer, their agent and staff see it."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="customer_profile")
    agent = models.ForeignKey(
        AgentProfile,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customers",
        help_text="The agent who serves this customer.",
    )
    phone = models.CharField(max_length=40, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    region = models.CharField(max_length=100, blank=True, help_text="State, province or county.")
    country = models.CharField(max_length=2, default="GB", help_text="ISO 3166-1 alpha-2 code.")
    sex = models.CharField(
        max_length=1,
        choices=[("F", "Female"), ("M", "Male"), ("X", "Other")],
        blank=True,
        help_text="As declared; used only to check that fraud models treat groups fairly.",
    )
    bank_account = models.CharField(max_length=40, blank=True, help_text="Account claim payments are made to.")
    external_reference = models.CharField(
        max_length=40,
        unique=True,
        null=True,
        blank=True,
        help_text="The customer's number in the system they were imported from (the import's natural key).",
    )
    attributes = models.JSONField(
        default=dict, blank=True, help_text="Imported columns with no field of their own, kept as sent."
    )

    scope_owner_field = "user"

    class Meta:
        ordering = ["user__last_name", "user__first_name", "user__username"]
        indexes = [
            models.Index(fields=["postal_code"]),
            models.Index(fields=["phone"]),
            models.Index(fields=["address_line1", "postal_code"]),
            models.Index(fields=["bank_account"]),
        ]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.username


class ObjectAccessGrantManager(UserObjectPermissionManager.from_queryset(RestrictedQuerySet)):
    pass


class ObjectAccessGrant(BaseModel, UserObjectPermissionAbstract):
    """A per-object permission (django-guardian's user object permission) with an expiry and a reason.

    For example a covering underwriter or an auditor given one claim for two weeks. Expired grants stop counting at
    once (`insurance.core.scoping` filters on `expires_at`) and are deleted by a periodic task.
    """

    expires_at = models.DateTimeField(null=True, blank=True, db_index=True, help_text="Empty means no expiry.")
    reason = models.CharField(max_length=255)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ObjectAccessGrantManager()

    scope_owner_field = "user"
    scope_agent_field = "user"

    class Meta(UserObjectPermissionAbstract.Meta):
        abstract = False
        verbose_name = "object access grant"
        indexes = [
            models.Index(fields=["user", "content_type", "object_pk"]),
            models.Index(fields=["content_type", "object_pk"]),
        ]

    def __str__(self) -> str:
        until = f" until {self.expires_at:%Y-%m-%d %H:%M}" if self.expires_at else ""
        return f"{self.user} may {self.permission.codename} {self.content_type.model} #{self.object_pk}{until}"


class DataAccessLog(BaseModel):
    """Who read which claim or personal record, when, how and through which request: the read audit.

    Append-only: written in bulk by `services.record_data_access` and never changed (so its history stays empty; a
    history row would show a tampered entry). One row per object shown, or, for an analytics feed, one row per
    request naming the kind of object and how many rows it returned (`object_id` empty).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=10, choices=DataAccessAction.choices)
    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64, blank=True, help_text="Empty for a feed request (see `count`).")
    count = models.PositiveIntegerField(
        null=True, blank=True, help_text="Rows returned by a feed request; empty for one object or a streamed CSV."
    )
    request_id = models.CharField(max_length=64, blank=True, help_text="X-Request-ID: the matching log lines.")
    path = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "data access log entry"
        verbose_name_plural = "data access log"
        indexes = [
            models.Index(fields=["content_type", "object_id", "created_at"]),  # who read this claim?
            models.Index(fields=["user", "created_at"]),  # what did this person read?
        ]

    def __str__(self) -> str:
        target = f"{self.content_type.model} #{self.object_id}" if self.object_id else self.content_type.model
        return f"{self.user} {self.action} {target}"
