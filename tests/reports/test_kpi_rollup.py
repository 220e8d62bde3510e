"""The book-wide KPI rollup: it answers underwriters, admins and analytics readers exactly as the live KPIs would
(medians within half a percent), says when it was computed, never answers agents or periods it does not hold, and a
refresh replaces the rollup before it while keeping one spare."""

import math
import random
import statistics
from datetime import date, datetime

import pytest
from django.core.management import call_command

from reports import kpis
from reports.api.kpis import KPI_VIEWS
from reports.models import KpiRollup, KpiRollupPart
from reports.services import kpi_rollup_refresh
from tests.reports.conftest import Q1_2025, claim_on, kpi, rows

pytestmark = pytest.mark.django_db

PERIODS = [
    Q1_2025,
    {"from_month": "2025-02", "to_month": "2025-02"},
    {"from_month": "2024-12", "to_month": "2026-11"},
    {**Q1_2025, "product": "test-auto"},
    {"from_month": "2026-11", "to_month": "2026-12", "product": "test-auto-b"},
]


def without_as_of(body: dict) -> dict:
    return {name: value for name, value in body.items() if name != "as_of"}


def assert_same_figures(name: str, live: dict, rolled: dict) -> None:
    if name != "cycle-time":
        assert without_as_of(rolled) == without_as_of(live)
        return
    for part in ("states", "by_month"):
        assert len(rolled[part]) == len(live[part])
        for got, want in zip(rolled[part], live[part], strict=True):
            assert {k: v for k, v in got.items() if k != "median_hours"} == {
                k: v for k, v in want.items() if k != "median_hours"
            }
            assert got["median_hours"] == pytest.approx(want["median_hours"], rel=0.005, abs=0.01)


def test_the_rollup_answers_book_wide_readers_as_the_live_kpis_do(timelines, personas, api_client):
    underwriter = api_client(personas.underwriter)
    live = {(name, i): kpi(underwriter, name, **period) for name in KPI_VIEWS for i, period in enumerate(PERIODS)}
    assert all(body["as_of"] is None for body in live.values())
    assert any(body.get("results") for body in live.values()), "the book has figures to compare"

    rollup = kpi_rollup_refresh(actor=personas.admin)

    assert rollup.finished_at is not None
    assert rollup.part_count > 0
    for (name, i), want in live.items():
        got = kpi(underwriter, name, **PERIODS[i])
        assert got["as_of"] is not None, (name, PERIODS[i])
        assert_same_figures(name, want, got)


def test_the_rollup_is_what_book_wide_readers_see_until_the_next_refresh(kpi_book, personas, api_client):
    """Figures say when they were computed: a claim filed after the refresh reaches an underwriter's KPIs at the
    next refresh, and an agent's (always live) at once."""
    kpi_rollup_refresh(actor=personas.admin)
    underwriter, agent = api_client(personas.underwriter), api_client(personas.alice_agent)
    before = rows(kpi(underwriter, "loss-ratio", **Q1_2025), product=None, key="totals")["2025-02"]["claims"]
    agent_before = rows(kpi(agent, "loss-ratio", **Q1_2025), product=None, key="totals")["2025-02"]["claims"]

    claim_on(kpi_book.a1, day=date(2025, 2, 3), amount="10.00", holder=personas.alice)

    assert rows(kpi(underwriter, "loss-ratio", **Q1_2025), product=None, key="totals")["2025-02"]["claims"] == before
    agent_body = kpi(agent, "loss-ratio", **Q1_2025)
    assert agent_body["as_of"] is None
    assert rows(agent_body, product=None, key="totals")["2025-02"]["claims"] == agent_before + 1
    kpi_rollup_refresh(actor=personas.admin)
    assert (
        rows(kpi(underwriter, "loss-ratio", **Q1_2025), product=None, key="totals")["2025-02"]["claims"] == before + 1
    )


def test_analytics_readers_get_the_rollup_and_periods_outside_it_are_live(
    kpi_book, personas, api_client, analytics_client
):
    rollup = kpi_rollup_refresh(actor=personas.admin)
    body = kpi(analytics_client(personas.analyst), "premium", **Q1_2025)
    assert datetime.fromisoformat(body["as_of"].replace("Z", "+00:00")) == rollup.finished_at
    before_rollup = {"from_month": f"{rollup.first_month.year - 1}-12", "to_month": f"{rollup.first_month:%Y-%m}"}
    assert kpi(api_client(personas.underwriter), "premium", **before_rollup)["as_of"] is None
    assert kpi(api_client(personas.underwriter), "premium", to_month="2999-12", from_month="2999-01")["as_of"] is None


def test_a_refresh_keeps_the_newest_two_rollups(kpi_book, personas):
    first = kpi_rollup_refresh(actor=personas.admin)
    second = kpi_rollup_refresh(actor=personas.admin)
    third = kpi_rollup_refresh(actor=personas.admin)
    assert set(KpiRollup.objects.values_list("pk", flat=True)) == {second.pk, third.pk}
    assert not KpiRollupPart.objects.filter(rollup_id=first.pk).exists()
    assert KpiRollupPart.objects.filter(rollup=third).count() == third.part_count
    deleted = KpiRollup.history.filter(id=first.pk, history_type="-").get()
    assert deleted.history_user == personas.admin


def test_refresh_kpis_command_is_audited_as_the_command_account(kpi_book, capsys):
    call_command("refresh_kpis")
    rollup = KpiRollup.objects.get()
    assert rollup.refreshed_by.username == "system-command"
    assert f"KPI rollup #{rollup.pk}" in capsys.readouterr().out
    assert {record.history_user for record in rollup.history.all()} == {rollup.refreshed_by}


def test_the_dashboard_says_when_its_figures_were_computed(kpi_book, personas, client):
    client.force_login(personas.underwriter)
    assert "computed live" in client.get("/reports/dashboard/", Q1_2025).content.decode()
    kpi_rollup_refresh(actor=personas.admin)
    assert "Figures as of" in client.get("/reports/dashboard/", Q1_2025).content.decode()


@pytest.mark.parametrize("count", [1, 2, 7, 1000])
def test_a_median_read_from_buckets_is_within_half_a_percent(count):
    generator = random.Random(count)
    seconds = [generator.lognormvariate(10, 2) for _ in range(count)]
    buckets: dict[int, int] = {}
    for value in seconds:
        bucket = math.floor(math.log(value) / math.log(kpis.BUCKET_GROWTH))
        buckets[bucket] = buckets.get(bucket, 0) + 1
    assert kpis._bucket_median(buckets, count) == pytest.approx(statistics.median(seconds), rel=0.005)
