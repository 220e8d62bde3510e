"""Import throughput against raw PostgreSQL COPY, in the same run, on the same machine and the same table.

Creates a scratch PostgreSQL database, imports customers and policies, then writes a claims CSV of N rows (default
1,000,000) in our `claims` export format and imports it with `import_data`'s service (parsing, checks, staging COPY,
merge, history rows and timeline events). Then it COPYs the very same claims, already in table form, straight into
`claims_claim` (new numbers, so the two never collide) and prints both rates side by side, with the import's peak
memory at a tenth of the file and at the end (flat memory means the two are close). Target: the import reaches at
least half of raw COPY's rows per second, history included.

    .venv/bin/python bench/etl_import_bench.py [rows, default 1000000]
"""

import csv
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")
DATABASE = f"insurance_bench_{os.getpid()}"
POLICIES = 20_000
LOSS_TYPES = ["collision", "theft", "fire", "injury"]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_claims_csv(path: Path, rows: int, rng: random.Random) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        header = "claim_number policy_number incident_at reported_at loss_type place description amount currency"
        writer.writerow([*header.split(), "police_report", "witnesses", "status", "fraud", "adjuster_code"])
        for i in range(rows):
            incident = start + timedelta(minutes=rng.randrange(0, 500_000))
            reported = incident + timedelta(hours=rng.randrange(1, 2000))
            writer.writerow(
                [
                    f"B-{i:08d}",
                    f"BP-{rng.randrange(POLICIES):06d}",
                    incident.strftime("%Y-%m-%d %H:%M"),
                    reported.strftime("%Y-%m-%d %H:%M"),
                    LOSS_TYPES[i % 4],
                    "Leeds",
                    "Bench claim",
                    f"{rng.randrange(100, 90_000)}.{rng.randrange(100):02d}",
                    "GBP",
                    "Y" if i % 3 else "N",
                    i % 4,
                    "closed",
                    "Y" if i % 17 == 0 else "N",
                    f"ADJ{i % 50}",  # a column the mapping does not name: kept in attributes
                ]
            )


def main(rows: int) -> int:
    import psycopg2

    try:
        admin = psycopg2.connect(f"{SERVER}/postgres")
    except psycopg2.OperationalError as error:
        print(f"etl import bench: skipped, no PostgreSQL at {SERVER} ({error})")
        return 0
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {DATABASE}")
    os.environ.update(
        {
            "DATABASE_URL": f"{SERVER}/{DATABASE}",
            "DJANGO_SETTINGS_MODULE": "insurance.settings.local",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    try:
        return run(rows)
    finally:
        from django.db import connections

        connections.close_all()
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def run(rows: int) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from claims.models import Claim
    from etl import services
    from insurance.core.audit import system_account
    from policies.demo import create_demo_products

    call_command("migrate", verbosity=0)
    create_demo_products()
    actor = system_account("command")
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        customers = folder / "customers.csv"
        customers.write_text(
            "customer_number,first_name,last_name\n" + "".join(f"BC-{i:06d},N{i},L{i}\n" for i in range(POLICIES))
        )
        policies = folder / "policies.csv"
        policies.write_text(
            "policy_number,product_code,customer_number,effective_date,premium\n"
            + "".join(f"BP-{i:06d},auto-comprehensive,BC-{i:06d},2024-06-01,{500 + i % 700}\n" for i in range(POLICIES))
        )
        for path, mapping in ((customers, "customers"), (policies, "policies")):
            batch = services.import_run(actor=actor, path=path, mapping_name=mapping, batch_size=5000)
            assert batch.rows_loaded == POLICIES, batch.reject_sample
        claims_csv = folder / "claims.csv"
        write_claims_csv(claims_csv, rows, rng)
        print(f"etl import bench: {rows:,} claims on {POLICIES:,} policies, PostgreSQL {connection.pg_version}")

        checkpoints = {}
        seen = 0

        def progress(count: int) -> None:
            nonlocal seen
            seen += count
            if seen == rows // 10:
                checkpoints["tenth"] = peak_mb()

        started = time.perf_counter()
        batch = services.import_run(
            actor=actor, path=claims_csv, mapping_name="claims", batch_size=5000, progress=progress
        )
        imported = time.perf_counter() - started
        checkpoints["end"] = peak_mb()
        assert batch.rows_loaded == rows, (batch.rows_rejected, batch.reject_sample)
        assert Claim.history.filter(history_change_reason=batch.change_reason).count() == rows

        # The same rows, already in table form, COPYed straight into the same table under new numbers.
        columns = [f.column for f in Claim._meta.concrete_fields if not f.primary_key]
        exported, raw_file = folder / "exported.tsv", folder / "raw.tsv"
        with connection.cursor() as cursor, exported.open("w") as handle:
            cursor.copy_expert(
                f"COPY (SELECT {', '.join(columns)} FROM claims_claim WHERE number LIKE 'B-%') TO STDOUT", handle
            )
        _renumber(exported, raw_file, columns.index("number"))
        with connection.cursor() as cursor, raw_file.open() as handle:
            started = time.perf_counter()
            cursor.copy_expert(f"COPY claims_claim ({', '.join(columns)}) FROM STDIN", handle)
            copied = time.perf_counter() - started
    import_rate, copy_rate = rows / imported, rows / copied
    print(f"  import_data (parse, check, stage, merge, history): {import_rate:>10,.0f} rows/s  ({imported:.1f} s)")
    print(f"  raw COPY into claims_claim:                        {copy_rate:>10,.0f} rows/s  ({copied:.1f} s)")
    print(f"  import / COPY: {import_rate / copy_rate:.2f} (target at least 0.50)")
    print(
        f"  import peak memory: {checkpoints.get('tenth', 0):.0f} MB at a tenth of the file, "
        f"{checkpoints['end']:.0f} MB at the end"
    )
    return 0


def _renumber(source: Path, target: Path, position: int) -> None:
    """The exported rows under new claim numbers (R- instead of B-), so raw COPY inserts rather than collides."""
    with source.open() as lines, target.open("w") as out:
        for line in lines:
            values = line.split("\t")
            values[position] = "R-" + values[position][2:]
            out.write("\t".join(values))


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
