"""The task outbox: work handed to Celery is written to the database with the change that asks for it.

`enqueue(task, *args, **kwargs)` writes an `OutboxMessage` row in the caller's transaction, so the hand-off commits
or rolls back with the change: a rolled-back claim queues nothing, and a committed one cannot lose its work. After
commit the row is sent to the broker at once and marked sent. If the broker cannot be reached the failure is logged
(a warning) and the row waits: `sweep()`, run every minute by Celery beat (`core-outbox-sweep`) and by
`manage.py outbox_sweep`, sends the rows not yet sent, oldest first. Rows are claimed with
`SELECT ... FOR UPDATE SKIP LOCKED`, so two sweeps, or a sweep and the after-commit send, never send one row twice.

Delivery is at least once, never exactly once: a row sent whose "sent" mark then failed to commit is sent again,
and a worker that dies mid-task gets its message back (acks late). Consumers must therefore be idempotent: by
their own data (a score is unique per claim version and model) or, for effects outside the database (emails),
with `consume_once`, keyed on the message id that every delivery carries as its Celery task id.

Without a broker (`task_always_eager`, a first run, the tests) the task runs in process right after commit, as
`transaction.on_commit(task.delay)` did.
"""

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from celery import Celery, current_app
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .models import OutboxMessage

logger = logging.getLogger(__name__)

RETENTION = timedelta(days=7)  # sent rows are kept this long (`consume_once` needs them while redeliveries happen)
# Seconds of connection retries before a send counts as failed. A broker that accepts connections but never answers
# is bounded by the transport's socket timeouts instead (CELERY_BROKER_TRANSPORT_OPTIONS, in settings).
PUBLISH_TIMEOUT = 2
SWEEP_BATCH = 100  # rows claimed and sent per transaction: a crash mid-batch sends at most this many twice


def publishing_app() -> Celery:
    """The Celery app messages are sent through: the current one, configured from settings. (The broker fault
    tests replace this function to send through a client of another broker.)"""
    return current_app


def enqueue(task, *args, **kwargs) -> OutboxMessage:
    """Queue `task(*args, **kwargs)` with the caller's transaction; it is sent after commit. Arguments must be JSON
    (ids and short strings): a task reads what it needs from the database when it runs."""
    name = task if isinstance(task, str) else task.name
    message = OutboxMessage.objects.create(task=name, args=list(args), kwargs=kwargs)
    # Robust: a failure after commit must not turn a committed request into an error (the sweep sends it later).
    # Not a functools.partial: Django logs a failed robust hook by its __qualname__, which a partial lacks, and the
    # AttributeError would escape as a 500 (seen with PostgreSQL restarting: tests/core/test_database_faults.py).
    message_id = message.pk
    transaction.on_commit(lambda: publish(message_id), robust=True)
    return message


def _unsent() -> QuerySet:
    """Unsent rows, locked for this transaction; rows another transaction is sending are skipped, not waited for."""
    return OutboxMessage.objects.select_for_update(skip_locked=True).filter(published_at__isnull=True)


def publish(message_id: uuid.UUID) -> bool:
    """Send one message unless it was sent already or is being sent; True when this call sent (or ran) it."""
    app = publishing_app()
    if app.conf.task_always_eager:
        return _run_eagerly(app, message_id)
    with transaction.atomic():
        message = _unsent().filter(pk=message_id).first()
        return message is not None and _send(app, message)


def _send(app: Celery, message: OutboxMessage) -> bool:
    """Hand a locked row to the broker and mark it sent; on failure record why and leave it for the sweep.

    Fail fast: one immediate reconnect, then give up (`retry=False`, the sweep is the retry). Kombu's defaults retry
    the connection for about six seconds per message: a request queuing three messages would hang for 18 seconds
    (holding the row locks) every time the broker is down.
    """
    message.attempts += 1
    try:
        with app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=1, interval_start=0, timeout=PUBLISH_TIMEOUT)
            app.send_task(
                message.task,
                args=message.args,
                kwargs=message.kwargs,
                task_id=str(message.pk),
                producer=producer,
                retry=False,
            )
    except Exception as error:  # the transports raise many kinds; every failure leaves the row for the sweep
        message.last_error = f"{type(error).__name__}: {error}"[:500]
        message.save(update_fields=["attempts", "last_error"])
        logger.warning("outbox: %s %s not sent, left for the sweep: %s", message.task, message.pk, message.last_error)
        return False
    message.published_at = timezone.now()
    message.save(update_fields=["attempts", "published_at"])
    return True


def _run_eagerly(app: Celery, message_id: uuid.UUID) -> bool:
    """No broker: mark the row sent, then run the task here, outside the row's transaction, as a worker would."""
    with transaction.atomic():
        message = _unsent().filter(pk=message_id).first()
        if message is None:
            return False
        message.attempts += 1
        if message.task not in app.tasks:
            app.loader.import_default_modules()  # a fresh process (the sweep command) may not have loaded them yet
        task = app.tasks.get(message.task)
        if task is None:
            message.last_error = f"no task named {message.task!r}"
            message.save(update_fields=["attempts", "last_error"])
            logger.warning("outbox: %s %s not run: no such task", message.task, message.pk)
            return False
        message.published_at = timezone.now()
        message.save(update_fields=["attempts", "published_at"])
    try:
        task.apply(args=message.args, kwargs=message.kwargs, task_id=str(message.pk))
    except Exception as error:
        # No worker will get it back, so the row goes back to waiting: the next sweep runs it again.
        logger.exception("outbox: eager task %s %s failed, left for the sweep", message.task, message.pk)
        OutboxMessage.objects.filter(pk=message.pk).update(
            published_at=None, last_error=f"{type(error).__name__}: {error}"[:500]
        )
        return False
    return True


def sweep(*, batch: int = SWEEP_BATCH) -> int:
    """Send every unsent row, oldest first, a batch per transaction; stop at the first failure (the broker is still
    away: the next sweep tries again). Also deletes rows sent more than `RETENTION` ago. Returns how many were sent."""
    OutboxMessage.objects.filter(published_at__lt=timezone.now() - RETENTION).delete()
    app = publishing_app()
    sent = 0
    while True:
        if app.conf.task_always_eager:
            waiting = OutboxMessage.objects.filter(published_at__isnull=True).order_by("created_at", "pk")
            ids = list(waiting.values_list("pk", flat=True)[:batch])
            done = [_run_eagerly(app, pk) for pk in ids]
        else:
            with transaction.atomic():
                messages = list(_unsent().order_by("created_at", "pk")[:batch])
                done = []
                for message in messages:
                    done.append(_send(app, message))
                    if not done[-1]:
                        break
        sent += sum(done)
        if len(done) < batch or not all(done):
            return sent


def waiting() -> QuerySet:
    """Rows not sent yet (for the command's summary and health checks)."""
    return OutboxMessage.objects.filter(published_at__isnull=True)


@contextmanager
def consume_once(message_id: str | None) -> Iterator[bool]:
    """For a task whose effect is outside the database (an email): `with consume_once(self.request.id) as first:`
    yields False when this message was consumed already (a redelivery), else True, and marks it consumed when the
    block ends without an error.

    The row stays locked while the block runs, so a concurrent second delivery waits and then finds it consumed; a
    worker that dies inside the block leaves it unconsumed, and the redelivery does the work. (Only a death between
    the external effect and the commit repeats it: at least once, as promised.) A task not sent through the outbox
    (called directly, or by beat) has no row and always runs.
    """
    with transaction.atomic():
        message = None
        try:
            key = uuid.UUID(str(message_id)) if message_id else None
        except ValueError:
            key = None
        if key is not None:
            message = OutboxMessage.objects.select_for_update().filter(pk=key).first()
        if message is not None and message.consumed_at is not None:
            yield False
            return
        yield True
        if message is not None:
            OutboxMessage.objects.filter(pk=message.pk).update(consumed_at=timezone.now())
