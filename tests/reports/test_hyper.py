"""The Tableau Hyper extract, read back through Hyper's own SQL: the same tables, columns, row counts and sums as the
database, and the same scope and masking as the feeds."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum

from claims.models import Claim, Payment, ReserveChange
from fraud.models import FraudScore
from insurance.core.exceptions import ServiceError
from policies.models import Instalment, Policy
from reports.api.feeds import FEEDS
from reports.hyper import SCHEMA, export_hyper, table_name

hyperapi = pytest.importorskip("tableauhyperapi")


@pytest.fixture(scope="module")
def hyper():
    """One local hyperd for the module's read-backs; the tests skip where it cannot start."""
    try:
        process = hyperapi.HyperProcess(
            telemetry=hyperapi.Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU, parameters={"log_config": ""}
        )
    except hyperapi.HyperException as error:  # pragma: no cover - depends on the machine
        pytest.skip(f"tableauhyperapi cannot start hyperd here: {error}")
    with process:
        yield process


class Extract:
    """An open .hyper file, queried with Hyper's SQL."""

    def __init__(self, hyper, path):
        self.connection = hyperapi.Connection(hyper.endpoint, str(path))

    def tables(self) -> set[str]:
        return {name.name.unescaped for name in self.connection.catalog.get_table_names(SCHEMA)}

    def columns(self, table: str) -> list[str]:
        definition = self.connection.catalog.get_table_definition(hyperapi.TableName(SCHEMA, table))
        return [column.name.unescaped for column in definition.columns]

    def select(self, table: str, *expressions: str, where: str = "") -> list[list]:
        """`SELECT expressions FROM "Extract"."table" [WHERE ...]`: the tests' own names, not input."""
        source = hyperapi.TableName(SCHEMA, table)
        sql = f"SELECT {', '.join(expressions)} FROM {source}" + (f" WHERE {where}" if where else "")  # noqa: S608
        return self.connection.execute_list_query(sql)

    def scalar(self, table: str, expression: str):
        source = hyperapi.TableName(SCHEMA, table)
        return self.connection.execute_scalar_query(f"SELECT {expression} FROM {source}")  # noqa: S608

    def count(self, table: str) -> int:
        return self.scalar(table, "COUNT(*)")

    def sum(self, table: str, column: str):
        return self.scalar(table, f"SUM({hyperapi.escape_name(column)})")

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def read_extract(hyper):
    opened = []

    def read(path) -> Extract:
        extract = Extract(hyper, path)
        opened.append(extract)
        return extract

    yield read
    for extract in opened:
        extract.close()


def total(queryset, column: str) -> Decimal:
    return queryset.aggregate(total=Sum(column))["total"] or Decimal("0")


def test_the_extract_reads_back_with_the_databases_counts_and_sums(book, personas, tmp_path, read_extract):
    path = tmp_path / "book.hyper"
    export = export_hyper(actor=personas.underwriter, path=path)
    extract = read_extract(path)

    assert extract.tables() == {table_name(feed) for feed in FEEDS}
    counts = {
        "claims": Claim.objects.count(),
        "policies": Policy.objects.count(),
        "instalments": Instalment.objects.count(),
        "payments": Payment.objects.count(),
        "reserves": ReserveChange.objects.count(),
        "fraud_scores": FraudScore.objects.count(),
    }
    for table, count in counts.items():
        assert extract.count(table) == count == export.rows[table], table
        assert count > 0, table

    hyper_sum = extract.sum
    assert hyper_sum("claims", "amount_claimed") == total(Claim.objects, "amount_claimed") == Decimal("5650.53")
    assert hyper_sum("claims", "paid_amount") == total(Claim.objects, "paid_amount") == Decimal("1200.00")
    assert hyper_sum("claims", "reserve_amount") == total(Claim.objects, "reserve_amount")
    assert hyper_sum("payments", "amount") == total(Payment.objects, "amount")
    assert hyper_sum("policies", "premium") == total(Policy.objects, "premium")
    assert hyper_sum("instalments", "amount") == total(Instalment.objects, "amount")
    assert hyper_sum("reserves", "amount") == total(ReserveChange.objects, "amount")
    assert hyper_sum("fraud_scores", "probability") == pytest.approx(0.05 + 0.91 + 0.4)


def test_each_table_has_the_feeds_columns_and_typed_values(book, personas, tmp_path, read_extract):
    path = tmp_path / "book.hyper"
    export_hyper(actor=personas.underwriter, path=path)
    extract = read_extract(path)
    for feed in FEEDS:
        assert extract.columns(table_name(feed)) == list(feed.serializer().fields), feed.name

    [[number, incident_at, status, decided]] = extract.select(
        "claims",
        "claim_number",
        "incident_at",
        "status",
        "decided_by_person",
        where=f"claim_id = {book.investigated.pk}",
    )
    assert number == book.investigated.number
    assert incident_at.to_datetime() == book.investigated.incident_at
    assert status == "investigation"
    assert decided is True
    paid_late = extract.scalar("payments", "MAX(paid_at)")
    assert paid_late.to_datetime() == Payment.objects.latest("created_at").created_at


def test_an_agents_extract_is_their_book_with_the_feeds_masking(book, personas, tmp_path, read_extract):
    path = tmp_path / "agent.hyper"
    export = export_hyper(actor=personas.alice_agent, path=path)
    extract = read_extract(path)

    assert extract.tables() == {"claims", "policies", "instalments", "payments", "customers"}, "no reserves or scores"
    claims = {row[0]: row[1:] for row in extract.select("claims", "claim_id", "status", "reserve_amount")}
    assert set(claims) == {book.paid.pk, book.investigated.pk, book.open_claim.pk}
    assert claims[book.investigated.pk] == ["under_review", None]
    assert all(reserve is None for _, reserve in claims.values())
    assert export.rows["customers"] == 1
    assert extract.sum("claims", "amount_claimed") == total(
        Claim.objects.filter(policy__holder=personas.alice), "amount_claimed"
    )

    with pytest.raises(ServiceError):
        export_hyper(actor=personas.alice_agent, path=tmp_path / "refused.hyper", facts=["reserves"])
    with pytest.raises(ServiceError):
        export_hyper(actor=personas.alice, path=tmp_path / "customer.hyper")
    assert not (tmp_path / "refused.hyper").exists()


def test_the_command_writes_the_named_facts(book, tmp_path, read_extract):
    path = tmp_path / "out" / "facts.hyper"
    out = StringIO()
    call_command("export_tableau", "--out", str(path), "--fact", "claims", "--fact", "fraud_scores", stdout=out)
    assert "fraud_scores" in out.getvalue()
    extract = read_extract(path)
    assert extract.tables() == {"claims", "fraud_scores"}
    assert extract.count("fraud_scores") == FraudScore.objects.count()
    assert [p.name for p in path.parent.iterdir()] == ["facts.hyper"], "no partial file left behind"
