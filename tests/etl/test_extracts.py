"""Warehouse extracts: the same rows and types in CSV and Parquet as in the database, incremental by updated_at with
an overlap, scoped to the actor, whole files only, and a command that says what it wrote or why it would not."""

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum
from django.utils import timezone

from claims import services as claim_services
from claims.models import Claim, Payment
from etl import extracts
from etl.models import ExtractRun
from etl.services import extract_watermark, extract_write
from insurance.core.audit import system_account
from insurance.core.exceptions import ServiceError
from policies import services as policy_services
from policies.models import Policy
from tests.claims.conftest import submit
from tests.policies.factories import make_test_product, quote, set_holder

D = Decimal
TEXT_TO_VALUE = {
    "int": int,
    "string": str,
    "decimal": Decimal,
    "timestamp": datetime.fromisoformat,
    "date": date.fromisoformat,
    "bool": lambda text: {"true": True, "false": False}[text],
}


def _in_force(holder, product, *, region: str, born: date, **kwargs) -> Policy:
    set_holder(holder, born=born, region=region)
    start = timezone.localdate() - timedelta(days=60)
    quoted = quote(actor=holder, holder=holder, product=product, effective_date=start, today=start, **kwargs)
    return policy_services.policy_bind(actor=holder, policy=quoted, today=start)


@pytest.fixture
def book(personas) -> SimpleNamespace:
    """Alice's policy (OH) with a claim paid in two payments and an open claim; Bob's policy (IL) with one claim."""
    product = make_test_product()
    alice_policy = _in_force(
        personas.alice, product, region="OH", born=date(1980, 5, 17), coverages=[{"coverage": "collision"}]
    )
    bob_policy = _in_force(personas.bob, product, region="IL", born=date(1985, 2, 1))
    paid = submit(actor=personas.alice, policy=alice_policy, amount_claimed="1200.00")
    paid = claim_services.claim_approve(actor=personas.underwriter, claim=paid, reason="Invoice checked")
    first = claim_services.payment_create(actor=personas.underwriter, claim=paid, amount=D("300.00"), reference="B-1")
    second = claim_services.payment_create(actor=personas.underwriter, claim=paid, amount=D("900.00"), reference="B-2")
    open_claim = submit(actor=personas.alice, policy=alice_policy, amount_claimed="450.55")
    bobs = submit(actor=personas.bob, policy=bob_policy, loss_type="injury", amount_claimed="999.99")
    return SimpleNamespace(
        alice_policy=alice_policy,
        bob_policy=bob_policy,
        paid=Claim.objects.get(pk=paid.pk),
        open_claim=open_claim,
        bobs=bobs,
        payments=[first, second],
    )


@pytest.fixture
def system(db):
    return system_account("command")


@pytest.fixture(autouse=True)
def _no_overlap(settings):
    """Most tests speak of exact windows; the overlap has tests of its own."""
    settings.EXTRACT_OVERLAP_SECONDS = 0


def extract(actor, fact: str, fmt: str, out: Path, **kwargs) -> ExtractRun:
    return extract_write(actor=actor, fact=fact, fmt=fmt, out_dir=out, **kwargs)


def read_csv(path: str, fact: extracts.Fact) -> list[dict]:
    """The CSV rows, each value parsed back by its column type ("" is null)."""
    types = {column.name: column.type for column in fact.columns}
    with open(path, newline="", encoding="utf-8") as stream:
        return [
            {name: None if text == "" else TEXT_TO_VALUE[types[name]](text) for name, text in row.items()}
            for row in csv.DictReader(stream)
        ]


def read_parquet(path: str) -> list[dict]:
    return pq.read_table(path).to_pylist()


def by_key(rows: list[dict], key: str) -> dict:
    return {row[key]: row for row in rows}


def expected_claim(claim: Claim) -> dict:
    policy = claim.policy
    return {
        "claim_id": claim.pk,
        "claim_number": claim.number,
        "policy_number": policy.number,
        "product_code": "test-auto",
        "line_of_business": "auto",
        "holder_id": policy.holder_id,
        "agent_id": policy.agent_id,
        "holder_region": policy.holder.customer_profile.region,
        "incident_at": claim.incident_at,
        "reported_at": claim.reported_at,
        "loss_type": claim.loss_type,
        "amount_claimed": claim.amount_claimed,
        "currency": "USD",
        "approved_amount": claim.approved_amount,
        "reserve_amount": claim.reserve_amount,
        "paid_amount": claim.paid_amount,
        "status": claim.status,
        "priority": claim.priority,
        "fraud_risk": claim.fraud_risk,
        "decision_outcome": claim.decision_outcome or None,
        "decided_by_person": claim.decided_by_person,
        "investigation_outcome": claim.investigation_outcome,
        "closed_at": claim.closed_at,
        "created_at": claim.created_at,
        "updated_at": claim.updated_at,
    }


def blank_as_null(row: dict) -> dict:
    """CSV cannot tell an empty string from null; Parquet can."""
    return {name: None if value == "" else value for name, value in row.items()}


# --- what a file holds ---------------------------------------------------------------------------------------------


def test_claims_read_back_from_csv_and_parquet_equal_the_database(book, system, tmp_path):
    csv_run = extract(system, "claims", "csv", tmp_path)
    parquet_run = extract(system, "claims", "parquet", tmp_path)
    csv_rows, parquet_rows = read_csv(csv_run.path, extracts.CLAIMS), read_parquet(parquet_run.path)

    claims = Claim.objects.select_related("policy__holder__customer_profile").order_by("pk")
    assert (csv_run.rows, parquet_run.rows) == (3, 3)
    for claim in claims:
        assert blank_as_null(by_key(parquet_rows, "claim_id")[claim.pk]) == expected_claim(claim)
        assert by_key(csv_rows, "claim_id")[claim.pk] == expected_claim(claim)
    for column in ("amount_claimed", "paid_amount", "approved_amount", "reserve_amount"):
        in_db = Claim.objects.aggregate(total=Sum(column))["total"] or D("0")
        assert sum(row[column] or 0 for row in csv_rows) == sum(row[column] or 0 for row in parquet_rows) == in_db
    assert sum(row["amount_claimed"] for row in parquet_rows) == D("2650.54")

    schema = pq.read_schema(parquet_run.path)
    assert schema == extracts.CLAIMS.arrow_schema()
    assert schema.field("amount_claimed").type == pa.decimal128(14, 2)
    assert schema.field("updated_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("claim_id").type == pa.int64()
    assert schema.field("decided_by_person").type == pa.bool_()
    assert all(row["updated_at"].utcoffset() == timedelta(0) for row in parquet_rows)


def test_csv_text_is_plain_decimals_utc_timestamps_and_empty_nulls(book, system, tmp_path):
    run = extract(system, "claims", "csv", tmp_path)
    with open(run.path, newline="", encoding="utf-8") as stream:
        rows = {row["claim_number"]: row for row in csv.DictReader(stream)}
    open_claim = rows[book.open_claim.number]
    assert open_claim["amount_claimed"] == "450.55"
    assert open_claim["approved_amount"] == ""
    assert open_claim["decided_by_person"] == "false"
    assert rows[book.paid.number]["reserve_amount"] == "0.00"
    assert open_claim["created_at"] == book.open_claim.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_policies_and_payments_read_back_with_their_types(book, system, tmp_path):
    policies_csv = read_csv(extract(system, "policies", "csv", tmp_path).path, extracts.POLICIES)
    policies_parquet = read_parquet(extract(system, "policies", "parquet", tmp_path).path)
    alice = book.alice_policy
    alice.refresh_from_db()
    expected = {
        "policy_id": alice.pk,
        "policy_number": alice.number,
        "product_code": "test-auto",
        "line_of_business": "auto",
        "holder_id": alice.holder_id,
        "agent_id": alice.agent_id,
        "holder_region": "OH",
        "status": alice.status,
        "effective_date": alice.effective_date,
        "expiry_date": alice.expiry_date,
        "premium": alice.premium,
        "currency": "USD",
        "instalment_count": alice.instalment_count,
        "bound_at": alice.bound_at,
        "cancelled_on": None,
        "lapsed_on": None,
        "renewal_of_number": None,
        "created_at": alice.created_at,
        "updated_at": alice.updated_at,
    }
    assert by_key(policies_csv, "policy_id")[alice.pk] == expected
    assert by_key(policies_parquet, "policy_id")[alice.pk] == expected
    premiums = Policy.objects.aggregate(total=Sum("premium"))["total"]
    assert sum(row["premium"] for row in policies_csv) == sum(row["premium"] for row in policies_parquet) == premiums
    schema = pq.read_schema(extract(system, "policies", "parquet", tmp_path, full=True).path)
    assert schema.field("effective_date").type == pa.date32()
    assert schema.field("instalment_count").type == pa.int64()
    assert schema.field("premium").type == pa.decimal128(14, 2)

    payments_csv = read_csv(extract(system, "payments", "csv", tmp_path).path, extracts.PAYMENTS)
    payments_parquet = read_parquet(extract(system, "payments", "parquet", tmp_path).path)
    first = book.payments[0]
    first.refresh_from_db()
    expected_payment = {
        "payment_id": first.pk,
        "claim_id": book.paid.pk,
        "claim_number": book.paid.number,
        "policy_number": alice.number,
        "product_code": "test-auto",
        "amount": D("300.00"),
        "currency": "USD",
        "reference": "B-1",
        "paid_at": first.created_at,
        "updated_at": first.updated_at,
    }
    assert by_key(payments_csv, "payment_id")[first.pk] == expected_payment
    assert by_key(payments_parquet, "payment_id")[first.pk] == expected_payment
    paid = Payment.objects.aggregate(total=Sum("amount"))["total"]
    assert sum(row["amount"] for row in payments_csv) == sum(row["amount"] for row in payments_parquet) == paid
    assert paid == D("1200.00")


def test_parquet_is_written_one_row_group_at_a_time(book, system, tmp_path):
    rows = extracts.fact_rows(extracts.CLAIMS, Claim.objects.all(), chunk_size=2)
    path = tmp_path / "claims.parquet"
    assert extracts.write_parquet(extracts.CLAIMS, rows, path, row_group_size=2) == 3
    metadata = pq.ParquetFile(path).metadata
    assert (metadata.num_rows, metadata.num_row_groups) == (3, 2)


def test_an_empty_window_writes_the_header_or_the_schema(book, system, tmp_path):
    extract(system, "claims", "csv", tmp_path)
    extract(system, "claims", "parquet", tmp_path)
    empty_csv = extract(system, "claims", "csv", tmp_path)
    empty_parquet = extract(system, "claims", "parquet", tmp_path)
    assert (empty_csv.rows, empty_parquet.rows) == (0, 0)
    assert Path(empty_csv.path).read_text(encoding="utf-8").splitlines() == [",".join(extracts.CLAIMS.names)]
    table = pq.read_table(empty_parquet.path)
    assert table.num_rows == 0
    assert table.schema == extracts.CLAIMS.arrow_schema()


def test_the_file_is_named_after_the_fact_and_the_end_of_its_window(book, system, tmp_path):
    run = extract(system, "payments", "parquet", tmp_path / "new" / "dir")
    path = Path(run.path)
    assert path.is_absolute()
    assert path.parent == (tmp_path / "new" / "dir").resolve()
    assert re.fullmatch(r"payments-\d{8}T\d{6}\.\d{6}Z\.parquet", path.name)
    assert path.name == f"payments-{run.until.astimezone(UTC):%Y%m%dT%H%M%S.%f}Z.parquet"
    assert [p.name for p in path.parent.iterdir()] == [path.name], "no temporary file is left behind"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_failed_run_leaves_no_file_and_no_watermark(book, system, tmp_path, monkeypatch, fmt):
    real_rows = extracts.fact_rows

    def rows_then_failure(*args, **kwargs):
        yield next(real_rows(*args, **kwargs))
        raise RuntimeError("connection lost")

    monkeypatch.setattr(extracts, "fact_rows", rows_then_failure)
    with pytest.raises(RuntimeError, match="connection lost"):
        extract(system, "claims", fmt, tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert not ExtractRun.objects.exists()


# --- windows -------------------------------------------------------------------------------------------------------


def test_an_incremental_run_extracts_only_the_rows_changed_since_the_last(book, system, personas, tmp_path):
    first = extract(system, "claims", "parquet", tmp_path)
    assert (first.since, first.rows, first.actor) == (None, 3, system)

    claim_services.reserve_set(actor=personas.underwriter, claim=book.open_claim, amount=D("400"), reason="Estimate")
    second = extract(system, "claims", "parquet", tmp_path)

    assert second.since == first.until
    rows = read_parquet(second.path)
    assert [(row["claim_id"], row["reserve_amount"]) for row in rows] == [(book.open_claim.pk, D("400.00"))]
    assert extract_watermark(actor=system, fact="claims", fmt="parquet") == second.until
    assert extract(system, "claims", "csv", tmp_path).rows == 3, "each format keeps its own watermark"


@pytest.mark.parametrize(("overlap", "extracted"), [(0, set()), (300, {"late", "open_claim", "bobs"})])
def test_the_overlap_catches_rows_committed_after_a_run_with_an_older_updated_at(
    book, system, personas, tmp_path, settings, overlap, extracted
):
    settings.EXTRACT_OVERLAP_SECONDS = overlap
    Claim.objects.filter(pk=book.paid.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    first = extract(system, "claims", "csv", tmp_path)
    # A claim saved in a transaction that began before the first run and committed after it.
    late = submit(actor=personas.alice, policy=book.alice_policy, amount_claimed="75.00")
    Claim.objects.filter(pk=late.pk).update(updated_at=first.until - timedelta(seconds=60))

    second = extract(system, "claims", "csv", tmp_path)

    assert second.since == first.until - timedelta(seconds=overlap)
    names = {book.open_claim.pk: "open_claim", book.bobs.pk: "bobs", late.pk: "late", book.paid.pk: "paid"}
    assert {names[row["claim_id"]] for row in read_csv(second.path, extracts.CLAIMS)} == extracted
    # A row sent again is the same version, whole: the warehouse keeps one row per (claim_id, updated_at).
    sent_before = by_key(read_csv(first.path, extracts.CLAIMS), "claim_id")
    for row in read_csv(second.path, extracts.CLAIMS):
        assert row["claim_id"] == late.pk or row == sent_before[row["claim_id"]]


def test_full_extracts_every_row_whatever_the_watermark(book, system, personas, tmp_path):
    extract(system, "claims", "csv", tmp_path)
    claim_services.reserve_set(actor=personas.underwriter, claim=book.bobs, amount=D("10"), reason="Estimate")
    full = extract(system, "claims", "csv", tmp_path, full=True)
    assert (full.since, full.rows) == (None, 3)
    assert extract(system, "claims", "csv", tmp_path).since == full.until


def test_an_explicit_since_overrides_the_watermark(book, system, tmp_path):
    first = extract(system, "claims", "csv", tmp_path)
    since = first.until - timedelta(days=1)
    again = extract(system, "claims", "csv", tmp_path, since=since)
    assert (again.since, again.rows) == (since, 3)
    with pytest.raises(ServiceError, match="full extract has no since"):
        extract(system, "claims", "csv", tmp_path, since=since, full=True)
    with pytest.raises(ServiceError, match="time zone"):
        extract(system, "claims", "csv", tmp_path, since=datetime(2026, 1, 1))


def test_a_since_past_the_watermark_does_not_move_it(book, system, personas, tmp_path):
    first = extract(system, "claims", "csv", tmp_path)
    claim_services.reserve_set(actor=personas.underwriter, claim=book.open_claim, amount=D("10"), reason="Estimate")
    book.open_claim.refresh_from_db()
    claim_services.reserve_set(actor=personas.underwriter, claim=book.bobs, amount=D("20"), reason="Estimate")

    ad_hoc = extract(system, "claims", "csv", tmp_path, since=book.open_claim.updated_at)
    assert [row["claim_id"] for row in read_csv(ad_hoc.path, extracts.CLAIMS)] == [book.bobs.pk]

    assert extract_watermark(actor=system, fact="claims", fmt="csv") == first.until
    following = extract(system, "claims", "csv", tmp_path)
    assert {row["claim_id"] for row in read_csv(following.path, extracts.CLAIMS)} == {book.open_claim.pk, book.bobs.pk}


# --- who reads what ------------------------------------------------------------------------------------------------


def test_an_agent_extracts_only_the_claims_they_serve_without_handler_columns(book, system, personas, tmp_path):
    run = extract(personas.alice_agent, "claims", "parquet", tmp_path)
    rows = read_parquet(run.path)
    assert {row["claim_id"] for row in rows} == {book.paid.pk, book.open_claim.pk}
    for column in ("reserve_amount", "priority", "fraud_risk", "decided_by_person", "investigation_outcome"):
        assert {row[column] for row in rows} == {None}, column
    assert {row["paid_amount"] for row in rows} == {D("1200.00"), D("0.00")}
    assert run.actor == personas.alice_agent
    assert run.history.get().history_user == personas.alice_agent
    assert extract(system, "claims", "parquet", tmp_path).since is None, "another actor's watermark is not ours"


def test_an_analyst_reads_the_whole_book_without_handler_columns(book, personas, tmp_path):
    rows = read_parquet(extract(personas.analyst, "claims", "parquet", tmp_path).path)
    assert len(rows) == 3
    assert {row["fraud_risk"] for row in rows} == {None}
    assert extract(personas.analyst, "policies", "csv", tmp_path).rows == 2
    assert extract(personas.analyst, "payments", "csv", tmp_path).rows == 2


def test_a_user_without_the_view_permission_extracts_nothing(book, personas, tmp_path):
    with pytest.raises(ServiceError, match="outsider may not read claims"):
        extract(personas.outsider, "claims", "csv", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_unknown_fact_and_format_are_refused(system, tmp_path):
    with pytest.raises(ServiceError, match="Unknown fact 'nope'"):
        extract(system, "nope", "csv", tmp_path)
    with pytest.raises(ServiceError, match="Unknown format 'xlsx'"):
        extract(system, "claims", "xlsx", tmp_path)


# --- the command ---------------------------------------------------------------------------------------------------


def test_the_command_writes_every_fact_in_both_formats(book, tmp_path):
    out = io.StringIO()
    call_command("export_extract", "--out", str(tmp_path), stdout=out)
    lines = out.getvalue().splitlines()
    runs = ExtractRun.objects.order_by("pk")
    assert len(lines) == runs.count() == 6
    assert {(run.fact, run.format) for run in runs} == {
        (fact, fmt) for fact in ("claims", "policies", "payments") for fmt in ("csv", "parquet")
    }
    assert {run.actor.username for run in runs} == {"system-command"}
    for line, run in zip(lines, runs, strict=True):
        assert line.startswith(f"{run.fact} {run.format}: {run.rows} rows -> {run.path} (updated after the beginning")
        assert Path(run.path).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(Path(run.path).name for run in runs)


def test_the_command_extracts_incrementally_as_the_actor(book, personas, tmp_path):
    args = ["export_extract", "--fact", "claims", "--format", "csv", "--out", str(tmp_path), "--actor", "underwriter"]
    call_command(*args, stdout=io.StringIO())
    claim_services.reserve_set(actor=personas.underwriter, claim=book.bobs, amount=D("10"), reason="Estimate")
    out = io.StringIO()
    call_command(*args, stdout=out)
    latest = ExtractRun.objects.latest("until")
    assert (latest.actor, latest.rows) == (personas.underwriter, 1)
    assert f"claims csv: 1 rows -> {latest.path} (updated after {latest.since.isoformat()}" in out.getvalue()

    call_command(*args, "--full", stdout=io.StringIO())
    assert ExtractRun.objects.latest("until").rows == 3
    yesterday = (timezone.now() - timedelta(days=1)).date().isoformat()
    call_command(*args, "--since", yesterday, stdout=io.StringIO())
    latest = ExtractRun.objects.latest("until")
    assert latest.since == datetime.fromisoformat(yesterday).replace(tzinfo=UTC)
    assert latest.rows == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "--since: 'yesterday' is not an ISO-8601 date"),
        (["--since", "2026-02-30"], "is not an ISO-8601 date"),
        (["--since", "2999-01-01T00:00:00Z"], "is not in the past"),
        (["--fact", "nope"], "invalid choice: 'nope'"),
        (["--format", "xlsx"], "invalid choice: 'xlsx'"),
        (["--full", "--since", "2026-01-01"], "not allowed with argument"),
        (["--actor", "nobody"], "no user named 'nobody'"),
        (["--fact", "policies", "--actor", "outsider"], "policies csv: outsider may not read policies"),
    ],
)
def test_the_command_refuses_bad_input_with_a_message(personas, tmp_path, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("export_extract", "--out", str(tmp_path), *args, stdout=io.StringIO())
    assert not ExtractRun.objects.exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [({"fact": "nope"}, "--fact: unknown fact 'nope'"), ({"since": "yesterday"}, "--since: 'yesterday'")],
)
def test_the_command_checks_options_given_as_keywords(db, tmp_path, options, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("export_extract", out=str(tmp_path), stdout=io.StringIO(), **options)


def test_the_command_says_when_it_cannot_write(db, tmp_path):
    not_a_directory = tmp_path / "taken"
    not_a_directory.write_text("")
    with pytest.raises(CommandError, match=r"claims csv: Cannot write to .*taken"):
        call_command("export_extract", "--fact", "claims", "--format", "csv", "--out", str(not_a_directory))
