"""Portal pages of reports, under /reports/."""

from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("dashboard/", views.KpiDashboardView.as_view(), name="dashboard"),
    path("customers/<int:pk>/360/", views.Customer360View.as_view(), name="customer-360"),
]
