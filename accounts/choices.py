"""Choices of accounts."""

from django.db import models


class DataAccessAction(models.TextChoices):
    """How a person read a claim or personal record (`DataAccessLog.action`)."""

    VIEW = "view", "Viewed"
    LIST = "list", "Listed"
    DOWNLOAD = "download", "Downloaded"
    EXPORT = "export", "Exported (an analytics feed)"
