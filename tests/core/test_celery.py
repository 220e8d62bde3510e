"""Celery: configuration, eager tasks audited as the system account, and a real worker on a real broker."""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from accounts import services
from accounts.models import ObjectAccessGrant
from accounts.tasks import revoke_expired_object_grants
from insurance.celery import app

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_celery_is_configured_for_safe_delivery():
    conf = app.conf
    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert list(conf.accept_content) == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    assert "accounts.tasks.revoke_expired_object_grants" in app.tasks


def test_every_beat_entry_names_a_task_the_worker_registers():
    app.loader.import_default_modules()  # what a worker does at start: autodiscover each app's tasks module
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {"fraud.periodic.weekly_retrain", "fraud.periodic.daily_monitoring"} <= scheduled
    assert scheduled - set(app.tasks) == set()


def _expired_grant(personas) -> ObjectAccessGrant:
    grant = services.object_access_grant(
        actor=personas.admin,
        user=personas.outsider,
        obj=personas.bob.customer_profile,
        expires_at=timezone.now() + timedelta(hours=1),
        reason="audit",
    )[0]
    ObjectAccessGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    return grant


@pytest.mark.django_db
def test_an_eager_task_records_the_celery_account_as_actor(personas):
    grant = _expired_grant(personas)
    assert revoke_expired_object_grants.delay().get() == 1
    deletion = ObjectAccessGrant.history.get(id=grant.pk, history_type="-")
    assert deletion.history_user.username == "system-celery"


def _broker_answers(url: str) -> bool:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.postgres
@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task_from_the_broker_and_records_the_actor(personas, settings):
    broker_url = settings.CELERY_TEST_BROKER_URL
    if not _broker_answers(broker_url):
        if os.environ.get("REQUIRE_BROKER"):
            pytest.fail(f"no Celery broker answers at {broker_url} (REQUIRE_BROKER is set)")
        pytest.skip(f"no Celery broker answers at {broker_url}")
    grant = _expired_grant(personas)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "insurance.settings.local",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker_url,
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "insurance",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=WARNING",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # Not the current app: shared tasks of later tests would go to this broker instead of running eagerly.
        client = app.__class__("test-client", broker=broker_url, set_as_current=False)
        client.conf.task_serializer = "json"
        client.send_task("accounts.tasks.revoke_expired_object_grants", queue=queue)
        deadline = time.monotonic() + 60
        while ObjectAccessGrant.objects.filter(pk=grant.pk).exists() and time.monotonic() < deadline:
            assert worker.poll() is None, "the worker died"
            time.sleep(0.25)
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
    assert not ObjectAccessGrant.objects.filter(pk=grant.pk).exists(), output
    deletion = ObjectAccessGrant.history.get(id=grant.pk, history_type="-")
    assert deletion.history_user.username == "system-celery"
