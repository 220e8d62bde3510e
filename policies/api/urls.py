from rest_framework.routers import SimpleRouter

from .views import PolicyViewSet, ProductViewSet

router = SimpleRouter()
router.register("products", ProductViewSet, basename="product")
router.register("", PolicyViewSet, basename="policy")

app_name = "policies-api"
urlpatterns = router.urls
