from rest_framework.routers import SimpleRouter

from .views import FraudScoreViewSet, ModelVersionViewSet

router = SimpleRouter()
router.register("scores", FraudScoreViewSet, basename="score")
router.register("models", ModelVersionViewSet, basename="model")

app_name = "fraud-api"
urlpatterns = router.urls
