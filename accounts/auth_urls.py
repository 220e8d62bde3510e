"""Password change and reset pages (Django's auth views with our templates under templates/registration/).

No namespace: Django's views and emails reverse these names as they are (`password_reset_confirm`...). Log in and
log out stay in `insurance/urls.py`.
"""

from django.contrib.auth import views as auth_views
from django.urls import path

urlpatterns = [
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
