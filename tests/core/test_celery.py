"""Celery: configuration, eager tasks audited as the system account, and a real worker on a real broker."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import ObjectAccessGrant
from accounts.tasks import revoke_expired_object_grants
from insurance.celery import app
from tests.core import workers


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


@pytest.mark.postgres
@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task_from_the_broker_and_records_the_actor(personas, settings):
    broker_url = settings.CELERY_TEST_BROKER_URL
    workers.broker_or_skip(broker_url)
    grant = _expired_grant(personas)
    queue = workers.new_queue()
    worker = workers.start_worker(broker_url, queue)
    try:
        workers.client_app(broker_url, queue).send_task("accounts.tasks.revoke_expired_object_grants", queue=queue)
        done = workers.wait_for(
            lambda: not ObjectAccessGrant.objects.filter(pk=grant.pk).exists(), timeout=60, workers=(worker,)
        )
    finally:
        output = workers.stop(worker)
    assert done, output
    deletion = ObjectAccessGrant.history.get(id=grant.pk, history_type="-")
    assert deletion.history_user.username == "system-celery"
