"""Analytics feeds and KPIs on a large book: CSV extract rate against PostgreSQL's COPY, keyset page times, KPI times.

Either reads an existing database (`--database-url`, read-only: every session is set to
`default_transaction_read_only`, nothing is migrated or written) or creates a scratch PostgreSQL database on
BENCH_DATABASE_SERVER, generates a book of N claims (`etl.generator.generate_book`, no documents; about 30 minutes for
a million claims) and drops it afterwards. Then, in process, as a book-wide user:
- the claims feed streamed as CSV through the feed view (`?format=csv`, the same `StreamingHttpResponse` a BI tool
  reads), drained, in rows per second, side by side with `COPY (SELECT the same columns, joins and order) TO STDOUT
  WITH CSV` of the same rows in the same run (target: the feed at least a quarter of COPY's rate);
- JSON page times of the keyset walk: the first page and the last page (a cursor positioned a page before the
  highest id, as the `next` link of the walk's last-but-one page would be), median of several calls each;
- the book-wide KPI rollup's refresh (`reports.services.kpi_rollup_refresh`, what Celery beat runs hourly), timed;
  with `--database-url` only when `--refresh-rollup` is given (the one write the bench then makes);
- each KPI of `reports.kpis`, found at run time (every KPI entry point, with the module's `default_query(today)` for
  a `query` argument), for the book-wide user (answered from the rollup when one covers the period) and for one
  agent (always live) (target: within 300 ms).
Prints the figures; asserts none. Needs PostgreSQL; says so and stops otherwise.

    .venv/bin/python bench/reports_bench.py --database-url postgres://postgres@127.0.0.1:5432/insurance_bench_1m
    .venv/bin/python bench/reports_bench.py --database-url ... --refresh-rollup   # refreshes the rollup first
    .venv/bin/python bench/reports_bench.py [--claims 1000000] [--seed 7]
"""

import argparse
import inspect
import os
import resource
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
SERVER = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")
DATABASE = f"insurance_bench_{os.getpid()}"
KPI_TARGET_MS = 300


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="an existing book to read (read-only); default: generate one")
    parser.add_argument("--claims", type=int, default=1_000_000, help="claims to generate (default %(default)s)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5, help="calls per page and KPI timing (default %(default)s)")
    parser.add_argument(
        "--refresh-rollup", action="store_true", help="with --database-url: refresh the KPI rollup first (a write)"
    )
    args = parser.parse_args(argv)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "insurance.settings.local",
            "CELERY_BROKER_URL": "",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "DEBUG": "false",  # DEBUG keeps every query in memory: a million-row stream would hold 500 of them
            "LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
        return run(read_only=True, claims=None, seed=args.seed, repeat=args.repeat, refresh=args.refresh_rollup)

    import psycopg2

    try:
        admin = psycopg2.connect(f"{SERVER}/postgres")
    except psycopg2.OperationalError as error:
        print(f"reports bench: skipped, no PostgreSQL at {SERVER} ({error})")
        return 0
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {DATABASE}")
    os.environ["DATABASE_URL"] = f"{SERVER}/{DATABASE}"
    try:
        return run(read_only=False, claims=args.claims, seed=args.seed, repeat=args.repeat, refresh=True)
    finally:
        from django.db import connections

        connections.close_all()
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def median_ms(seconds: list[float]) -> str:
    low, middle, high = (value * 1000 for value in (min(seconds), statistics.median(seconds), max(seconds)))
    return f"median {middle:.1f} ms (min {low:.1f}, max {high:.1f})"


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(*, read_only: bool, claims: int | None, seed: int, repeat: int, refresh: bool) -> int:
    import django

    django.setup()
    from django.db import connection
    from django.db.backends.signals import connection_created

    if read_only and refresh:
        refresh_rollup()
        connection.close()  # the next connection is read-only
    if read_only:

        def read_only_session(sender, connection, **kwargs) -> None:
            with connection.cursor() as cursor:
                cursor.execute("SET default_transaction_read_only = on")

        connection_created.connect(read_only_session, weak=False)
    if connection.vendor != "postgresql":
        print(f"reports bench: skipped, needs PostgreSQL (got {connection.vendor})")
        return 0

    if not read_only:
        from django.core.management import call_command

        from etl.generator import generate_book
        from insurance.core.audit import system_account

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        generate_book(actor=system_account("command"), seed=seed, claims=claims, documents=0)
        print(f"reports bench: book of {claims:,} claims generated in {time.perf_counter() - started:.0f} s")

    from claims.models import Claim

    report_pending_migrations(connection)
    total = Claim.objects.count()
    print(
        f"reports bench: {total:,} claims, PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 100}, "
        f"{'read-only on ' + connection.settings_dict['NAME'] if read_only else 'scratch database'}"
    )
    if not read_only:
        refresh_rollup()
    staff = book_wide_user()
    csv_against_copy(staff)
    page_times(staff, repeat=repeat)
    kpi_times(staff, agent_user(), repeat=max(3, repeat // 2))
    return 0


def refresh_rollup() -> None:
    from insurance.core.audit import system_account
    from reports.services import kpi_rollup_refresh

    started = time.perf_counter()
    rollup = kpi_rollup_refresh(actor=system_account("command"))
    print(
        f"reports bench: KPI rollup #{rollup.pk} refreshed in {time.perf_counter() - started:.1f} s "
        f"({rollup.part_count} parts, {rollup.first_month:%Y-%m} to {rollup.last_month:%Y-%m}), peak RSS "
        f"{max_rss_mb():.0f} MB"
    )


def report_pending_migrations(connection) -> None:
    """A book made by an older checkout may lack this checkout's migrations; only what the bench reads matters."""
    from django.db.migrations.executor import MigrationExecutor

    pending = MigrationExecutor(connection).migration_plan(MigrationExecutor(connection).loader.graph.leaf_nodes())
    if pending:
        names = ", ".join(f"{migration.app_label}.{migration.name}" for migration, _ in pending[:6])
        print(f"  note: {len(pending)} migrations not applied in this database ({names}{', ...' * (len(pending) > 6)})")


def book_wide_user():
    """An active underwriter or admin of the book if it has one; otherwise an unsaved superuser holding the
    Underwriter role in memory, so a read-only run needs no user written. Both read the whole book, unmasked."""
    from accounts.models import User
    from insurance.core.roles import Role

    user = User.objects.filter(is_active=True, groups__name__in=[Role.UNDERWRITER, Role.ADMIN]).first()
    if user is None:
        user = User(username="bench-underwriter", is_active=True, is_superuser=True, is_staff=True)
        user._role_names = frozenset({Role.UNDERWRITER})  # what `user_roles` caches: no group query for it
    return user


def agent_user():
    """The agent serving the most customers, for the KPIs of one agent's book (None without agents)."""
    from django.db.models import Count

    from accounts.models import AgentProfile

    profile = AgentProfile.objects.annotate(served=Count("customers")).order_by("-served").first()
    return None if profile is None else profile.user


def feed_request(path: str, user, **params):
    from rest_framework.test import APIRequestFactory, force_authenticate

    request = APIRequestFactory().get(path, params)
    force_authenticate(request, user=user)
    return request


class CountingSink:
    """A file for COPY to write to: counts bytes and lines, keeps nothing."""

    def __init__(self) -> None:
        self.bytes = 0
        self.lines = 0

    def write(self, data) -> int:
        data = data.encode() if isinstance(data, str) else data
        self.bytes += len(data)
        self.lines += data.count(b"\n")
        return len(data)


def csv_against_copy(user) -> None:
    from django.db import connection
    from django.db.models import Max

    from reports import selectors
    from reports.api.feeds import CLAIMS
    from reports.api.rows import RowFormat
    from reports.api.views import ClaimFeedView

    view = ClaimFeedView.as_view()
    row_format = RowFormat.build(CLAIMS.serializer, sees_handler_columns=selectors.sees_handler_columns(user))
    upto = CLAIMS.model._default_manager.aggregate(highest=Max("pk"))["highest"] or 0
    same_rows = CLAIMS.rows(user=user).filter(pk__gt=0, pk__lte=upto).order_by("pk").values_list(*row_format.paths)
    sql, params = same_rows.query.sql_with_params()

    def copy() -> tuple[float, CountingSink]:
        sink = CountingSink()
        with connection.cursor() as cursor:
            statement = cursor.cursor.mogrify(sql, params).decode()
            started = time.perf_counter()
            cursor.cursor.copy_expert(f"COPY ({statement}) TO STDOUT WITH (FORMAT csv, HEADER)", sink)
        return time.perf_counter() - started, sink

    copy()  # warms the cache for both: neither side pays for reading the tables from disk first
    rss_before = max_rss_mb()
    started = time.perf_counter()
    response = view(feed_request("/api/analytics/claims/", user, format="csv"))
    assert response.status_code == 200, response.status_code
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    feed_seconds = time.perf_counter() - started
    rss_after = max_rss_mb()
    copy_seconds, sink = copy()
    feed_rows, copy_rows = lines - 1, sink.lines - 1
    feed_rate, copy_rate = feed_rows / feed_seconds, copy_rows / copy_seconds
    print("  CSV extract of the claims feed (same rows and columns, same run, warm cache):")
    print(
        f"    feed view, streamed: {feed_rows:>10,} rows in {feed_seconds:6.1f} s = {feed_rate:>9,.0f} rows/s "
        f"({size / feed_seconds / 1e6:.1f} MB/s)"
    )
    print(
        f"    COPY ... TO STDOUT:  {copy_rows:>10,} rows in {copy_seconds:6.1f} s = {copy_rate:>9,.0f} rows/s "
        f"({sink.bytes / copy_seconds / 1e6:.1f} MB/s)"
    )
    print(
        f"    feed / COPY: {feed_rate / copy_rate:.2f} (target at least 0.25); process max RSS "
        f"{rss_before:.0f} MB before the stream, {rss_after:.0f} MB after"
    )


def page_times(user, *, repeat: int) -> None:
    from django.http import QueryDict
    from django.utils import timezone

    from claims.models import Claim
    from reports.api.pagination import Position, encode_cursor, query_fingerprint
    from reports.api.views import ClaimFeedView

    view = ClaimFeedView.as_view()
    unfiltered = query_fingerprint(SimpleNamespace(query_params=QueryDict("")))
    highest = Claim.objects.order_by("-pk").values_list("pk", flat=True).first()
    print("  JSON pages of the claims feed (keyset), view call and rendering:")
    for size in (1000, 5000):
        before_last = Claim.objects.order_by("-pk").values_list("pk", flat=True)[size : size + 1]
        after = before_last[0] if before_last else 0
        cursor = encode_cursor(Position(after=after, upto=highest, as_of=timezone.now()), unfiltered)
        for label, params in (("first page", {}), ("last page ", {"cursor": cursor})):
            seconds = []
            for _ in range(repeat + 1):
                started = time.perf_counter()
                response = view(feed_request("/api/analytics/claims/", user, page_size=size, **params))
                response.render()
                seconds.append(time.perf_counter() - started)
            assert response.status_code == 200, response.content[:200]
            seconds = seconds[1:]  # the first call warms the view's caches
            print(f"    {label} of {size:>5,} rows: {median_ms(seconds)}")


def kpi_functions(module) -> list:
    """The KPI entry points of the module: its public functions that take a `user` and run in the database as one
    KPI (wrapped by `in_database`), plus the product list."""
    found = []
    for name, value in vars(module).items():
        if name.startswith("_") or not inspect.isfunction(value) or value.__module__ != module.__name__:
            continue
        if "user" in inspect.signature(value).parameters and (hasattr(value, "__wrapped__") or name == "kpi_products"):
            found.append(value)
    return found


def kpi_arguments(function, module, user, today: date) -> dict | None:
    """`user`, plus `query=module.default_query(today)` if asked for; None when it needs something else."""
    arguments = {"user": user}
    for name, parameter in inspect.signature(function).parameters.items():
        if name == "user" or parameter.default is not inspect.Parameter.empty:
            continue
        if name == "query" and hasattr(module, "default_query"):
            arguments["query"] = module.default_query(today)
        else:
            return None
    return arguments


def kpi_times(staff, agent, *, repeat: int) -> None:
    """KPIs of `reports.kpis`, found at run time so the bench follows the module as it grows."""
    import importlib

    from django.db.models import QuerySet
    from django.utils import timezone

    print(f"  KPIs (reports.kpis; target within {KPI_TARGET_MS} ms each), {repeat} calls each:")
    try:
        module = importlib.import_module("reports.kpis")
    except ImportError as error:
        print(f"    reports.kpis not importable ({error}): nothing to time yet")
        return
    today = timezone.localdate()
    users = [("whole book", staff)] + ([(f"agent {agent.username}", agent)] if agent is not None else [])
    for label, user in users:
        served = module.as_of(user=user, query=module.default_query(today))
        print(f"    as {label} ({f'from the rollup of {served:%Y-%m-%d %H:%M} UTC' if served else 'live'}):")
        for function in kpi_functions(module):
            arguments = kpi_arguments(function, module, user, today)
            if arguments is None:
                print(f"      {function.__name__:<34} skipped: needs arguments the bench cannot guess")
                continue
            seconds = []
            for _ in range(repeat):
                started = time.perf_counter()
                result = function(**arguments)
                if isinstance(result, QuerySet):
                    result = list(result)
                seconds.append(time.perf_counter() - started)
            worst = max(seconds) * 1000
            verdict = "within" if statistics.median(seconds) * 1000 <= KPI_TARGET_MS else "OVER"
            print(
                f"      {function.__name__:<34} first {seconds[0] * 1000:8.1f} ms, {median_ms(seconds)} "
                f"[{verdict} target; worst {worst:.0f} ms]"
            )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
