"""Scheduled work: each beat task does its job once and nothing the second time; customers get their emails."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from policies import services, tasks
from policies.choices import PolicyStatus
from policies.models import Policy
from tests.policies.conftest import EFFECTIVE
from tests.policies.factories import quote, term_end

DAY = timedelta(days=1)


@pytest.fixture
def in_force(book, product):
    return services.policy_bind(
        actor=book.alice,
        today=EFFECTIVE,
        policy=quote(actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE),
    )


def _twice(service, *, today, actor) -> tuple[int, int]:
    return service(actor=actor, today=today), service(actor=actor, today=today)


@pytest.mark.django_db
def test_stale_quotes_expire_once(book, product):
    policy = quote(actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE)
    assert _twice(services.expire_stale_quotes, today=EFFECTIVE + 31 * DAY, actor=book.underwriter) == (1, 0)
    policy.refresh_from_db()
    assert policy.status == PolicyStatus.QUOTE_EXPIRED


@pytest.mark.django_db
def test_unpaid_policies_lapse_after_the_grace_period_once(in_force, book, django_capture_on_commit_callbacks):
    assert services.lapse_unpaid_policies(actor=book.underwriter, today=EFFECTIVE + 30 * DAY) == 0  # in grace
    with django_capture_on_commit_callbacks(execute=True):
        assert _twice(services.lapse_unpaid_policies, today=EFFECTIVE + 31 * DAY, actor=book.underwriter) == (1, 0)
    in_force.refresh_from_db()
    assert in_force.status == PolicyStatus.LAPSED
    assert [message.subject for message in mail.outbox] == [f"Policy {in_force.number} has lapsed"]
    assert in_force.holder.email in mail.outbox[0].to


@pytest.mark.django_db
def test_renewals_are_offered_once_inside_the_window(in_force, book, django_capture_on_commit_callbacks):
    expiry = term_end(EFFECTIVE)
    assert services.offer_renewals(actor=book.underwriter, today=expiry - 31 * DAY) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert _twice(services.offer_renewals, today=expiry - 30 * DAY, actor=book.underwriter) == (1, 0)
    renewal = Policy.objects.get(renewal_of=in_force)
    assert renewal.effective_date == expiry
    assert mail.outbox[-1].subject == f"Renewal offer for policy {in_force.number}"


@pytest.mark.django_db
def test_ended_policies_expire_once(in_force, book):
    assert services.expire_ended_policies(actor=book.underwriter, today=term_end(EFFECTIVE) - DAY) == 0
    assert _twice(services.expire_ended_policies, today=term_end(EFFECTIVE), actor=book.underwriter) == (1, 0)
    in_force.refresh_from_db()
    assert in_force.status == PolicyStatus.EXPIRED


@pytest.mark.django_db
def test_the_beat_tasks_run_as_the_celery_account(book, product):
    long_ago = timezone.localdate() - 100 * DAY
    policy = quote(actor=book.alice, holder=book.alice, product=product, effective_date=long_ago, today=long_ago)
    assert tasks.expire_stale_quotes.delay().get() == 1
    policy.refresh_from_db()
    assert policy.history.latest().history_user.username == "system-celery"
    for task in (tasks.lapse_unpaid_policies, tasks.offer_renewals, tasks.expire_ended_policies):
        assert task.delay().get() == 0


def test_beat_schedules_every_policy_task(settings):
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "policies.tasks.expire_stale_quotes",
        "policies.tasks.lapse_unpaid_policies",
        "policies.tasks.offer_renewals",
        "policies.tasks.expire_ended_policies",
    } <= scheduled


@pytest.mark.django_db
def test_emails_render_for_every_kind(in_force, book):
    from policies.notifications import KINDS, send_policy_email

    services.policy_cancel(
        actor=book.alice, policy=in_force, reason="moving", effective_date=EFFECTIVE + DAY, today=EFFECTIVE + DAY
    )
    in_force.refresh_from_db()
    renewal = quote(actor=book.alice, holder=book.alice, product=in_force.product, effective_date=EFFECTIVE)
    renewal.renewal_of = in_force
    for kind in KINDS:
        assert send_policy_email(policy=renewal if kind == "renewal_offer" else in_force, kind=kind)
    assert len(mail.outbox) == len(KINDS)
    assert "Refund of unused premium" in mail.outbox[KINDS.index("cancelled")].body
