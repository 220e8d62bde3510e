from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("customers/<int:pk>/", views.CustomerProfileDetailView.as_view(), name="customer-detail"),
]
