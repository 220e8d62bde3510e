"""Fraud model training time, single-claim scoring latency and batch rescoring rate, on a generated book.

Creates a scratch PostgreSQL database, generates a synthetic book of N claims (`etl.generator.generate_book`, no
documents; about 35 minutes for a million claims, 3 for 100,000), then:
- trains the candidates on the labelled claims (`fraud.services.training.train`; target: within 5 minutes on a
  million claims) and promotes the best (`registry.promote`, forced: it is the first model);
- scores random claims one at a time, in process: read, gather, features, predict and explain, without the write
  (target: p95 within 10 ms; each stage's figures too), and separately `score_claim` with its write, on closed
  claims (no decision engine);
- rescores a run of closed claims in batches (`scoring.rescore`), in claims per second;
- rescores a few open claims, which the decision engine re-evaluates, as the rescore a promotion enqueues would
  (disconnected from the promotion here, so it is timed on its own), and extrapolates to all open claims;
- takes a monitoring snapshot of the scores just written.
Prints the figures; asserts none. Needs PostgreSQL on BENCH_DATABASE_SERVER; says so and stops otherwise.

    .venv/bin/python bench/fraud_bench.py [claims, default 1000000] [--claims N] [--samples 500] [--rescore 50000]
    .venv/bin/python bench/fraud_bench.py --database insurance_bench_1m   # a book generated earlier: kept, reused

With `--database NAME` the bench uses that existing database (migrated, a book already generated in it, e.g. by
`generate_demo_data --claims 1000000`) instead of a scratch one, skips the generation and leaves the database in
place (with the models and scores it wrote), so the figures can be taken again without waiting for a new book.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")
DATABASE = f"insurance_bench_{os.getpid()}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("size", nargs="?", type=int, help="claims in the generated book (default 1,000,000)")
    parser.add_argument("--claims", type=int, help="the same as the positional size (e.g. --claims 100000)")
    parser.add_argument("--samples", type=int, default=500, help="claims scored one at a time (default %(default)s)")
    parser.add_argument("--rescore", type=int, default=50_000, help="claims rescored in batches (default %(default)s)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", help="an existing database holding a generated book: reused, not dropped")
    args = parser.parse_args(argv)
    claims = args.claims or args.size or 1_000_000

    import psycopg2

    try:
        admin = psycopg2.connect(f"{SERVER}/postgres")
    except psycopg2.OperationalError as error:
        print(f"fraud bench: skipped, no PostgreSQL at {SERVER} ({error})")
        return 0
    admin.autocommit = True
    database = args.database or DATABASE
    if not args.database:
        admin.cursor().execute(f"CREATE DATABASE {DATABASE}")
    os.environ.update(
        {
            "DATABASE_URL": f"{SERVER}/{database}",
            "DJANGO_SETTINGS_MODULE": "insurance.settings.local",
            "CELERY_BROKER_URL": "",  # tasks run eagerly, in process
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",  # decisions' emails: not on the console
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    try:
        return run(claims, samples=args.samples, rescore_count=args.rescore, seed=args.seed, generate=not args.database)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.database:
            admin.cursor().execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def percentiles(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000
    return f"p50 {p50:.2f} ms, p95 {p95:.2f} ms, max {ordered[-1] * 1000:.2f} ms"


def run(claims: int, *, samples: int, rescore_count: int, seed: int, generate: bool = True) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models.signals import post_save

    from claims import lifecycle
    from claims.models import Claim
    from etl.generator import generate_book
    from fraud import features
    from fraud.models import ModelVersion
    from fraud.services import monitoring, registry, scoring, training
    from insurance.core.audit import system_account

    call_command("migrate", verbosity=0)
    actor = system_account("command")
    rng = random.Random(seed)
    print(f"fraud bench: {claims:,} claims, PostgreSQL {connection.pg_version}")

    if generate:
        started = time.perf_counter()
        summary = generate_book(actor=actor, seed=seed, claims=claims, documents=0)
        print(
            f"  book generated in {time.perf_counter() - started:.0f} s: {summary.labelled:,} labelled claims, "
            f"{summary.confirmed_fraud:,} confirmed fraud ({summary.fraud_rate:.1%})"
        )
    else:
        print(f"  existing book: {Claim.objects.count():,} claims")

    labelled = training.labelled_claims().count()
    started = time.perf_counter()
    result = training.train(actor=actor, force=True)  # timed even when a model was trained on these labels
    trained = time.perf_counter() - started
    best = result.best
    print(f"  training on {labelled:,} labelled claims: {trained:.1f} s (target within 300 s on a million claims)")
    print("    " + ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in result.seconds.items()))
    for version in result.versions:
        holdout = (version.metrics or {}).get("holdout", {})
        shown = ("roc_auc", "pr_auc", "precision_at_budget", "recall_at_budget")
        figures = ", ".join(f"{name} {holdout[name]:.3f}" for name in shown if holdout.get(name) is not None)
        print(f"    v{version.version} {version.algorithm:<9} {figures}")

    # Promotion enqueues the rescore of every open claim (run eagerly here, in process): timed on its own below,
    # on at most `samples` open claims, rather than over all of them inside the promotion.
    post_save.disconnect(sender=ModelVersion, dispatch_uid="fraud.rescore_after_promotion")
    started = time.perf_counter()
    registry.promote(actor=actor, version=best, force=True, reason="fraud bench: first model")
    print(f"  promoted v{best.version} ({best.algorithm}) in {time.perf_counter() - started:.2f} s")

    loaded = registry.production_model()
    key = scoring.model_key(loaded)
    ids = list(Claim.objects.values_list("pk", flat=True))
    sample = rng.sample(ids, min(samples, len(ids)))
    warm = Claim.objects.select_related("policy__product").get(pk=sample[0])
    loaded.explain(features.features(features.gather(warm)), top=scoring.EXPLANATION_TOP)
    stages: dict[str, list[float]] = {name: [] for name in ("read", "gather", "features", "predict", "explain")}
    in_process = []
    for claim_id in sample:
        clock = [time.perf_counter()]
        claim = Claim.objects.select_related("policy__product").get(pk=claim_id)
        clock.append(time.perf_counter())
        inputs = features.gather(claim)
        clock.append(time.perf_counter())
        values = features.features(inputs)
        clock.append(time.perf_counter())
        loaded.predict_proba([values])
        clock.append(time.perf_counter())
        loaded.explain(values, top=scoring.EXPLANATION_TOP)
        clock.append(time.perf_counter())
        for index, name in enumerate(stages):
            stages[name].append(clock[index + 1] - clock[index])
        in_process.append(clock[-1] - clock[0])
    print(f"  one claim in process, no write ({len(sample)} random claims): {percentiles(in_process)}")
    print("    (target p95 within 10 ms)")
    for name, seconds in stages.items():
        print(f"    {name:<9} {percentiles(seconds)}")

    # With the write: closed claims, so the figure is scoring and storing, not the decision engine's re-evaluation.
    closed = Claim.objects.exclude(status__in=lifecycle.OPEN)
    closed_ids = list(closed.values_list("pk", flat=True))
    with_write = []
    for claim_id in rng.sample(closed_ids, min(samples, len(closed_ids))):
        begun = time.perf_counter()
        scoring.score_claim(actor=actor, claim_id=claim_id)
        with_write.append(time.perf_counter() - begun)
    if with_write:
        print(f"  one closed claim, score_claim with its write ({len(with_write)}): {percentiles(with_write)}")

    # Batch rescoring: a run of closed claims in primary-key order (the backfill after an import or a promotion).
    start = closed_ids[len(closed_ids) // 4] if closed_ids else 0
    run_ids = sorted(pk for pk in closed_ids if pk >= start)[:rescore_count]
    if run_ids:
        batch = closed.filter(pk__gte=run_ids[0], pk__lte=run_ids[-1])
        started = time.perf_counter()
        counts = scoring.rescore(actor=actor, claims=batch, batch_size=1000)
        seconds = time.perf_counter() - started
        print(
            f"  batch rescore of {counts['claims']:,} closed claims ({counts['scored']:,} newly scored under {key}): "
            f"{seconds:.1f} s, {counts['claims'] / seconds:,.0f} claims/s"
        )

    # What a promotion sets off: the open claims rescored and, those the engine still decides, re-evaluated.
    open_claims = Claim.objects.filter(status__in=lifecycle.OPEN)
    total_open = open_claims.count()
    open_ids = list(open_claims.order_by("pk").values_list("pk", flat=True)[:samples])
    if open_ids:
        started = time.perf_counter()
        counts = scoring.rescore(actor=actor, claims=open_claims.filter(pk__lte=open_ids[-1]), batch_size=1000)
        seconds = time.perf_counter() - started
        per_claim = seconds / counts["claims"]
        print(
            f"  rescore of {counts['claims']:,} open claims ({counts['reevaluated']:,} re-evaluated by the decision "
            f"engine): {seconds:.1f} s, {counts['claims'] / seconds:,.0f} claims/s; all {total_open:,} open claims "
            f"(the rescore a promotion enqueues) would take about {per_claim * total_open:,.0f} s"
        )

    started = time.perf_counter()
    snapshot = monitoring.snapshot(actor=actor, window_days=1)
    realised = snapshot.realised
    drifting = sorted(snapshot.feature_psi.items(), key=lambda item: -item[1])[:3]
    print(
        f"  monitoring snapshot of {snapshot.scored:,} scores: {time.perf_counter() - started:.1f} s; status "
        f"{snapshot.status}, score PSI {snapshot.score_psi:.3f}, most drifting "
        + ", ".join(f"{name} {value:.3f}" for name, value in drifting)
    )
    print(
        f"    realised on {realised['labelled']:,} concluded (in-sample: the model learnt these labels): precision "
        f"{realised['precision']}, recall {realised['recall']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
