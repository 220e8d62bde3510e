"""Expiring API tokens of BI service accounts (analytics readers), stored as hashes; customer segmentation runs and
each customer's current segment."""

import hashlib

from django.conf import settings
from django.db import models

from insurance.core.models import BaseModel


def token_hash(token: str) -> str:
    """sha256 is enough: the token is 256 random bits, so there is nothing to guess that a slow hash would protect."""
    return hashlib.sha256(token.encode()).hexdigest()


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


class SegmentationRun(BaseModel):
    """One run of customer segmentation (`manage.py segment_customers`): its parameters, how k was chosen, its
    quality and the segments it found, and who ran it.

    Runs are kept after a later run replaces the assignments, so a segment named in an old report can be traced back
    to the centroids that named it.
    """

    run_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    seed = models.IntegerField(help_text="Random seed of the clustering: the same seed on the same book, the same run.")
    k_requested = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The number of segments asked for; empty when chosen by silhouette."
    )
    k = models.PositiveSmallIntegerField(help_text="The number of segments found.")
    feature_schema_version = models.PositiveSmallIntegerField(help_text="Version of the customer features clustered.")
    customer_count = models.PositiveIntegerField(help_text="Customers segmented.")
    silhouette = models.FloatField(null=True, blank=True, help_text="Silhouette of the chosen clustering (-1 to 1).")
    metrics = models.JSONField(default=dict, blank=True, help_text="Silhouette of each k tried, inertia, timings.")
    segments = models.JSONField(
        default=list, blank=True, help_text="Each segment: label, name, size, mean features and centroid z-scores."
    )

    scope_owner_field = None  # underwriters, admins (book-wide staff)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Segmentation #{self.pk} (k={self.k}, {self.customer_count} customers)"


class CustomerSegment(BaseModel):
    """A customer's current segment (one row per customer, replaced by each run) and the features it was given on.

    The features are book figures, not personal data: they travel in the analytics customers feed.
    """

    customer = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="customer_segment")
    run = models.ForeignKey(SegmentationRun, on_delete=models.PROTECT, related_name="assignments")
    label = models.PositiveSmallIntegerField(help_text="The segment's number in its run (0 is the largest).")
    name = models.CharField(max_length=100, db_index=True, help_text="The segment's name, e.g. 'new low-premium'.")
    tenure_years = models.FloatField(help_text="Years since the customer's first cover started.")
    premium = models.DecimalField(
        max_digits=14, decimal_places=2, help_text="Premium of the customer's policies in force."
    )
    products_held = models.PositiveSmallIntegerField(help_text="Distinct products in force.")
    claim_frequency = models.FloatField(help_text="Claims per year of tenure (tenure counted as at least a year).")
    claim_value = models.DecimalField(
        max_digits=14, decimal_places=2, help_text="Average amount claimed per claim; 0 without claims."
    )

    scope_owner_field = "customer"

    class Meta:
        ordering = ["customer_id"]

    def __str__(self) -> str:
        return f"{self.customer} in {self.name!r}"


class KpiRollup(BaseModel):
    """One refresh of the book-wide KPI rollup (`manage.py refresh_kpis`, hourly on Celery beat): the KPIs' monthly
    sums over the whole book, computed by the same functions as the live KPIs, so book-wide readers get them in
    milliseconds instead of reading a million claims per chart.

    The parts are derived data written in bulk; this row is their audit (who refreshed, when, how long it took).
    A rollup serves only once `finished_at` is set, and only periods inside its months.
    """

    refreshed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    first_month = models.DateField(help_text="The first month the rollup holds (the 1st of that month).")
    last_month = models.DateField(help_text="The last month it holds, inclusive (the 1st of that month).")
    finished_at = models.DateTimeField(null=True, blank=True, db_index=True, help_text="Empty while it is built.")
    seconds = models.FloatField(null=True, blank=True, help_text="How long the refresh took.")
    part_count = models.PositiveIntegerField(default=0, help_text="Parts written (one per KPI family and month).")

    scope_owner_field = None  # book-wide staff

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"KPI rollup #{self.pk} ({self.first_month:%Y-%m} to {self.last_month:%Y-%m})"


class KpiRollupPart(BaseModel):
    """One KPI family's sums for one month of a rollup, keyed as the live KPI cells are (product, currency, agent,
    status); see `reports.rollup` for each family's keys."""

    class Family(models.TextChoices):
        POLICIES = "policies", "Premium and exposure"
        LOSSES = "losses", "Losses by accident month"
        HANDLING = "handling", "Decisions and referrals by report month"
        RENEWALS = "renewals", "Renewals by expiry month"
        STAYS = "stays", "Status stays by the month they ended"

    rollup = models.ForeignKey(KpiRollup, on_delete=models.CASCADE, related_name="parts")
    family = models.CharField(max_length=20, choices=Family.choices)
    month = models.CharField(max_length=7, help_text="YYYY-MM (UTC).")
    sums = models.JSONField(default=dict, help_text="The family's sums for the month, by key.")

    scope_owner_field = None
    history_excluded_fields = ("sums",)

    class Meta:
        ordering = ["rollup_id", "family", "month"]
        constraints = [
            models.UniqueConstraint(fields=["rollup", "family", "month"], name="kpi_rollup_part_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.family} {self.month} of rollup #{self.rollup_id}"


class KpiRollupAgentMonth(BaseModel):
    """One selling agent's sums for one month, currency and product in a rollup: what `kpis._agent_cells` computes
    for a one-month period. Agent performance for a period is their sum, done by the database: a book has thousands
    of agents, too many rows to add up in Python within a request."""

    rollup = models.ForeignKey(KpiRollup, on_delete=models.CASCADE, related_name="agent_months")
    month = models.CharField(max_length=7, help_text="YYYY-MM (UTC).")
    agent_id = models.BigIntegerField(null=True, blank=True, help_text="The agent profile; empty for direct business.")
    agency = models.CharField(max_length=200, blank=True, null=True)
    currency = models.CharField(max_length=3)
    product_code = models.CharField(max_length=40)  # empty on the row of every product together
    policies_written = models.PositiveIntegerField(default=0)
    written_premium = models.DecimalField(max_digits=28, decimal_places=10, default=0)
    earned_premium = models.DecimalField(max_digits=28, decimal_places=10, default=0)
    claims = models.PositiveIntegerField(default=0)
    paid = models.DecimalField(max_digits=28, decimal_places=10, default=0)
    incurred = models.DecimalField(max_digits=28, decimal_places=10, default=0)
    concluded = models.PositiveIntegerField(default=0)
    confirmed_fraud = models.PositiveIntegerField(default=0)

    scope_owner_field = None

    SUMS = (
        "policies_written",
        "written_premium",
        "earned_premium",
        "claims",
        "paid",
        "incurred",
        "concluded",
        "confirmed_fraud",
    )

    class Meta:
        ordering = ["rollup_id", "month", "agent_id"]
        indexes = [models.Index(fields=["rollup", "month", "product_code"], name="kpi_rollup_agent_month_idx")]

    def __str__(self) -> str:
        return f"agent {self.agent_id} {self.month} {self.product_code} of rollup #{self.rollup_id}"
