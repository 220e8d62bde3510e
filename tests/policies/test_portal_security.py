"""Security review of the policies portal: a grant to see a policy is not a power to buy it, and a quote's
customer or agent cannot set what the insurer decides (premium, holder, agent, status)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from policies.choices import PolicyStatus
from policies.models import Policy
from tests.policies.test_portal import login, quote_for, quote_url, vehicle_post


@pytest.mark.django_db
def test_a_grant_to_see_a_quote_does_not_let_its_holder_buy_it(client, book, product, api_client):
    """Only seeing or changing one object can be granted, never a workflow power (`object_access_grant`): an agent
    covering for a colleague sees the colleague's customer's quote but cannot bind it, in the portal as in the API."""
    bobs = quote_for(book.bob, product)
    account_services.object_access_grant(
        actor=book.underwriter,
        user=book.alice_agent,
        obj=bobs,
        expires_at=timezone.now() + timedelta(days=7),
        reason="covering for a colleague on leave",
    )
    agent = login(client, book.alice_agent)
    assert agent.get(reverse("policies:policy-detail", args=[bobs.pk])).status_code == 200  # the grant works
    bind = reverse("policies:policy-bind", args=[bobs.pk])
    assert api_client(book.alice_agent).post(reverse("policies-api:policy-bind", args=[bobs.pk])).status_code == 403
    assert agent.get(bind).status_code == 404
    assert agent.post(bind).status_code == 404
    bobs.refresh_from_db()
    assert (bobs.status, bobs.bound_at) == (PolicyStatus.QUOTE, None)
    assert not bobs.instalments.exists()


@pytest.mark.django_db
def test_the_quote_form_ignores_what_the_insurer_decides(client, book, product):
    response = login(client, book.alice).post(
        quote_url(product),
        vehicle_post(
            coverages=[],
            premium="1.00",
            status=PolicyStatus.IN_FORCE,
            holder=book.bob.pk,
            customer=book.bob.customer_profile.pk,
            agent=book.other_agent.agent_profile.pk,
            currency="EUR",
        ),
    )
    assert response.status_code == 302
    policy = Policy.objects.get()
    assert (policy.holder, policy.agent, policy.status) == (
        book.alice,
        book.alice_agent.agent_profile,
        PolicyStatus.QUOTE,
    )
    assert (policy.premium, policy.currency) == (Decimal("500.00"), "USD")
