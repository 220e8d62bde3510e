from rest_framework.routers import SimpleRouter

from .views import ClaimViewSet

router = SimpleRouter()
router.register("", ClaimViewSet, basename="claim")

app_name = "claims-api"
urlpatterns = router.urls
