"""/api/analytics/: one route per feed (named after the feed) and the data dictionary."""

from django.urls import path

from .views import FEED_VIEWS, DataDictionaryView

app_name = "analytics-api"
urlpatterns = [
    *[path(f"{view.feed.name}/", view.as_view(), name=view.feed.name) for view in FEED_VIEWS],
    path("dictionary/", DataDictionaryView.as_view(), name="dictionary"),
]
