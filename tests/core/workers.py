"""Real Celery workers for the broker fault tests: a subprocess on a queue of its own, against the test database."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection

from insurance.celery import app

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def broker_or_skip(url: str) -> None:
    """Skip (or fail, with REQUIRE_BROKER set) when no broker answers at `url`."""
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception:
        if os.environ.get("REQUIRE_BROKER"):
            pytest.fail(f"no Celery broker answers at {url} (REQUIRE_BROKER is set)")
        pytest.skip(f"no Celery broker answers at {url}")


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def new_queue() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


def client_app(broker_url: str, queue: str):
    """A Celery client sending to `queue` on `broker_url`. Not the current app (set_as_current=False): tasks of
    later tests must keep running eagerly, not go to this broker (a bug this suite once had)."""
    client = app.__class__(f"test-client-{queue}", broker=broker_url, set_as_current=False)
    client.conf.task_serializer = "json"
    client.conf.task_default_queue = queue
    # The project's timeouts, so a client fails as production's would.
    client.conf.broker_transport_options = dict(app.conf.broker_transport_options)
    client.conf.broker_connection_timeout = app.conf.broker_connection_timeout
    return client


def start_worker(broker_url: str, queue: str, **env: str) -> subprocess.Popen:
    """A solo worker reading `queue` only; what its tasks queue (through the outbox) goes to `queue` too."""
    return subprocess.Popen(
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
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "insurance.settings.local",
            "DEBUG": "false",  # local settings default to debug, which keeps every query in memory
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(worker: subprocess.Popen) -> str:
    """Stop a worker (if it still runs) and return its output."""
    if worker.poll() is None:
        worker.terminate()
    try:
        output, _ = worker.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        output, _ = worker.communicate(timeout=10)
    return output or ""


def wait_for(condition: Callable[[], bool], *, timeout: float, workers: tuple[subprocess.Popen, ...] = ()) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; a worker that dies meanwhile fails the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        for worker in workers:
            assert worker.poll() is None, f"the worker died:\n{stop(worker)}"
        time.sleep(0.25)
    return condition()


def queue_is_empty(broker_url: str, queue: str) -> bool:
    """No message of `queue` waits or is delivered but unacknowledged (kombu's Redis keys: the queue's list, and
    the `unacked` hash of [message, exchange, routing key] shared by every queue of the database)."""
    import json

    import redis

    client = redis.Redis.from_url(broker_url)
    try:
        unacked = [json.loads(entry) for entry in client.hvals("unacked")]
        return client.llen(queue) == 0 and not any(routing_key == queue for _, _, routing_key in unacked)
    finally:
        client.close()


def drop_queue(broker_url: str, queue: str) -> None:
    """Remove a test queue and kombu's binding keys for it from the broker."""
    import redis

    client = redis.Redis.from_url(broker_url)
    try:
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    finally:
        client.close()
