"""Load: customers report claims concurrently through gunicorn and PostgreSQL for a fixed time, on loopback.

Creates a scratch database (migrated, with the demo users and book, a token per customer with an in-force auto or
home policy), serves it with gunicorn (production settings, a few sync workers, Celery eager in the web process as
without a broker), and runs locust headless against it as a subprocess (bench/locustfile.py). Prints requests/s,
p50 and p95, errors (any answer but 201), and the claims accepted (201) against those found in the database, each
complete with its `submitted` timeline event: lost = accepted but not there. Needs PostgreSQL on
BENCH_DATABASE_SERVER; says so and stops otherwise. Exits 1 on any error or lost claim.

    .venv/bin/python bench/load_bench.py [--users 20] [--seconds 30] [--workers 3] [--broker URL]

The pieces are shared: tests/core/test_load.py runs `run_load` bounded, and tests/core/test_database_faults.py
serves its own database with `prepare_database` and `serve`.
"""

import argparse
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
SERVER = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")
LOCUSTFILE = ROOT / "bench" / "locustfile.py"
# Written by raw SQL (this module runs outside Django): claims and their timeline.
CLAIM_TABLE = "claims_claim"
EVENT_TABLE = "claims_claimevent"

# Run in `manage.py shell` against the scratch database; prints the customers as one JSON line.
_SEED = """
import io, json
from datetime import timedelta
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token
from claims.demo import LOSS_OF_LINE
from policies.choices import PolicyStatus
from policies.models import Policy
call_command("create_demo_users", stdout=io.StringIO())
call_command("create_demo_book", customers={customers}, stdout=io.StringIO())
settled = timezone.localdate() - timedelta(days=3)
accounts = []
for policy in Policy.objects.filter(status=PolicyStatus.IN_FORCE, effective_date__lt=settled).select_related(
    "product", "holder"
).order_by("number"):
    loss_type = LOSS_OF_LINE.get(policy.product.line_of_business)
    if loss_type and not any(account["username"] == policy.holder.username for account in accounts):
        token, _ = Token.objects.get_or_create(user=policy.holder)
        accounts.append(
            {{"username": policy.holder.username, "token": token.key, "policy": policy.number, "loss_type": loss_type}}
        )
print("ACCOUNTS " + json.dumps(accounts))
"""


def database_url(name: str, server: str = SERVER) -> str:
    """`server` (a postgres:// URL, with or without a database) pointed at the database `name`."""
    parts = urlsplit(server)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def server_url(settings: dict) -> str:
    """The server of a Django database settings dict (`connection.settings_dict`), as a postgres:// URL."""
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return f"postgres://{settings['USER']}{password}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"


def _connect(url: str):
    import psycopg2

    return psycopg2.connect(url)


def drop_database(url: str) -> None:
    admin = _connect(database_url("postgres", url))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}" WITH (FORCE)')
    admin.close()


def _manage(url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "insurance.settings.local", "DEBUG": "false"}
    env.pop("CELERY_BROKER_URL", None)  # demo data: tasks run eagerly here
    result = subprocess.run(  # noqa: S603 (this project's manage.py)
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result.stdout


def prepare_database(url: str, *, customers: int = 12) -> list[dict]:
    """A new database at `url` (dropped first if it exists), migrated, with the demo book; returns the customers
    who may report a claim: username, API token, policy number, a loss type the policy covers."""
    drop_database(url)
    admin = _connect(database_url("postgres", url))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{urlsplit(url).path.lstrip("/")}"')
    admin.close()
    _manage(url, "migrate", "--noinput")
    output = _manage(url, "shell", "-c", _SEED.format(customers=customers))
    line = next(line for line in output.splitlines() if line.startswith("ACCOUNTS "))
    accounts = json.loads(line.removeprefix("ACCOUNTS "))
    if not accounts:
        raise RuntimeError("the demo book has no in-force auto or home policy to claim on")
    return accounts


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(url: str, broker: str = "") -> dict[str, str]:
    """Production settings, as deployed, except what loopback needs: plain HTTP, this host, a throwaway key. Without
    `broker`, Celery tasks (the decision, fraud scoring) run eagerly in the web process after each commit."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "insurance.settings.production",
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("CELERY_BROKER_URL", None)
    if broker:
        env["CELERY_BROKER_URL"] = broker
    return env


@contextlib.contextmanager
def serve(url: str, *, workers: int = 3, log_path: Path, broker: str = "") -> Iterator[str]:
    """gunicorn serving the database at `url` on a free loopback port; yields the base URL, stops it on exit. Its
    output goes to `log_path`."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log:
        process = subprocess.Popen(  # noqa: S603 (gunicorn serving this project)
            [
                sys.executable,
                "-m",
                "gunicorn",
                "insurance.wsgi",
                f"--bind=127.0.0.1:{port}",
                f"--workers={workers}",
                "--timeout=60",
                "--graceful-timeout=5",
                "--no-control-socket",  # one shared path under $HOME otherwise: two servers at once would collide
            ],
            cwd=ROOT,
            env=server_env(url, broker),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
            try:
                urllib.request.urlopen(f"{base}/health/", timeout=5).close()  # noqa: S310 (our own loopback URL)
                break
            except urllib.error.HTTPError:
                break  # it answers (503 without a broker or tesseract is still an answer)
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not answer on {base}:\n{log_path.read_text()[-4000:]}") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def claims_found(url: str, ids: list[int]) -> set[int]:
    """Of `ids`, the claims that are in the database complete: the row and its `submitted` timeline event."""
    with contextlib.closing(_connect(url)) as conn, conn.cursor() as cursor:
        cursor.execute(
            f"SELECT c.id FROM {CLAIM_TABLE} c WHERE c.id = ANY(%s) AND EXISTS ("
            f"SELECT 1 FROM {EVENT_TABLE} e WHERE e.claim_id = c.id AND e.kind = 'submitted')",
            [list(ids)],
        )
        return {row[0] for row in cursor.fetchall()}


@dataclass(frozen=True)
class LoadResult:
    users: int
    seconds: int
    workers: int
    requests: int
    errors: int
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    accepted: int  # 201s
    in_database: int  # of those, found complete in the database
    broker: bool  # tasks queued on a broker (no worker) instead of run in the web process

    @property
    def lost(self) -> int:
        return self.accepted - self.in_database

    def report(self) -> str:
        return (
            f"load: {self.users} users, {self.seconds} s, {self.workers} gunicorn workers, "
            f"{'tasks queued on the broker' if self.broker else 'decision and scoring in the web process'}: "
            f"{self.requests} requests, {self.requests_per_second:.1f} requests/s, "
            f"p50 {self.p50_ms:.0f} ms, p95 {self.p95_ms:.0f} ms, errors {self.errors}; "
            f"claims accepted (201) {self.accepted}, in the database {self.in_database}, lost {self.lost}"
        )


def run_locust(base: str, accounts: list[dict], *, users: int, seconds: int, workdir: Path) -> dict:
    """locust headless against `base`; its figures and the ids of the accepted claims (see bench/locustfile.py)."""
    accounts_file = workdir / "accounts.json"
    accounts_file.write_text(json.dumps(accounts))
    results_file = workdir / "results.json"
    env = {**os.environ, "LOAD_ACCOUNTS": str(accounts_file), "LOAD_RESULTS": str(results_file)}
    command = [
        sys.executable,
        "-m",
        "locust",
        f"--locustfile={LOCUSTFILE}",
        "--headless",
        f"--users={users}",
        f"--spawn-rate={users}",
        f"--run-time={seconds}s",
        f"--host={base}",
        f"--csv={workdir / 'load'}",
        "--only-summary",
        "--loglevel=WARNING",
    ]
    result = subprocess.run(  # noqa: S603 (locust on our own locustfile)
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 120
    )
    if not results_file.exists():
        raise RuntimeError(f"locust exited with {result.returncode} without results:\n{result.stderr[-4000:]}")
    return json.loads(results_file.read_text())


def _purge(url: str, broker: str) -> None:
    """Drop the tasks the run queued (no worker consumed them)."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": broker,
        "DJANGO_SETTINGS_MODULE": "insurance.settings.local",
    }
    subprocess.run(
        [sys.executable, "-m", "celery", "-A", "insurance", "purge", "-f"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
    )


def run_load(
    *,
    users: int = 20,
    seconds: int = 30,
    workers: int = 3,
    server: str = SERVER,
    database: str = "",
    broker: str = "",
) -> LoadResult:
    """The whole run on a scratch database named `database` (default: one per process), dropped afterwards. With
    `broker`, the web process only queues the decision and scoring there (nothing consumes them; purged after)."""
    url = database_url(database or f"insurance_load_{os.getpid()}", server)
    with tempfile.TemporaryDirectory(prefix="load-") as tmp:
        workdir = Path(tmp)
        try:
            accounts = prepare_database(url)
            with serve(url, workers=workers, log_path=workdir / "gunicorn.log", broker=broker) as base:
                figures = run_locust(base, accounts, users=users, seconds=seconds, workdir=workdir)
            found = claims_found(url, figures["accepted"])
        finally:
            if broker:
                _purge(url, broker)
            drop_database(url)
    return LoadResult(
        users=users,
        seconds=seconds,
        workers=workers,
        requests=figures["requests"],
        errors=figures["failures"],
        requests_per_second=figures["requests_per_second"],
        p50_ms=figures["p50_ms"],
        p95_ms=figures["p95_ms"],
        accepted=len(figures["accepted"]),
        in_database=len(found),
        broker=bool(broker),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument(
        "--broker",
        default="",
        metavar="URL",
        help="queue the decision and scoring on this broker (e.g. redis://127.0.0.1:6379/12; purged afterwards) "
        "instead of running them in the web process: the web tier's own throughput",
    )
    args = parser.parse_args()
    try:
        _connect(database_url("postgres")).close()
    except Exception as error:
        print(f"load bench: skipped, no PostgreSQL at {SERVER} ({error})")
        return 0
    result = run_load(users=args.users, seconds=args.seconds, workers=args.workers, broker=args.broker)
    print(result.report())
    return 1 if result.errors or result.lost else 0


if __name__ == "__main__":
    sys.exit(main())
