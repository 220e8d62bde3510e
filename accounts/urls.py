from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("customers/", views.CustomerListView.as_view(), name="customer-list"),
    path("customers/<int:pk>/", views.CustomerProfileDetailView.as_view(), name="customer-detail"),
]
