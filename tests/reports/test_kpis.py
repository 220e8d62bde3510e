"""The KPIs against figures computed by hand on a small book, each caller's scope (another agent's claims change
nothing in an agent's KPIs), what agents are not told, who may call, and a 400 for every kind of bad input."""

from datetime import UTC, date, datetime, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from claims import services as claim_services
from policies import services as policy_services
from reports.api.kpis import KPI_VIEWS
from tests.reports.conftest import Q1_2025, D, claim_on, kpi, pick, rows

pytestmark = pytest.mark.django_db


# --- each KPI against the hand-computed figures -----------------------------------------------------------------


def test_premium_written_and_earned(kpi_book, personas, api_client):
    body = kpi(api_client(personas.underwriter), "premium", **Q1_2025)
    assert (body["from_month"], body["to_month"], body["product"]) == ("2025-01", "2025-03", None)
    fields = ("policies_written", "written_premium", "earned_premium", "exposure_policy_years")
    auto = rows(body)
    # A1 earns 2.00 a day, B1 1.00 a day from February.
    assert pick(auto["2025-01"], *fields) == (1, 730.0, 62.0, round(31 / 365, 4))
    assert pick(auto["2025-02"], *fields) == (1, 365.0, 56.0 + 28.0, round(56 / 365, 4))
    assert pick(auto["2025-03"], *fields) == (0, 0.0, 62.0 + 31.0, round(62 / 365, 4))
    # C1 earns 1.00 a day until its cancellation on 15 February, then nothing.
    auto_b = rows(body, "test-auto-b")
    assert [auto_b[month]["earned_premium"] for month in ("2025-01", "2025-02", "2025-03")] == [31.0, 14.0, 0.0]
    totals = rows(body, None, "totals")
    assert [totals[month]["earned_premium"] for month in ("2025-01", "2025-02", "2025-03")] == [93.0, 98.0, 93.0]
    assert [totals[month]["written_premium"] for month in ("2025-01", "2025-02", "2025-03")] == [1095.0, 365.0, 0.0]
    assert {row["currency"] for row in body["results"] + body["totals"]} == {"USD"}


def test_earned_premium_runs_to_the_period_end_pro_rata(kpi_book, personas, api_client):
    """A whole year earns the whole premium; a period ending mid-term earns only its days."""
    year = {"from_month": "2025-01", "to_month": "2025-12", "product": "test-auto"}
    body = kpi(api_client(personas.underwriter), "premium", **year)
    a1_and_b1 = sum(row["earned_premium"] for row in body["results"])
    assert a1_and_b1 == pytest.approx(730.0 + 334.0)  # A1's full year; B1's February to December (334 days)
    assert len(body["results"]) == len(body["totals"]) == 12


def test_loss_ratio_by_product_and_accident_month(kpi_book, personas, api_client):
    body = kpi(api_client(personas.underwriter), "loss-ratio", **Q1_2025)
    fields = ("earned_premium", "claims", "paid", "outstanding_reserves", "incurred", "loss_ratio", "paid_loss_ratio")
    auto = rows(body)
    assert pick(auto["2025-01"], *fields) == (62.0, 1, 31.0, 62.0, 93.0, 1.5, 0.5)  # X: 93 incurred on 62 earned
    assert pick(auto["2025-02"], *fields) == (84.0, 2, 42.0, 0.0, 42.0, 0.5, 0.5)  # Z paid 42; S denied
    assert pick(auto["2025-03"], *fields) == (93.0, 2, 0.0, 100.0, 100.0, round(100 / 93, 4), 0.0)  # V reserved
    auto_b = rows(body, "test-auto-b")
    assert pick(auto_b["2025-01"], "claims", "incurred", "loss_ratio") == (1, 0.0, 0.0)  # W denied
    assert auto_b["2025-03"]["loss_ratio"] is None, "nothing earned: no ratio"
    totals = rows(body, None, "totals")
    assert pick(totals["2025-01"], "earned_premium", "incurred", "loss_ratio") == (93.0, 93.0, 1.0)


def test_claim_frequency_and_severity(kpi_book, personas, api_client):
    body = kpi(api_client(personas.underwriter), "frequency-severity", **Q1_2025)
    auto = rows(body)
    fields = ("claims", "frequency", "claims_with_payment", "paid_severity", "claims_with_loss", "incurred_severity")
    # Frequency: claims per policy-year of cover: 1 claim in 31 policy-days is 365 / 31 a policy-year.
    assert pick(auto["2025-01"], *fields) == (1, round(365 / 31, 4), 1, 31.0, 1, 93.0)
    assert pick(auto["2025-02"], *fields) == (2, round(2 * 365 / 56, 4), 1, 42.0, 1, 42.0)
    assert pick(auto["2025-03"], *fields) == (2, round(2 * 365 / 62, 4), 0, None, 1, 100.0)


def test_straight_through_rate_and_the_straight_through_claims_that_proved_fraudulent(kpi_book, personas, api_client):
    body = kpi(api_client(personas.underwriter), "straight-through", from_month="2026-12", to_month="2026-12")
    fields = ("claims_decided", "straight_through", "straight_through_rate", "straight_through_confirmed_fraud")
    assert pick(rows(body)["2026-12"], *fields) == (5, 2, 0.4, 1)  # S and V of X, Z, S, Y, V; V was fraud
    assert pick(rows(body, "test-auto-b")["2026-12"], *fields) == (1, 0, 0.0, 0)
    assert pick(rows(body, None, "totals")["2026-12"], *fields) == (6, 2, round(2 / 6, 4), 1)


def test_fraud_referral_and_hit_rates(kpi_book, personas, api_client):
    body = kpi(api_client(personas.underwriter), "fraud", from_month="2026-12", to_month="2026-12")
    fields = ("claims_reported", "referred", "referral_rate", "concluded", "confirmed_fraud", "hit_rate")
    # Referred: Z and W were sent to investigation; V carries a confirmed outcome. Z proved legitimate.
    assert pick(rows(body, None, "totals")["2026-12"], *fields) == (6, 3, 0.5, 3, 2, round(2 / 3, 4))
    assert pick(rows(body)["2026-12"], *fields) == (5, 2, 0.4, 2, 1, 0.5)


def test_renewal_retention(kpi_book, personas, api_client):
    renewal = policy_services.policy_offer_renewal(actor=personas.alice, policy=kpi_book.a1, today=date(2025, 12, 1))
    policy_services.policy_bind(actor=personas.alice, policy=renewal, today=date(2025, 12, 10))
    body = kpi(api_client(personas.underwriter), "renewal-retention", from_month="2026-01", to_month="2026-03")
    fields = ("due_for_renewal", "renewed", "retention_rate")
    auto = rows(body)
    assert pick(auto["2026-01"], *fields) == (1, 1, 1.0)  # A1 renewed
    assert pick(auto["2026-02"], *fields) == (1, 0, 0.0)  # B1 not
    assert pick(auto["2026-03"], *fields) == (0, 0, None)
    assert rows(body, "test-auto-b") == {}, "a cancelled policy never came due"


def test_cycle_time_per_claim_state(timelines, personas, api_client):
    body = kpi(api_client(personas.underwriter), "cycle-time", from_month="2026-11", to_month="2026-11")
    states = {row["state"]: pick(row, "stays", "mean_hours", "median_hours") for row in body["states"]}
    assert states == {
        "submitted": (6, round(26 / 6, 2), 3.5),  # 1, 2, 3, 4, 6, 10
        "investigation": (2, 14.0, 14.0),
        "approved": (1, 5.0, 5.0),  # the current stays (X, V approved; Z paid) have no end yet
    }
    assert {(row["month"], row["state"]) for row in body["by_month"]} == {
        ("2026-11", "submitted"),
        ("2026-11", "investigation"),
        ("2026-11", "approved"),
    }
    assert kpi(api_client(personas.underwriter), "cycle-time", from_month="2026-12", to_month="2026-12")["states"] == []


def test_agent_performance(kpi_book, personas, api_client):
    body = kpi(api_client(personas.underwriter), "agents", **Q1_2025)
    by_agency = {row["agency"]: row for row in body["results"]}
    fields = (
        "policies_written",
        "written_premium",
        "earned_premium",
        "claims",
        "paid",
        "incurred",
        "loss_ratio",
        "fraud_hit_rate",
    )
    # North (alice_agent): A1 and C1 written, A1 90 days at 2.00 + C1 45 days at 1.00; X, Y, V, W; V and W fraud.
    assert pick(by_agency["North Agency"], *fields) == (2, 1095.0, 225.0, 4, 31.0, 193.0, round(193 / 225, 4), 1.0)
    # South (other_agent): B1, 59 days at 1.00; Z and S; Z was investigated and legitimate.
    assert pick(by_agency["South Agency"], *fields) == (1, 365.0, 59.0, 2, 42.0, 42.0, round(42 / 59, 4), 0.0)


def test_a_product_filter_narrows_every_figure(kpi_book, personas, api_client):
    body = kpi(api_client(personas.underwriter), "loss-ratio", product="test-auto-b", **Q1_2025)
    assert body["product"] == "test-auto-b"
    assert {row["product_code"] for row in body["results"]} == {"test-auto-b"}
    assert rows(body, None, "totals")["2025-01"]["earned_premium"] == 31.0
    agents = kpi(api_client(personas.underwriter), "agents", product="test-auto-b", **Q1_2025)["results"]
    assert [(row["agency"], row["claims"]) for row in agents] == [("North Agency", 1)]


# --- scope ------------------------------------------------------------------------------------------------------

AGENT_KPIS = ("premium", "loss-ratio", "frequency-severity", "cycle-time", "renewal-retention", "agents")


def test_an_agents_kpis_cover_only_their_book(kpi_book, personas, api_client):
    agent = api_client(personas.alice_agent)
    before = {name: kpi(agent, name, **Q1_2025) for name in AGENT_KPIS}
    assert {row["product_code"] for row in before["premium"]["results"]} == {"test-auto", "test-auto-b"}
    assert pick(rows(before["premium"])["2025-02"], "policies_written", "earned_premium") == (0, 56.0), "B1 is not hers"
    assert pick(rows(before["loss-ratio"])["2025-02"], "claims", "paid") == (0, 0.0), "Z and S are Bob's"
    assert [row["agency"] for row in before["agents"]["results"]] == ["North Agency"]

    # Another agent's customer claims and is paid: nothing in alice_agent's KPIs moves.
    more = claim_on(kpi_book.b1, day=date(2025, 3, 1), amount="500.00", holder=personas.bob)
    claim_services.claim_approve(actor=personas.underwriter, claim=more, reason="ok")
    claim_services.payment_create(actor=personas.underwriter, claim=more, amount=D("500.00"))
    after = {name: kpi(agent, name, **Q1_2025) for name in AGENT_KPIS}
    assert after == before
    underwriter = kpi(api_client(personas.underwriter), "loss-ratio", **Q1_2025)
    assert rows(underwriter)["2025-03"]["claims"] == 3, "the book-wide view does see it"


def test_a_grant_brings_one_claim_and_one_policy_into_an_agents_kpis(kpi_book, personas, api_client):
    """The KPIs narrow an agent's scope to their customers' rows by id; rows granted to them one by one count too."""
    agent = api_client(personas.alice_agent)
    before = kpi(agent, "loss-ratio", **Q1_2025)
    bobs = claim_on(kpi_book.b1, day=date(2025, 3, 1), amount="500.00", holder=personas.bob)
    for obj in (bobs, kpi_book.b1):
        account_services.object_access_grant(
            actor=personas.underwriter,
            user=personas.alice_agent,
            obj=obj,
            expires_at=timezone.now() + timedelta(days=14),
            reason="covering for a colleague on leave",
        )
    after = kpi(agent, "loss-ratio", **Q1_2025)
    assert rows(after)["2025-03"]["claims"] == rows(before)["2025-03"]["claims"] + 1
    assert rows(after)["2025-02"]["earned_premium"] > rows(before)["2025-02"]["earned_premium"], "B1's premium"


def test_agents_are_told_what_the_claims_api_tells_them(timelines, personas, api_client):
    agent = api_client(personas.alice_agent)
    loss = rows(kpi(agent, "loss-ratio", **Q1_2025))["2025-01"]
    assert pick(loss, "outstanding_reserves", "incurred", "loss_ratio", "paid_loss_ratio") == (None, None, None, 0.5)
    severity = rows(kpi(agent, "frequency-severity", **Q1_2025))["2025-01"]
    assert pick(severity, "claims_with_loss", "incurred", "incurred_severity", "paid_severity") == (
        None,
        None,
        None,
        31.0,
    )
    agents = kpi(agent, "agents", **Q1_2025)["results"][0]
    assert pick(agents, "incurred", "loss_ratio", "confirmed_fraud", "fraud_hit_rate") == (None, None, None, None)
    states = {row["state"]: row["stays"] for row in kpi(agent, "cycle-time", from_month="2026-11")["states"]}
    assert states == {"submitted": 4, "under_review": 1}, "W's investigation shows as a review"
    for name in ("straight-through", "fraud"):
        response = agent.get(reverse(f"analytics-api:kpi-{name}"))
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize(
    ("persona", "status"),
    [("alice", 403), ("outsider", 403), ("alice_agent", 200), ("underwriter", 200), ("admin", 200)],
)
@pytest.mark.parametrize("name", list(KPI_VIEWS))
def test_who_may_read_kpis(personas, api_client, persona, status, name):
    if persona == "alice_agent" and name in ("straight-through", "fraud"):
        status = 403
    response = api_client(getattr(personas, persona)).get(reverse(f"analytics-api:kpi-{name}"))
    assert response.status_code == status, response.content


def test_analytics_readers_read_kpis_with_their_token_and_anonymous_callers_none(
    kpi_book, personas, api_client, analytics_client
):
    body = kpi(analytics_client(personas.analyst), "loss-ratio", **Q1_2025)
    assert rows(body)["2025-01"]["loss_ratio"] == 1.5
    assert api_client(None).get(reverse("analytics-api:kpi-premium")).status_code == 401


def test_the_default_period_is_the_last_twelve_months(personas, api_client):
    body = kpi(api_client(personas.underwriter), "premium")
    this_month = datetime.now(UTC).date().replace(day=1)
    assert body["to_month"] == f"{this_month:%Y-%m}"
    assert body["from_month"] == f"{this_month - relativedelta(months=11):%Y-%m}"
    assert body["results"] == body["totals"] == [], "an empty book has no rows"


# --- bad input ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        ({"month": "2025-01"}, "month", "Unknown parameter"),
        ({"from": "2025-01"}, "from", "Unknown parameter"),
        ({"from_month": "2025-13"}, "from_month", "not a month"),
        ({"from_month": "2025/01"}, "from_month", "YYYY-MM"),
        ({"to_month": "2025-01-31"}, "to_month", "YYYY-MM"),
        ({"to_month": "January"}, "to_month", "YYYY-MM"),
        ({"from_month": "2025-06", "to_month": "2025-01"}, "from_month", "after to_month"),
        ({"from_month": "2020-01", "to_month": "2025-12"}, "from_month", "at most 60 months"),
        ({"product": "no-such-product"}, "product", "No product"),
        ({"format": "csv"}, "format", "One of"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(personas, api_client, params, field, fragment):
    response = api_client(personas.underwriter).get(reverse("analytics-api:kpi-loss-ratio"), params)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["status"] == 400
    assert field in error["fields"], error
    assert fragment in " ".join(error["fields"][field]), error
    assert error["message"].startswith(f"{field}: ")


def test_the_kpis_are_in_the_openapi_schema_with_descriptions(personas, api_client):
    schema = api_client(personas.admin).get(reverse("schema"), {"format": "json"}).json()
    operation = schema["paths"]["/api/analytics/kpis/loss-ratio/"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} >= {"product", "from_month", "to_month"}
    assert "accident month" in operation["description"]
    row = schema["components"]["schemas"]["KpiLossRatioRow"]["properties"]
    assert "paid + outstanding_reserves" in row["incurred"]["description"]
    assert all(field.get("description") for field in row.values()), row
    for name in KPI_VIEWS:
        assert f"/api/analytics/kpis/{name}/" in schema["paths"]
