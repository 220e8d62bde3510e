"""The Celery app. Configuration comes from Django settings (`CELERY_*`); tasks are autodiscovered in each app.

Every task runs as a named system account (see `insurance.core.audit`), so the history rows it writes have an actor.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "insurance.settings.local")

app = Celery("insurance", task_cls="insurance.core.tasks:AuditedTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
