"""Audit: every project model has timestamps, history and a restricted queryset, and is in the admin with history."""

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import HistoricalChanges

from insurance.core.models import BaseModel


def project_models():
    return [
        model
        for model in apps.get_models()
        if model._meta.app_label in settings.PROJECT_APPS and not issubclass(model, HistoricalChanges)
    ]


def test_there_are_project_models_to_check():
    assert len(project_models()) >= 4


@pytest.mark.parametrize("model", project_models(), ids=lambda model: model._meta.label)
def test_every_project_model_is_audited(model):
    assert issubclass(model, BaseModel), f"{model._meta.label} must inherit insurance.core.models.BaseModel"
    assert hasattr(model._meta, "simple_history_manager_attribute"), f"{model._meta.label} has no history"
    field_names = {field.name for field in model._meta.get_fields()}
    assert {"created_at", "updated_at"} <= field_names
    assert hasattr(model._default_manager, "restrict"), f"{model._meta.label} has no permission-aware queryset"


@pytest.mark.parametrize("model", project_models(), ids=lambda model: model._meta.label)
def test_every_project_model_is_in_the_admin_with_history(model):
    model_admin = admin.site._registry.get(model)
    assert model_admin is not None, f"{model._meta.label} is not registered in the admin"
    assert isinstance(model_admin, SimpleHistoryAdmin)


def test_secrets_stay_out_of_history():
    from accounts.models import User

    tracked = {field.name for field in User.history.model._meta.get_fields()}
    assert "password" not in tracked


@pytest.mark.django_db
def test_history_view_renders_in_the_admin(client, personas):
    client.force_login(personas.admin)
    profile = personas.alice.customer_profile
    response = client.get(f"/admin/accounts/customerprofile/{profile.pk}/history/")
    assert response.status_code == 200
