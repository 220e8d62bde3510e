"""URL map: portal pages, the admin, the API under /api/ with its docs, and /health/."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from insurance.core.views import health_view
from reports.views import HomeView

api_patterns = [
    path("accounts/", include("accounts.api.urls")),
    path("policies/", include("policies.api.urls")),
    path("claims/", include("claims.api.urls")),
    path("fraud/", include("fraud.api.urls")),
    path("analytics/", include("reports.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("accounts.auth_urls")),
    path("accounts/", include("accounts.urls")),
    path("reports/", include("reports.urls")),
    path("policies/", include("policies.urls")),
    path("claims/", include("claims.urls")),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("health/", health_view, name="health"),
]

# A database error raised before any view ran answers 503, not 500 (insurance.core.unavailable).
handler404 = "insurance.core.views.page_not_found"
handler500 = "insurance.core.views.server_error"

admin.site.site_header = "Insurance platform administration"
admin.site.site_title = "Insurance platform"
