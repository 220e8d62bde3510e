from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import AgentProfileViewSet, CustomerProfileViewSet, MeView, TokenLoginView

router = SimpleRouter()
router.register("customers", CustomerProfileViewSet, basename="customer")
router.register("agents", AgentProfileViewSet, basename="agent")

app_name = "accounts-api"
urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    path("token/", TokenLoginView.as_view(), name="token"),
    *router.urls,
]
