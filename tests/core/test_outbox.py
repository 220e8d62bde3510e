"""The task outbox: written with the caller's transaction, sent after commit, kept when the broker is away, swept
once, never sent twice by two sweeps, run in process without a broker, and consumed once by the email tasks."""

import logging
import socket
import threading
from contextlib import suppress
from io import StringIO

import pytest
from celery import shared_task
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction

from claims import notifications
from claims.tasks import send_claim_email_task
from insurance.celery import app
from insurance.core import outbox
from insurance.core.models import OutboxMessage
from policies import notifications as policy_notifications
from policies.tasks import send_policy_email_task
from tests.claims.conftest import claim_product, policy, submit  # noqa: F401  (fixtures)
from tests.core.workers import client_app, new_queue

RUNS: list[str] = []


@shared_task(name="tests.core.test_outbox.record")
def record(value: str) -> str:
    """A task whose only effect is to say it ran."""
    RUNS.append(value)
    return value


@shared_task(name="tests.core.test_outbox.flaky")
def flaky(value: str) -> str:
    """Fails on its first run (a database blip, say), then does its work."""
    RUNS.append(f"try {value}")
    if RUNS.count(f"try {value}") == 1:
        raise RuntimeError("the first run failed")
    return record(value)


@pytest.fixture(autouse=True)
def _no_runs():
    RUNS.clear()
    yield
    RUNS.clear()


@pytest.fixture
def broker(monkeypatch):
    """Publish through kombu's in-memory transport (a real broker protocol, in this process)."""
    client = client_app("memory://", new_queue())
    monkeypatch.setattr(outbox, "publishing_app", lambda: client)
    return client


@pytest.fixture
def broker_down(monkeypatch):
    """Publish to a port nothing listens on: every send fails (connection refused)."""
    client = client_app("redis://127.0.0.1:1/0", new_queue())
    monkeypatch.setattr(outbox, "publishing_app", lambda: client)
    return client


def sent_ids(client) -> list[str]:
    """The task ids of the messages waiting on the client's queue, taken off it."""
    ids = []
    with client.connection_for_read() as conn:
        queue = conn.SimpleQueue(client.conf.task_default_queue)
        while True:
            try:
                message = queue.get(timeout=0.05)
            except queue.Empty:
                return ids
            ids.append(message.headers["id"])
            message.ack()


# --- the caller's transaction -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_row_is_written_in_the_callers_transaction_and_a_rollback_sends_nothing(
    broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, suppress(RuntimeError), transaction.atomic():
        outbox.enqueue(record, "rolled back")
        assert OutboxMessage.objects.filter(task="tests.core.test_outbox.record").count() == 1
        raise RuntimeError("the request failed after queuing")
    assert callbacks == []
    assert not OutboxMessage.objects.exists()
    assert sent_ids(broker) == []


@pytest.mark.django_db
def test_after_commit_the_message_is_sent_once_and_marked(broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = outbox.enqueue(record, "x", note="kw")
    message.refresh_from_db()
    assert message.published_at is not None
    assert (message.attempts, message.args, message.kwargs) == (1, ["x"], {"note": "kw"})
    assert sent_ids(broker) == [str(message.pk)]  # the message id is the Celery task id
    assert outbox.sweep() == 0
    assert sent_ids(broker) == []


# --- the broker is away -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_failed_send_keeps_the_row_and_logs_then_the_sweep_sends_it_once(
    broker_down, django_capture_on_commit_callbacks, caplog, monkeypatch
):
    with (
        caplog.at_level(logging.WARNING, logger="insurance.core.outbox"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        message = outbox.enqueue(record, "later")
    message.refresh_from_db()
    assert message.published_at is None
    assert message.attempts == 1
    assert "Connection refused" in message.last_error
    assert any(str(message.pk) in entry.getMessage() for entry in caplog.records if entry.levelno == logging.WARNING)
    assert outbox.sweep() == 0  # still down: the row waits
    message.refresh_from_db()
    assert (message.published_at, message.attempts) == (None, 2)

    back = client_app("memory://", new_queue())
    monkeypatch.setattr(outbox, "publishing_app", lambda: back)
    assert outbox.sweep() == 1
    assert outbox.sweep() == 0
    assert sent_ids(back) == [str(message.pk)]
    message.refresh_from_db()
    assert message.published_at is not None


@pytest.fixture
def silent_broker(monkeypatch):
    """A broker that accepts connections and never answers (half-open, firewalled): a send must give up, not hang."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            with suppress(TimeoutError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    client = client_app(f"redis://127.0.0.1:{listener.getsockname()[1]}/0", new_queue())
    monkeypatch.setattr(outbox, "publishing_app", lambda: client)
    yield client
    stop.set()
    thread.join()
    for connection_ in held:
        connection_.close()
    listener.close()


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_never_answers_fails_the_send_instead_of_hanging_the_request(silent_broker):
    message = OutboxMessage.objects.create(task=record.name, args=["stuck"])
    sender = threading.Thread(target=outbox.publish, args=(message.pk,), daemon=True)
    sender.start()
    sender.join(timeout=60)
    assert not sender.is_alive(), "the send hung on a silent broker"
    message.refresh_from_db()
    assert message.published_at is None
    assert message.last_error


@pytest.mark.django_db
def test_the_sweep_sends_oldest_first_in_batches(broker):
    messages = [OutboxMessage.objects.create(task="tests.core.test_outbox.record", args=[str(n)]) for n in range(7)]
    assert outbox.sweep(batch=3) == 7
    assert sent_ids(broker) == [str(message.pk) for message in messages]
    assert not outbox.waiting().exists()


@pytest.mark.django_db
def test_the_sweep_command_reports_what_still_waits(broker_down):
    OutboxMessage.objects.create(task="tests.core.test_outbox.record", args=["x"])
    out = StringIO()
    call_command("outbox_sweep", stdout=out)
    assert out.getvalue().startswith("sent 0; 1 waiting (oldest from ")


# --- two sweepers -------------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_sweep_skips_the_rows_another_sweep_holds_instead_of_sending_or_waiting(broker):
    rows = [OutboxMessage.objects.create(task="tests.core.test_outbox.record", args=[str(n)]) for n in range(3)]
    other: list[int] = []

    def sweep_in_another_connection():
        try:
            other.append(outbox.sweep())
        finally:
            connection.close()

    with transaction.atomic():
        held = list(outbox._unsent().order_by("created_at"))  # this "sweep" holds every row
        assert len(held) == 3
        thread = threading.Thread(target=sweep_in_another_connection)
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the second sweep waited for the locked rows"
        assert other == [0]
        for message in held:
            assert outbox._send(broker, message)
    assert sorted(sent_ids(broker)) == sorted(str(row.pk) for row in rows)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_every_row_exactly_once(broker):
    OutboxMessage.objects.bulk_create(
        [OutboxMessage(task="tests.core.test_outbox.record", args=[str(n)]) for n in range(300)]
    )
    start = threading.Barrier(2)
    counts: list[int] = []

    def sweeper():
        try:
            start.wait()
            counts.append(outbox.sweep(batch=20))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    ids = sent_ids(broker)
    assert sum(counts) == 300
    assert len(ids) == len(set(ids)) == 300
    assert not outbox.waiting().exists()


# --- no broker: eager ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_without_a_broker_the_task_runs_right_after_commit(django_capture_on_commit_callbacks):
    assert app.conf.task_always_eager
    with django_capture_on_commit_callbacks(execute=True):
        message = outbox.enqueue(record, "now")
        assert RUNS == []  # not before the commit
    assert RUNS == ["now"]
    message.refresh_from_db()
    assert message.published_at is not None
    assert outbox.sweep() == 0
    assert RUNS == ["now"]


@pytest.mark.django_db
def test_without_a_broker_the_sweep_runs_what_was_left(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # the process died between commit and send
        outbox.enqueue(record, "left")
    assert RUNS == []
    assert outbox.sweep() == 1
    assert RUNS == ["left"]
    assert outbox.sweep() == 0


@pytest.mark.django_db
def test_without_a_broker_a_task_that_fails_goes_back_to_the_sweep(django_capture_on_commit_callbacks, caplog):
    """No worker will get a failed eager task back, so its row waits again; the next sweep runs it."""
    with (
        caplog.at_level(logging.ERROR, logger="insurance.core.outbox"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        message = outbox.enqueue(flaky, "again")
    message.refresh_from_db()
    assert (message.published_at, message.attempts) == (None, 1)
    assert "RuntimeError" in message.last_error
    assert any(str(message.pk) in entry.getMessage() for entry in caplog.records)
    assert outbox.sweep() == 1
    assert RUNS == ["try again", "try again", "again"]
    assert outbox.sweep() == 0


# --- consumers whose effect is outside the database -----------------------------------------------------------------


@pytest.mark.django_db
def test_a_redelivered_claim_email_is_not_sent_again(personas, policy, django_capture_on_commit_callbacks):  # noqa: F811
    claim = submit(actor=personas.alice, policy=policy)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify_after_commit(claim, "documents_requested", "Please send the invoice.")
    assert len(mail.outbox) == 1
    message = OutboxMessage.objects.get(task=send_claim_email_task.name)
    assert message.consumed_at is not None
    # The broker delivers the same message again (a worker died before acknowledging it).
    redelivery = send_claim_email_task.apply(args=message.args, task_id=str(message.pk))
    assert redelivery.get() is False
    assert len(mail.outbox) == 1
    # A task sent outside the outbox (no row) is not held back.
    assert send_claim_email_task.apply(args=message.args).get() is True
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_a_consumer_that_fails_leaves_the_message_for_the_redelivery():
    message = OutboxMessage.objects.create(task="tests.core.test_outbox.record", args=["x"])
    with suppress(ConnectionError), outbox.consume_once(str(message.pk)) as first:
        assert first
        raise ConnectionError("SMTP went away")
    message.refresh_from_db()
    assert message.consumed_at is None
    with outbox.consume_once(str(message.pk)) as first:
        assert first
    with outbox.consume_once(str(message.pk)) as first:
        assert not first


@pytest.mark.django_db
def test_a_redelivered_policy_email_is_not_sent_again(personas, policy, django_capture_on_commit_callbacks):  # noqa: F811
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        policy_notifications.notify_after_commit(policy, "issued")
    assert len(mail.outbox) == 1
    message = OutboxMessage.objects.get(task=send_policy_email_task.name, consumed_at__isnull=False)
    assert send_policy_email_task.apply(args=message.args, task_id=str(message.pk)).get() is False
    assert len(mail.outbox) == 1
