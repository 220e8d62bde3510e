"""The admin for underwriters: the book, the referral queue, and actions that call the services."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from policies.choices import PolicyStatus
from policies.models import Policy, Referral
from tests.policies.factories import quote, set_holder

CHANGELIST = reverse("admin:policies_policy_changelist")


@pytest.fixture
def referred(book, product):
    today = timezone.localdate()
    set_holder(book.bob, born=today.replace(year=today.year - 19), region="IL")
    policy = quote(
        actor=book.other_agent, holder=book.bob, product=product, effective_date=today + timedelta(days=5), today=today
    )
    assert policy.status == PolicyStatus.REFERRED
    return policy


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        CHANGELIST,
        reverse("admin:policies_product_changelist"),
        reverse("admin:policies_referral_changelist"),
        reverse("admin:policies_ratingfactor_changelist"),
    ],
)
def test_underwriter_pages_render(client, book, referred, url):
    client.force_login(book.underwriter)
    assert client.get(url).status_code == 200
    assert client.get(f"{CHANGELIST}?status=referred&q={referred.number}").status_code == 200


@pytest.mark.django_db
def test_policy_page_and_history_render(client, book, referred):
    client.force_login(book.underwriter)
    assert client.get(reverse("admin:policies_policy_change", args=[referred.pk])).status_code == 200
    assert client.get(reverse("admin:policies_policy_history", args=[referred.pk])).status_code == 200


@pytest.mark.django_db
def test_approving_a_referral_in_the_admin_asks_for_a_reason_and_calls_the_service(client, book, referred):
    client.force_login(book.underwriter)
    form = {"action": "referral_approve", "_selected_action": [referred.pk]}
    page = client.post(CHANGELIST, form)
    assert page.status_code == 200
    assert b"reason" in page.content
    referred.refresh_from_db()
    assert referred.status == PolicyStatus.REFERRED

    response = client.post(CHANGELIST, {**form, "apply": "1", "reason": "Experienced driver abroad"})
    assert response.status_code == 302
    referred.refresh_from_db()
    assert referred.status == PolicyStatus.QUOTE
    decision = Referral.objects.get(policy=referred)
    assert (decision.decided_by, decision.decision_reason) == (book.underwriter, "Experienced driver abroad")


@pytest.mark.django_db
def test_an_admin_action_reports_a_refusal_without_changing_anything(client, book, referred):
    client.force_login(book.underwriter)
    response = client.post(
        CHANGELIST,
        {"action": "policy_cancel", "_selected_action": [referred.pk], "apply": "1", "reason": "test"},
        follow=True,
    )
    assert "Cannot cancel" in response.content.decode()
    assert Policy.objects.get(pk=referred.pk).status == PolicyStatus.REFERRED
