"""PostgreSQL restarted under load: requests fail cleanly (503, never a 500 or a traceback), succeed again once it is
back, and no claim is half written.

gunicorn serves its own freshly migrated database (bench/load_bench.py's `prepare_database` and `serve`, production
settings, persistent connections) while a few threads report claims through the API; halfway, the PostgreSQL
cluster serving the database is restarted. Then every answer must be a 201 or a clean 503, every request sent once
PostgreSQL is back must succeed, every accepted claim must be in the database as sent with its `submitted` timeline
event, and no claim may exist without that event. A second restart while the server is idle checks that a worker's
dead persistent connection is replaced before use (CONN_HEALTH_CHECKS), not answered with a 503.

Needs a local PostgreSQL cluster this process may restart (`pg_ctlcluster`, as root), and consent: it restarts the
server everyone on the machine uses, so it runs only with ALLOW_POSTGRES_RESTART=1 (.ci/run sets it) and is skipped
otherwise; with consent but no restartable cluster, REQUIRE_POSTGRES (CI) makes it fail instead. The restart also
kills this process's own connections: they are closed afterwards, so later tests connect again, and the server is
started again if it did not come back.
"""

import http.client
import json
import os
import shutil
import subprocess
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg2
import pytest
from django.db import connection, connections

from bench.load_bench import (
    CLAIM_TABLE,
    EVENT_TABLE,
    database_url,
    drop_database,
    prepare_database,
    serve,
    server_url,
)

pytestmark = pytest.mark.postgres

THREADS = 6
WORKERS = 3  # gunicorn's, each with a persistent connection (production settings: CONN_MAX_AGE 60)
BEFORE_RESTART = 6  # seconds of load before PostgreSQL restarts
TOTAL = 20  # seconds of load in all
TRACEBACK_MARKERS = ("Traceback", "OperationalError", "InterfaceError", "psycopg2")
OPT_IN = "ALLOW_POSTGRES_RESTART"


def _answers() -> bool:
    """Whether the server accepts connections, asked on a connection of its own: at teardown the test's database
    access is already closed."""
    settings = connection.settings_dict
    try:
        psycopg2.connect(
            dbname="postgres",
            user=settings["USER"],
            password=settings["PASSWORD"] or None,
            host=settings["HOST"] or "127.0.0.1",
            port=settings["PORT"] or 5432,
            connect_timeout=2,
        ).close()
    except psycopg2.OperationalError:
        return False
    return True


def _unavailable(reason: str):
    if os.environ.get("REQUIRE_POSTGRES"):
        pytest.fail(f"the database fault test cannot run: {reason} (REQUIRE_POSTGRES is set)")
    pytest.skip(reason)


def _restartable_cluster() -> tuple[str, str, str]:
    """pg_ctlcluster's path, and the version and name of the local cluster serving the test database."""
    settings = connection.settings_dict
    if (settings["HOST"] or "127.0.0.1") not in ("127.0.0.1", "localhost", "::1"):
        _unavailable(f"PostgreSQL at {settings['HOST']} is not local")
    pg_ctlcluster, pg_lsclusters = shutil.which("pg_ctlcluster"), shutil.which("pg_lsclusters")
    if not pg_ctlcluster or not pg_lsclusters:
        _unavailable("pg_ctlcluster is not installed")
    if os.geteuid() != 0:
        _unavailable("restarting PostgreSQL needs root")
    port = str(settings["PORT"] or 5432)
    listing = subprocess.run([pg_lsclusters, "--no-header"], capture_output=True, text=True, check=True).stdout
    for line in listing.splitlines():
        version, name, cluster_port, *_ = line.split()
        if cluster_port == port:
            return pg_ctlcluster, version, name
    _unavailable(f"no local cluster listens on port {port}")
    raise AssertionError("unreachable")


@pytest.fixture
def restart_postgresql():
    """Restarts the cluster (fast shutdown: in-flight queries are cut off), then drops this process's dead
    connections so the tests that follow connect again."""
    if os.environ.get(OPT_IN) != "1":
        pytest.skip(f"restarts the local PostgreSQL server: set {OPT_IN}=1 to allow it (.ci/run does)")
    pg_ctlcluster, version, name = _restartable_cluster()

    def cluster(action: str) -> None:
        subprocess.run(
            [pg_ctlcluster, "--skip-systemctl-redirect", version, name, action],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def restart() -> None:
        try:
            cluster("restart")
        finally:
            connections.close_all()

    yield restart
    connections.close_all()
    # Whatever happened, leave the server running for the tests that follow (and for whoever else uses it).
    if not _answers():
        with suppress(subprocess.CalledProcessError):
            cluster("start")
        deadline = time.monotonic() + 60
        while not _answers() and time.monotonic() < deadline:
            time.sleep(0.5)
    assert _answers(), "PostgreSQL did not come back after the fault test"


@dataclass(frozen=True)
class Answer:
    sent_at: float
    status: int | None  # None: no HTTP answer at all
    body: str
    retry_after: str | None
    claim: dict  # what was sent


def _submit(base: str, account: dict, label: str, amount: str, witnesses: int) -> Answer:
    """One claim through the API, on a connection of its own; what was sent and what came back."""
    host, port = base.removeprefix("http://").split(":")
    claim = {
        "policy": account["policy"],
        "incident_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
        "incident_place": f"Fault test junction {witnesses}",
        "loss_type": account["loss_type"],
        "description": f"fault test claim {label}",
        "amount_claimed": amount,
        "police_report_filed": False,
        "witness_count": witnesses,
    }
    sent_at = time.monotonic()
    client = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        client.request(
            "POST",
            "/api/claims/",
            body=json.dumps(claim),
            headers={"Authorization": f"Token {account['token']}", "Content-Type": "application/json"},
        )
        response = client.getresponse()
        return Answer(sent_at, response.status, response.read().decode(), response.getheader("Retry-After"), claim)
    except OSError as error:
        return Answer(sent_at, None, repr(error), None, claim)
    finally:
        client.close()


def _report_claims(base: str, account: dict, thread: int, stop: threading.Event, answers: list[Answer]) -> None:
    sequence = 0
    while not stop.is_set():
        sequence += 1
        answers.append(_submit(base, account, f"{thread}-{sequence}", f"{1000 + thread}.{sequence % 100:02d}", thread))


def _claims_in(url: str) -> tuple[dict[int, dict], int]:
    """Every claim in the database with its fields and policy number, and how many lack their `submitted` event."""
    import psycopg2

    with psycopg2.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(
            f"SELECT c.id, c.description, c.incident_place, c.loss_type, c.amount_claimed, c.witness_count, p.number, "  # noqa: S608
            f"(SELECT count(*) FROM {EVENT_TABLE} e WHERE e.claim_id = c.id AND e.kind = 'submitted') "
            f"FROM {CLAIM_TABLE} c JOIN policies_policy p ON p.id = c.policy_id"
        )
        rows = cursor.fetchall()
    conn.close()
    claims = {
        row[0]: {
            "description": row[1],
            "incident_place": row[2],
            "loss_type": row[3],
            "amount_claimed": row[4],
            "witness_count": row[5],
            "policy": row[6],
            "submitted_events": row[7],
        }
        for row in rows
    }
    return claims, sum(1 for claim in claims.values() if claim["submitted_events"] != 1)


def test_a_postgresql_restart_under_load_fails_cleanly_recovers_and_writes_nothing_by_half(
    restart_postgresql, tmp_path
):
    url = database_url(f"{connection.settings_dict['NAME']}_fault", server_url(connection.settings_dict))
    accounts = prepare_database(url)
    answers: list[Answer] = []
    stop = threading.Event()
    try:
        with serve(url, workers=WORKERS, log_path=tmp_path / "gunicorn.log") as base:
            threads = [
                threading.Thread(
                    target=_report_claims, args=(base, accounts[index % len(accounts)], index, stop, answers)
                )
                for index in range(THREADS)
            ]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            time.sleep(BEFORE_RESTART)
            restarting = time.monotonic()
            restart_postgresql()
            restarted = time.monotonic()
            time.sleep(max(TOTAL - (restarted - started), 5))
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
            # Restarted again while idle: each worker's persistent connection is dead, yet the next requests succeed.
            restart_postgresql()
            after_idle_restart = [_submit(base, accounts[0], f"idle-{n}", "999.00", 0) for n in range(WORKERS * 2)]
        in_database, half_written = _claims_in(url)
    finally:
        stop.set()
        drop_database(url)

    log = (tmp_path / "gunicorn.log").read_text()
    statuses = [answer.status for answer in answers]
    figures = {status: statuses.count(status) for status in set(statuses)}
    refused = [answer for answer in answers if answer.status == 503]
    offsets = [answer.sent_at - restarting for answer in refused] or [0.0]
    print(
        f"database fault test: answers by status {figures}; the restart took {restarted - restarting:.1f} s, "
        f"503s sent {min(offsets):.1f} to {max(offsets):.1f} s after it began"
    )

    unclean = [answer for answer in answers if answer.status not in (201, 503)]
    assert not unclean, f"answers other than 201 or 503: {unclean[:3]}\n{log[-3000:]}"
    for answer in answers:
        for marker in TRACEBACK_MARKERS:
            assert marker not in answer.body, answer.body
    assert refused, "no request met the restart: the test did not test the fault"
    for answer in refused:
        assert answer.retry_after == "5"
        assert json.loads(answer.body)["error"]["code"] == "service_unavailable"
    after = [answer for answer in answers if answer.sent_at > restarted]
    assert after, "no request after the restart"
    # Recovery at once: a worker's persistent connection that died is replaced before use (CONN_HEALTH_CHECKS).
    assert all(answer.status == 201 for answer in after), [answer.status for answer in after]
    assert [answer.status for answer in after_idle_restart] == [201] * len(after_idle_restart), after_idle_restart
    answers += after_idle_restart  # held to the same checks against the database below

    accepted = [answer for answer in answers if answer.status == 201]
    for answer in accepted:
        claim_id = json.loads(answer.body)["id"]
        assert claim_id in in_database, f"claim {claim_id} was accepted (201) and is not in the database"
        stored, submitted = in_database[claim_id], answer.claim
        assert stored["submitted_events"] == 1, f"claim {claim_id} has no submission event"
        assert (stored["description"], stored["incident_place"], stored["loss_type"], stored["policy"]) == (
            submitted["description"],
            submitted["incident_place"],
            submitted["loss_type"],
            submitted["policy"],
        )
        assert (stored["amount_claimed"], stored["witness_count"]) == (
            Decimal(submitted["amount_claimed"]),
            submitted["witness_count"],
        )
    assert half_written == 0, f"{half_written} claim(s) without exactly one submission event"
    sent_descriptions = {answer.claim["description"] for answer in answers}
    assert {claim["description"] for claim in in_database.values()} <= sent_descriptions
