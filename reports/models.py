"""Expiring API tokens of BI service accounts (analytics readers), stored as hashes."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from insurance.core.models import BaseModel


class AnalyticsToken(BaseModel):
    """A token a BI tool (Tableau, Power BI) sends as `Authorization: Token <token>`.

    Only its sha256 is kept: the token itself is shown once, when it is issued. It expires, can be revoked, and
    reaches only the analytics API, whatever roles its user holds (`confines_to_analytics`).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="analytics_tokens")
    name = models.CharField(max_length=100, blank=True, help_text="What it is for, e.g. 'Power BI finance'.")
    prefix = models.CharField(
        max_length=12, db_index=True, help_text="The token's first characters, to recognise it in a BI tool's settings."
    )
    key_hash = models.CharField(max_length=64, unique=True, help_text="sha256 of the token.")
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoke_reason = models.CharField(max_length=255, blank=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    scope_owner_field = None  # admins only
    history_excluded_fields = ("key_hash",)
    confines_to_analytics = True

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
