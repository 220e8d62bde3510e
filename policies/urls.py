"""Portal pages of policies (the API's routes are in `policies.api.urls`)."""

from django.urls import path

from . import views

app_name = "policies"
urlpatterns = [
    path("", views.PolicyListView.as_view(), name="policy-list"),
    path("quote/", views.QuoteCreateView.as_view(), name="quote-create"),
    path("renewals/", views.RenewalsView.as_view(), name="renewals"),
    path("referrals/", views.ReferralQueueView.as_view(), name="referral-queue"),
    path("referrals/<int:pk>/", views.ReferralDecideView.as_view(), name="referral-decide"),
    path("<int:pk>/", views.PolicyDetailView.as_view(), name="policy-detail"),
    path("<int:pk>/schedule/", views.PolicyScheduleView.as_view(), name="policy-schedule"),
    path("<int:pk>/bind/", views.PolicyBindView.as_view(), name="policy-bind"),
    path("<int:pk>/<slug:action>/", views.PolicyActionView.as_view(), name="policy-action"),
]
