"""A small book for the analytics feeds, clients for each way of calling them, and readers of JSON walks and CSV."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from claims import services as claim_services
from claims.choices import ClaimStatus, DocumentStatus, DocumentType, InvestigationOutcome
from claims.models import Claim, ClaimDocument, ExtractedField
from fraud.models import FraudScore
from policies import services as policy_services
from policies.models import Policy
from reports.services import analytics_token_issue
from tests.claims.conftest import submit
from tests.policies.factories import make_test_product, quote, set_holder

FEEDS = ("claims", "policies", "instalments", "payments", "reserves", "fraud-scores", "customers")


def in_force(holder, product, *, region: str, born: date, **kwargs):
    set_holder(holder, born=born, region=region)
    start = timezone.localdate() - timedelta(days=60)
    quoted = quote(actor=holder, holder=holder, product=product, effective_date=start, today=start, **kwargs)
    return policy_services.policy_bind(actor=holder, policy=quoted, today=start)


def score(claim: Claim, probability: float, band: str) -> FraudScore:
    return FraudScore.objects.create(
        claim=claim,
        model_key="rules-1",
        method="rules",
        feature_schema_version="1",
        feature_fingerprint=f"{claim.pk}-{probability}",
        probability=probability,
        risk_band=band,
        features={"secret": "not in the feed"},
    )


@pytest.fixture
def book(personas) -> SimpleNamespace:
    """Alice (OH, served by alice_agent): a claim approved and paid twice, one under investigation, one open.
    Bob (IL, another agent's): one claim. Each claim has a fraud score; approvals and payments move reserves."""
    product = make_test_product()
    alice_policy = in_force(
        personas.alice, product, region="OH", born=date(1980, 5, 17), coverages=[{"coverage": "collision"}]
    )
    bob_policy = in_force(personas.bob, product, region="IL", born=date(1985, 2, 1))
    paid = submit(actor=personas.alice, policy=alice_policy, amount_claimed="1200.00")
    paid = claim_services.claim_approve(actor=personas.underwriter, claim=paid, reason="Invoice checked")
    claim_services.payment_create(actor=personas.underwriter, claim=paid, amount=Decimal("300.00"), reference="P-1")
    claim_services.payment_create(actor=personas.underwriter, claim=paid, amount=Decimal("900.00"), reference="P-2")
    investigated = submit(actor=personas.alice, policy=alice_policy, amount_claimed="2999.99")
    investigated = claim_services.claim_investigate(
        actor=personas.underwriter, claim=investigated, reason="Reported late"
    )
    open_claim = submit(actor=personas.alice, policy=alice_policy, amount_claimed="450.55")
    bobs = submit(actor=personas.bob, policy=bob_policy, loss_type="injury", amount_claimed="999.99")
    for claim, probability, band in ((paid, 0.05, "low"), (investigated, 0.91, "high"), (bobs, 0.4, "medium")):
        score(claim, probability, band)
    return SimpleNamespace(
        product=product,
        alice_policy=alice_policy,
        bob_policy=bob_policy,
        paid=Claim.objects.get(pk=paid.pk),
        investigated=Claim.objects.get(pk=investigated.pk),
        open_claim=open_claim,
        bobs=bobs,
    )


@pytest.fixture
def analytics_client(db):
    """`analytics_client(user)`: an APIClient sending a fresh analytics token of that analytics reader."""

    def make(user, **issue) -> APIClient:
        issued = analytics_token_issue(actor=user, user=user, **issue)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {issued.secret}")
        client.token = issued.token
        return client

    return make


def feed_url(name: str) -> str:
    return reverse(f"analytics-api:{name}")


def walk(client: APIClient, name: str, **params) -> list[dict]:
    """Every row of a feed, following `next` links."""
    rows: list[dict] = []
    response = client.get(feed_url(name), params)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        rows.extend(body["results"])
        if body["next"] is None:
            return rows
        response = client.get(body["next"])


def csv_text(client: APIClient, name: str, **params) -> str:
    response = client.get(feed_url(name), {**params, "format": "csv"})
    assert response.status_code == 200, response.content
    assert response.streaming
    return b"".join(response.streaming_content).decode("utf-8")


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# --- the KPI book -------------------------------------------------------------------------------------------

D = Decimal
Q1_2025 = {"from_month": "2025-01", "to_month": "2025-03"}


def issue(holder, product, *, start: date, premium: str, **kwargs) -> Policy:
    """A policy bound for a year from `start`, its premium then set to a round figure so earned premium is easy to
    compute by hand (730 over 365 days earns 2.00 a day)."""
    quoted = quote(actor=holder, holder=holder, product=product, effective_date=start, today=start, **kwargs)
    policy = policy_services.policy_bind(actor=holder, policy=quoted, today=start)
    Policy.objects.filter(pk=policy.pk).update(premium=D(premium))
    policy.refresh_from_db()
    return policy


def read_invoice(claim: Claim, total: str) -> None:
    """An invoice already read, whose total agrees with the claim: what the engine needs to approve on its own."""
    document = ClaimDocument.objects.create(
        claim=claim,
        uploaded_by=claim.claimant,
        file=f"claims/{claim.number}.png",
        original_name="invoice.png",
        kind="png",
        mime="image/png",
        size=100,
        sha256=claim.number.encode().hex().ljust(64, "0")[:64],
        status=DocumentStatus.DONE,
        document_type=DocumentType.INVOICE,
        ocr_confidence=0.9,
    )
    ExtractedField.objects.create(document=document, name="total_amount", value=total, confidence=0.95)


def claim_on(policy, *, day: date, amount: str, holder, loss_type: str = "injury") -> Claim:
    incident = datetime(day.year, day.month, day.day, 10, tzinfo=UTC).isoformat()
    return submit(actor=holder, policy=policy, incident_at=incident, amount_claimed=amount, loss_type=loss_type)


@pytest.fixture
def kpi_book(personas, settings) -> SimpleNamespace:
    """Two products, three policies in 2025 and six claims, all reported now (December 2026).

    test-auto: Alice's A1 (agent alice_agent) from 2025-01-01, 730.00 (2.00 a day); Bob's B1 (other_agent) from
    2025-02-01, 365.00 (1.00 a day), with collision cover (deductible 500). test-auto-b: Alice's C1 from 2025-01-01,
    365.00, cancelled from 2025-02-15 (45 days of cover). Every term is 365 days.

    Claims (accident date; who decided; money):
      X  A1 2025-01-10  injury 93   a person approves; 31 paid, 62 reserved
      Z  B1 2025-02-20  injury 42   investigated, legitimate, a person approves; 42 paid
      S  B1 2025-02-25  collision 300, below the deductible: the engine denies (straight through)
      Y  A1 2025-03-05  injury 50   a person denies
      V  A1 2025-03-10  injury 100  the engine approves (straight through), 100 reserved; later confirmed fraud
      W  C1 2025-01-20  injury 20   investigated, confirmed fraud, a person denies
    """
    settings.CLAIMS_FRAUD_ASSESSOR = ""  # the engine decides without a fraud score...
    settings.CLAIMS_AUTO_APPROVE_WITHOUT_FRAUD_CHECK = True  # ...and may approve on its own
    auto = make_test_product()
    auto_b = make_test_product(code="test-auto-b", name="Test Auto B")
    set_holder(personas.alice, born=date(1980, 5, 17), region="OH")
    set_holder(personas.bob, born=date(1985, 2, 1), region="IL")
    a1 = issue(personas.alice, auto, start=date(2025, 1, 1), premium="730.00")
    b1 = issue(personas.bob, auto, start=date(2025, 2, 1), premium="365.00", coverages=[{"coverage": "collision"}])
    c1 = issue(personas.alice, auto_b, start=date(2025, 1, 1), premium="365.00")
    uw = personas.underwriter

    x = claim_on(a1, day=date(2025, 1, 10), amount="93.00", holder=personas.alice)
    claim_services.claim_approve(actor=uw, claim=x, reason="Invoice checked")
    claim_services.payment_create(actor=uw, claim=x, amount=D("31.00"))

    z = claim_on(b1, day=date(2025, 2, 20), amount="42.00", holder=personas.bob)
    claim_services.claim_investigate(actor=uw, claim=z, reason="Second claim in a month")
    claim_services.investigation_outcome_set(actor=uw, claim=z, outcome=InvestigationOutcome.LEGITIMATE)
    claim_services.claim_approve(actor=uw, claim=z, reason="Cleared")
    claim_services.payment_create(actor=uw, claim=z, amount=D("42.00"))

    s = claim_on(b1, day=date(2025, 2, 25), amount="300.00", holder=personas.bob, loss_type="collision")
    claim_services.claim_evaluate(actor=uw, claim=s)

    y = claim_on(a1, day=date(2025, 3, 5), amount="50.00", holder=personas.alice)
    claim_services.claim_deny(actor=uw, claim=y, reason="Not covered")

    v = claim_on(a1, day=date(2025, 3, 10), amount="100.00", holder=personas.alice)
    read_invoice(v, "100.00")
    claim_services.claim_evaluate(actor=uw, claim=v)
    claim_services.investigation_outcome_set(actor=uw, claim=v, outcome=InvestigationOutcome.CONFIRMED_FRAUD)

    w = claim_on(c1, day=date(2025, 1, 20), amount="20.00", holder=personas.alice)
    claim_services.claim_investigate(actor=uw, claim=w, reason="Soon after inception")
    claim_services.investigation_outcome_set(actor=uw, claim=w, outcome=InvestigationOutcome.CONFIRMED_FRAUD)
    claim_services.claim_deny(actor=uw, claim=w, reason="Fraud")
    policy_services.policy_cancel(
        actor=uw, policy=c1, reason="Fraud", effective_date=date(2025, 2, 15), today=date(2026, 12, 1)
    )

    claims = {name: Claim.objects.get(pk=claim.pk) for name, claim in zip("XZSYVW", (x, z, s, y, v, w), strict=True)}
    assert [claims[name].status for name in "XZSYVW"] == [
        ClaimStatus.APPROVED,
        ClaimStatus.PAID,
        ClaimStatus.DENIED,
        ClaimStatus.DENIED,
        ClaimStatus.APPROVED,
        ClaimStatus.DENIED,
    ]
    assert [claims[name].decided_by_person for name in "SV"] == [False, False], "S and V went straight through"
    assert (claims["V"].reserve_amount, claims["X"].reserve_amount) == (D("100.00"), D("62.00"))
    return SimpleNamespace(auto=auto, auto_b=auto_b, a1=a1, b1=b1, c1=c1, **claims)


def kpi(client, name: str, **params):
    response = client.get(reverse(f"analytics-api:kpi-{name}"), params)
    assert response.status_code == 200, response.content
    return response.json()


def rows(body: dict, product: str | None = "test-auto", key: str = "results") -> dict[str, dict]:
    """The rows of one product (or the totals), by month."""
    return {row["month"]: row for row in body[key] if row["product_code"] == product}


def pick(row: dict, *names: str) -> tuple:
    return tuple(row[name] for name in names)


def set_timeline(claim: Claim, start: datetime, hours: list[float]) -> None:
    """Put the claim's status changes `hours` apart, from `start`."""
    moment = start
    events = list(claim.events.exclude(to_status="").order_by("pk"))
    assert len(events) == len(hours) + 1, [event.to_status for event in events]
    for event, gap in zip(events, [0, *hours], strict=True):
        moment += timedelta(hours=gap)
        type(event).objects.filter(pk=event.pk).update(created_at=moment)


@pytest.fixture
def timelines(kpi_book):
    """Hours in each status: submitted X 1, Z 2, S 6, Y 4, V 10, W 3; investigation Z 8, W 20; approved Z 5."""
    start = datetime(2026, 11, 2, 9, tzinfo=UTC)
    for name, hours in {"X": [1], "Z": [2, 8, 5], "S": [6], "Y": [4], "V": [10], "W": [3, 20]}.items():
        set_timeline(getattr(kpi_book, name), start, hours)
    return kpi_book
