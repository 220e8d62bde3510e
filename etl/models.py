"""Import batches (one row per run of an import) and extract runs (the watermark of incremental extracts)."""

from django.conf import settings
from django.db import models

from insurance.core.models import BaseModel

from .choices import BatchStatus, ExtractFormat


class ImportBatch(BaseModel):
    """One run of an import: the file (by sha256), the mapping, what loaded, what was rejected and who ran it.

    Records it writes carry `import batch <pk>` as the change reason of their history rows.
    """

    file_name = models.CharField(max_length=255)
    upload = models.FileField(
        upload_to="imports/%Y/%m/", max_length=255, blank=True, help_text="The uploaded file, for admin imports."
    )
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    mapping_name = models.CharField(max_length=100)
    mapping = models.JSONField(default=dict, help_text="The mapping as it was applied.")
    status = models.CharField(max_length=10, choices=BatchStatus.choices, default=BatchStatus.PENDING)
    dry_run = models.BooleanField(default=False)
    reject_threshold = models.FloatField(
        default=0.05, help_text="Share of rows that may be rejected before the run counts as failed (0 to 1)."
    )
    rows_read = models.PositiveIntegerField(default=0)
    rows_loaded = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True, help_text="Created, updated and unchanged per record type.")
    rejects = models.FileField(upload_to="imports/rejects/%Y/%m/", max_length=255, blank=True)
    reject_sample = models.JSONField(default=list, blank=True, help_text="The first rejects: row, column, reason.")
    error = models.TextField(blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    scope_owner_field = None  # staff only

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "import batches"

    def __str__(self) -> str:
        return f"Import #{self.pk} {self.file_name} ({self.status})"

    @property
    def change_reason(self) -> str:
        return f"import batch {self.pk}"


class ExtractRun(BaseModel):
    """One extract of a fact table: rows changed after `since` up to `until`; the next run starts at `until`."""

    fact = models.CharField(max_length=20)
    format = models.CharField(max_length=10, choices=ExtractFormat.choices)
    since = models.DateTimeField(null=True, blank=True, help_text="Empty for a full extract.")
    until = models.DateTimeField()
    rows = models.PositiveIntegerField(default=0)
    path = models.CharField(max_length=500)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    scope_owner_field = None

    class Meta:
        ordering = ["-until"]
        indexes = [models.Index(fields=["fact", "format", "until"])]

    def __str__(self) -> str:
        return f"{self.fact} {self.format} to {self.until:%Y-%m-%d %H:%M}"
