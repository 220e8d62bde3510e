"""/api/analytics/: one route per feed (named after the feed), the data dictionary and the KPIs."""

from django.urls import path

from .kpis import KPI_VIEWS
from .views import FEED_VIEWS, DataDictionaryView

app_name = "analytics-api"
urlpatterns = [
    *[path(f"{view.feed.name}/", view.as_view(), name=view.feed.name) for view in FEED_VIEWS],
    path("dictionary/", DataDictionaryView.as_view(), name="dictionary"),
    *[path(f"kpis/{name}/", view.as_view(), name=f"kpi-{name}") for name, view in KPI_VIEWS.items()],
]
