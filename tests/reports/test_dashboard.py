"""The KPI dashboard: underwriters and admins see the book's KPIs as charts with their data tables, filtered by product
and period; everyone else is refused; the charting library comes from our own static files."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.template.loader import get_template
from django.templatetags.static import static
from django.urls import reverse

pytestmark = pytest.mark.django_db

URL = reverse("reports:dashboard")
Q1_2025 = {"from_month": "2025-01", "to_month": "2025-03"}
CHARTS = ["premium", "loss-ratio", "frequency", "severity", "straight-through", "fraud", "renewals", "cycle-time"]


def chart(response, chart_id: str):
    return next(chart for chart in response.context["charts"] if chart.id == chart_id)


def test_an_underwriter_sees_every_kpi_as_a_chart_with_its_data(kpi_book, personas, client):
    client.force_login(personas.underwriter)
    response = client.get(URL, Q1_2025)
    assert response.status_code == 200
    assert [chart.id for chart in response.context["charts"]] == CHARTS
    premium = chart(response, "premium")
    assert premium.labels == ["2025-01", "2025-02", "2025-03"]
    assert [(series.label, series.values) for series in premium.series] == [
        ("Written", [1095.0, 365.0, 0.0]),
        ("Earned", [93.0, 98.0, 93.0]),
    ]
    loss = chart(response, "loss-ratio")
    assert loss.series[0].values[0] == 1.0  # January: 93 incurred on 93 earned, as the API says
    html = response.content.decode()
    for chart_id in CHARTS:
        assert f'id="kpi-{chart_id}-chart"' in html
        assert f'aria-labelledby="kpi-{chart_id}-title"' in html
    # Each chart's figures are in a table too (for screen readers, and without JavaScript).
    assert '<th scope="row">2025-02</th><td>365.00</td><td>98.00</td>' in html
    assert "<td>100.0 %</td>" in html  # the loss ratio in January
    assert 'id="kpi-charts" type="application/json"' in html
    assert [row["agency"] for row in response.context["agents"]] == ["North Agency", "South Agency"]
    assert "North Agency" in html


def test_the_filters_narrow_the_charts(kpi_book, personas, client):
    client.force_login(personas.admin)
    response = client.get(URL, {**Q1_2025, "product": "test-auto-b"})
    assert response.status_code == 200
    assert chart(response, "premium").series[1].values == [31.0, 14.0, 0.0]
    assert '<option value="test-auto-b" selected>' in response.content.decode()
    assert 'value="2025-01"' in response.content.decode()


def test_bad_filters_are_shown_with_a_400(personas, client):
    client.force_login(personas.underwriter)
    response = client.get(URL, {"from_month": "2025-13", "product": "nope"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'aria-invalid="true"' in html
    assert "2025-13 is not a month." in html
    assert "No product has the code" in html
    assert "charts" not in response.context or not response.context["charts"]


def test_the_default_is_the_last_twelve_months(personas, client):
    client.force_login(personas.underwriter)
    response = client.get(URL)
    assert response.status_code == 200
    assert len(chart(response, "premium").labels) == 12


@pytest.mark.parametrize(
    ("persona", "status"),
    [("alice", 403), ("alice_agent", 403), ("outsider", 403), ("analyst", 403), ("underwriter", 200), ("admin", 200)],
)
def test_only_underwriters_and_admins_may_see_it(personas, client, persona, status):
    client.force_login(getattr(personas, persona))
    assert client.get(URL).status_code == status


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_staff_find_it_in_the_header(personas, client):
    client.force_login(personas.underwriter)
    assert URL in client.get(reverse("home")).content.decode()
    client.force_login(personas.alice_agent)
    assert URL not in client.get(reverse("home")).content.decode()


def test_chart_js_is_served_from_our_own_static_files(personas, client):
    template = Path(get_template("reports/dashboard.html").origin.name).read_text()
    sources = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", template)
    assert sources == ["{% static 'vendor/chartjs/chart.umd.js' %}", "{% static 'js/kpi-dashboard.js' %}"]
    assert not re.search(r"(src|href)=\"(https?:)?//", template), "nothing from another origin"
    vendored = finders.find("vendor/chartjs/chart.umd.js")
    assert vendored
    assert Path(vendored).read_text()[:40].startswith("/*!\n * Chart.js v4.4")
    assert finders.find("vendor/chartjs/LICENSE.md")
    assert finders.find("js/kpi-dashboard.js")
    assert "//cdn" not in Path(finders.find("js/kpi-dashboard.js")).read_text()

    client.force_login(personas.underwriter)
    html = client.get(URL).content.decode()
    rendered = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", html)
    assert rendered == [static("vendor/chartjs/chart.umd.js"), static("js/kpi-dashboard.js")]
    assert all(source.startswith("/") and not source.startswith("//") for source in rendered), "same origin"
