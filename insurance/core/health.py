"""Health checks reported by `/health/`. Apps add their own (tesseract, fraud model drift) with `register`."""

import shutil
from collections.abc import Callable

from django.conf import settings
from django.db import connection

HealthResult = dict  # {"ok": bool, "detail": str, ...}
_checks: dict[str, Callable[[], HealthResult]] = {}


def register(name: str) -> Callable:
    """Decorator: add a named check. A check returns {"ok": bool, "detail": str} and must not raise."""

    def decorator(check: Callable[[], HealthResult]) -> Callable[[], HealthResult]:
        _checks[name] = check
        return check

    return decorator


def run_checks() -> dict[str, HealthResult]:
    results = {}
    for name, check in _checks.items():
        try:
            results[name] = check()
        except Exception as exc:  # a failing check is reported, never raised
            results[name] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
    return results


@register("database")
def database() -> HealthResult:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "detail": connection.vendor}


@register("broker")
def broker() -> HealthResult:
    from insurance.celery import app

    if app.conf.task_always_eager:
        return {"ok": True, "detail": "no broker configured: tasks run eagerly in process"}
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True, "detail": conn.as_uri()}


@register("ocr")
def ocr() -> HealthResult:
    """Tesseract is optional at start-up; without it documents are marked unreadable with that reason."""
    path = shutil.which(getattr(settings, "TESSERACT_CMD", "tesseract"))
    if path:
        return {"ok": True, "detail": path}
    return {"ok": True, "degraded": True, "detail": "tesseract not installed: apt-get install tesseract-ocr"}
