"""Portal pages of claims, under /claims/ (the API is under /api/claims/)."""

from django.urls import path

from . import views

app_name = "claims"
urlpatterns = [
    path("", views.ClaimListView.as_view(), name="claim-list"),
    path("new/", views.ClaimCreateView.as_view(), name="claim-create"),
    path("review/", views.ReviewQueueView.as_view(), name="review-queue"),
    path("<int:pk>/", views.ClaimDetailView.as_view(), name="claim-detail"),
    path("<int:pk>/review/", views.ClaimReviewView.as_view(), name="claim-review"),
    path("<int:pk>/documents/<int:document_pk>/", views.DocumentFileView.as_view(), name="document-file"),
]
