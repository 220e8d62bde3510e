"""The fraud admin: scores with readable reasons, the registry with its plot (never the artifact), monitoring, and
the two decisions only admins take, with a reason: promote a model, roll production back."""

import pytest
from django.urls import reverse
from django.utils import timezone

from fraud.choices import ModelStage
from fraud.models import ModelVersion, MonitoringSnapshot
from fraud.services import registry, scoring
from insurance.core.audit import system_account
from tests.claims.conftest import submit
from tests.fraud.test_api import model_version
from tests.fraud.test_scoring import alice_auto_policy, register_tiny_model

MODELS = reverse("admin:fraud_modelversion_changelist")


@pytest.fixture
def policy(personas):
    return alice_auto_policy(personas)


@pytest.fixture
def score(personas, policy):
    claim = submit(actor=personas.alice, policy=policy)
    return scoring.score_claim(actor=system_account("celery"), claim_id=claim.pk)


@pytest.fixture
def fresh_registry():
    registry.clear_cache()
    yield
    registry.clear_cache()


@pytest.mark.django_db
def test_score_pages_show_the_reasons_and_features(client, personas, score):
    client.force_login(personas.underwriter)
    listing = client.get(reverse("admin:fraud_fraudscore_changelist") + "?q=" + score.claim.number)
    assert listing.status_code == 200
    assert score.claim.number.encode() in listing.content
    page = client.get(reverse("admin:fraud_fraudscore_change", args=[score.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    for item in score.contributions:
        assert item["reason"] in content
    assert "witness_count" in content
    assert "Save" not in content  # read-only
    assert client.get(reverse("admin:fraud_fraudscore_history", args=[score.pk])).status_code == 200


@pytest.mark.django_db
def test_model_pages_show_metrics_and_plot_but_never_the_artifact(client, personas):
    version = model_version(actor=personas.admin)
    client.force_login(personas.underwriter)
    assert client.get(MODELS).status_code == 200
    page = client.get(reverse("admin:fraud_modelversion_change", args=[version.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    plot_url = reverse("admin:fraud_modelversion_plot", args=[version.pk])
    assert f'src="{plot_url}"' in content
    assert "average_precision" in content
    assert "not a real model" not in content  # the artifact's bytes
    plot = client.get(plot_url)
    assert (plot.status_code, plot["Content-Type"], plot.content) == (200, "image/png", b"\x89PNG\r\n\x1a\n")
    assert plot["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_the_plot_is_for_staff_who_may_see_models(client, personas):
    version = model_version(actor=personas.admin)
    plot_url = reverse("admin:fraud_modelversion_plot", args=[version.pk])
    client.force_login(personas.alice)
    assert client.get(plot_url).status_code == 302  # not staff: to the admin login
    ModelVersion.objects.filter(pk=version.pk).update(plot=None)
    client.force_login(personas.underwriter)
    assert client.get(plot_url).status_code == 404


@pytest.mark.django_db
def test_monitoring_snapshots_are_listed_read_only(client, personas):
    version = model_version(actor=personas.admin, stage=ModelStage.PRODUCTION)
    snapshot = MonitoringSnapshot.objects.create(
        model_version=version,
        window_start=timezone.now() - timezone.timedelta(days=30),
        window_end=timezone.now(),
        scored=120,
        score_psi=0.04,
    )
    client.force_login(personas.underwriter)
    assert client.get(reverse("admin:fraud_monitoringsnapshot_changelist")).status_code == 200
    assert client.get(reverse("admin:fraud_monitoringsnapshot_change", args=[snapshot.pk])).status_code == 200
    assert client.get(reverse("admin:fraud_monitoringsnapshot_add")).status_code == 403


@pytest.mark.django_db
def test_promoting_asks_for_a_reason_and_calls_the_registry(client, personas, monkeypatch):
    version = model_version(actor=personas.admin)
    calls = []
    monkeypatch.setattr(registry, "promote", lambda **kwargs: calls.append(kwargs))
    client.force_login(personas.admin)
    assert b'value="promote"' in client.get(MODELS).content
    form = {"action": "promote", "_selected_action": [version.pk]}
    assert b"reason" in client.post(MODELS, form).content
    assert calls == []
    client.post(MODELS, {**form, "apply": "1", "reason": "Better PR-AUC on the holdout"})
    assert calls == [{"actor": personas.admin, "version": version, "reason": "Better PR-AUC on the holdout"}]


@pytest.mark.django_db
def test_underwriters_cannot_promote(client, personas, monkeypatch):
    version = model_version(actor=personas.admin)
    calls = []
    monkeypatch.setattr(registry, "promote", lambda **kwargs: calls.append(kwargs))
    client.force_login(personas.underwriter)
    assert b'value="promote"' not in client.get(MODELS).content
    client.post(MODELS, {"action": "promote", "_selected_action": [version.pk], "apply": "1", "reason": "mine"})
    assert calls == []


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_registry")
def test_an_admin_promotes_the_first_model_and_rolls_back_the_second(client, personas, policy):
    claims = [submit(actor=personas.alice, policy=policy, amount_claimed=a) for a in ("800", "1000", "14000", "16000")]
    first, second = (
        register_tiny_model(
            claims=claims, labels=[0, 0, 1, 1], actor=personas.admin, version=number, stage=ModelStage.STAGING
        )
        for number in (1, 2)
    )
    client.force_login(personas.admin)

    def act(action: str, version: ModelVersion, reason: str):
        form = {"action": action, "_selected_action": [version.pk], "apply": "1", "reason": reason}
        return client.post(MODELS, form, follow=True).content.decode()

    refused = act("promote", first, "First model")
    assert "no champion" in refused.lower() or "force" in refused
    act("force_promote", first, "First model, reviewed by the fraud team")
    act("force_promote", second, "Retrained on May labels")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.stage, second.stage) == (ModelStage.ARCHIVED, ModelStage.PRODUCTION)
    assert "Retrained on May labels" in second.history.latest().history_change_reason
    assert second.history.latest().history_user == personas.admin

    refused = act("rollback", first, "Wrong one")
    assert "not in production" in refused
    act("rollback", second, "v2 flags every glass claim")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.stage, second.stage) == (ModelStage.PRODUCTION, ModelStage.ARCHIVED)
    assert "v2 flags every glass claim" in second.history.latest().history_change_reason
    assert "v2 flags every glass claim" in first.history.latest().history_change_reason
