"""A small book for the analytics feeds, clients for each way of calling them, and readers of JSON walks and CSV."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from claims import services as claim_services
from claims.models import Claim
from fraud.models import FraudScore
from policies import services as policy_services
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
