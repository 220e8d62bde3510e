from django.db import models


class BatchStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a worker"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    REJECTED = "rejected", "Done, too many rejects"
    FAILED = "failed", "Failed"


class ExtractFormat(models.TextChoices):
    CSV = "csv", "CSV"
    PARQUET = "parquet", "Parquet"
