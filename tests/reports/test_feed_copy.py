"""The CSV that PostgreSQL writes itself (`COPY ... TO STDOUT`, reports.api.pgcsv) is byte for byte the CSV the
Python path writes, for every feed, for a claim handler and for an agent (masked columns), on awkward values."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from accounts.models import CustomerProfile
from claims.models import Claim, ReserveChange
from fraud.models import FraudScore
from policies.models import Instalment
from reports.api import pgcsv
from reports.models import CustomerSegment, SegmentationRun
from tests.reports.conftest import FEEDS, csv_text

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

AGENT_FEEDS = ("claims", "policies", "instalments", "payments", "customers")


@pytest.fixture
def awkward_book(book, personas):
    """The test book with the values whose text is easy to get wrong: text with a comma, quotes, a newline and a
    carriage return, an empty text, timestamps with and without (trailing-zero) microseconds, whole and inexact
    floats, whole, negative and sub-unit amounts, and nulls (open claims, customers without a segment)."""
    Claim.objects.filter(pk=book.paid.pk).update(closed_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    Claim.objects.filter(pk=book.bobs.pk).update(
        closed_at=datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC),
        reported_at=datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=UTC),
    )
    change = ReserveChange.objects.filter(claim=book.paid).order_by("pk").first()
    ReserveChange.objects.filter(pk=change.pk).update(reason='Set, "as agreed"\nsecond line\rthird')
    Instalment.objects.filter(pk=Instalment.objects.order_by("pk").first().pk).update(amount=Decimal("-12.30"))
    Instalment.objects.filter(pk=Instalment.objects.order_by("pk").last().pk).update(amount=Decimal("0.05"))
    probabilities = iter((1.0, 0.1 + 0.2, 1e-05))
    for fraud_score in FraudScore.objects.order_by("pk"):
        FraudScore.objects.filter(pk=fraud_score.pk).update(probability=next(probabilities))
    CustomerProfile.objects.filter(user=personas.bob).update(region="")
    run = SegmentationRun.objects.create(run_by=personas.admin, seed=0, k=2, feature_schema_version=1, customer_count=1)
    CustomerSegment.objects.create(
        customer=personas.alice,
        run=run,
        label=0,
        name='new, "low" premium',
        tenure_years=2.0,
        premium=Decimal("1200.00"),
        products_held=1,
        claim_frequency=1.5,
        claim_value=Decimal("1550.18"),
    )
    return book


@pytest.mark.parametrize(
    ("persona", "name"), [("underwriter", name) for name in FEEDS] + [("alice_agent", name) for name in AGENT_FEEDS]
)
def test_copy_writes_the_python_paths_csv_byte_for_byte(persona, name, awkward_book, personas, api_client, monkeypatch):
    copied = []

    def copy_chunks(*args):
        for chunk in pgcsv.copy_chunks(*args):
            copied.append(chunk)
            yield chunk

    monkeypatch.setattr("reports.api.views.copy_chunks", copy_chunks)
    caller = api_client(getattr(personas, persona))
    from_copy = csv_text(caller, name)
    assert copied, "PostgreSQL wrote the rows"
    monkeypatch.setattr("reports.api.views.database_writes_csv", lambda queryset: False)
    from_python = csv_text(caller, name)
    assert from_copy == from_python
    assert from_copy.count("\n") > 1


def test_the_awkward_values_are_in_the_csv(awkward_book, personas, api_client):
    """The awkward values reach the stream as the Python path writes them (so the comparison above covers them)."""
    caller = api_client(personas.underwriter)
    claims = csv_text(caller, "claims")
    assert "2026-01-02T03:04:05Z" in claims
    assert "2026-01-02T03:04:05.120000Z" in claims
    assert "2026-01-02T03:04:05.000007Z" in claims
    assert '"Set, ""as agreed""\nsecond line\rthird"' in csv_text(caller, "reserves")
    scores = csv_text(caller, "fraud-scores")
    assert ",1.0," in scores
    assert ",0.30000000000000004," in scores
    assert ",1e-05," in scores
    instalments = csv_text(caller, "instalments")
    assert ",-12.3," in instalments
    assert ",0.05," in instalments
    customers = csv_text(caller, "customers")
    assert '"new, ""low"" premium"' in customers
    assert ",2.0," in customers
    assert ",1200.0," in customers
    assert "\r\n" not in customers
