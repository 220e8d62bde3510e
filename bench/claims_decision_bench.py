"""Submit-to-decision latency of first notice of loss, without OCR, through a real Celery worker and broker.

Creates a scratch PostgreSQL database, starts a worker on Redis, submits claims one after another and measures,
for each, the time from the committed submission to the stored decision. Prints p50 and p95 (target: p95 within
1 second). Needs PostgreSQL on BENCH_DATABASE_SERVER and Redis on BENCH_BROKER_URL; says so and stops otherwise.

    .venv/bin/python bench/claims_decision_bench.py [claims, default 200]
"""

import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")
BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
DATABASE = f"insurance_bench_{os.getpid()}"


def main(count: int) -> int:
    import psycopg2

    try:
        admin = psycopg2.connect(f"{SERVER}/postgres")
    except psycopg2.OperationalError as error:
        print(f"claims decision bench: skipped, no PostgreSQL at {SERVER} ({error})")
        return 0
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {DATABASE}")
    env = {
        **os.environ,
        "DATABASE_URL": f"{SERVER}/{DATABASE}",
        "CELERY_BROKER_URL": BROKER,
        "DJANGO_SETTINGS_MODULE": "insurance.settings.local",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    worker = None
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from kombu import Connection

        try:
            with Connection(BROKER, connect_timeout=2) as connection:
                connection.ensure_connection(max_retries=1)
        except Exception as error:
            print(f"claims decision bench: skipped, no broker at {BROKER} ({error})")
            return 0
        call_command("migrate", verbosity=0)
        call_command("create_demo_users", stdout=open(os.devnull, "w"))  # noqa: SIM115
        call_command("create_demo_book", stdout=open(os.devnull, "w"))  # noqa: SIM115
        from django.utils import timezone

        from claims import services
        from claims.models import ClaimDecision
        from insurance.celery import app
        from insurance.core.audit import system_account
        from policies.models import Policy

        app.control.purge()
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "insurance",
                "worker",
                "--pool=solo",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
        )
        policy = Policy.objects.filter(
            status="in_force",
            product__code="auto-comprehensive",
            effective_date__lt=timezone.localdate() - timedelta(days=2),
        ).first()
        actor = system_account("command")
        latencies = []
        warmup = 5
        for index in range(count + warmup):
            claim = services.claim_submit(
                actor=actor,
                policy=policy,
                incident_at=timezone.now() - timedelta(days=1),
                incident_place="bench",
                loss_type="collision",
                description="benchmark claim",
                amount_claimed=Decimal("900") + index,
            )
            submitted = time.perf_counter()
            while not ClaimDecision.objects.filter(claim_id=claim.pk).exists():
                if time.perf_counter() - submitted > 30:
                    raise RuntimeError("no decision within 30 s: is the worker running?")
                time.sleep(0.002)
            if index >= warmup:
                latencies.append(time.perf_counter() - submitted)
        latencies.sort()
        p50 = statistics.median(latencies)
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        print(f"claims decision bench: {count} claims through a real worker on {BROKER.split('/')[2]}")
        print(
            f"  submit-to-decision p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
            f"  (target p95 <= 1000 ms)"
        )
        return 0
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        from django.db import connections

        connections.close_all()
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
