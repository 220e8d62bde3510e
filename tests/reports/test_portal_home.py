"""Role home pages and the customer 360 view: each persona sees their own work, and only what is in their scope."""

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from claims import services as claim_services
from policies import services as policy_services
from policies.choices import PolicyStatus
from reports.models import CustomerSegment, SegmentationRun
from tests.claims.conftest import submit
from tests.policies.factories import make_test_product, pay, policy_in_state, quote, set_holder

pytestmark = pytest.mark.django_db

HOME = reverse("home")


def bound(holder, product, *, days_ago: int, **kwargs):
    """A policy of `holder` issued `days_ago` days ago (its first instalment due then)."""
    start = timezone.localdate() - timedelta(days=days_ago)
    quoted = quote(actor=holder, holder=holder, product=product, effective_date=start, today=start, **kwargs)
    return policy_services.policy_bind(actor=holder, policy=quoted, today=start)


@pytest.fixture
def book(personas) -> SimpleNamespace:
    """Alice (alice_agent's customer): a policy ending in about 45 days with its premium paid, a quarterly policy
    whose first instalment is overdue and whose second is due, an open quote, a referred quote and a claim under
    investigation; she is segmented. Bob (another agent's customer): a policy with a claim under investigation."""
    today = timezone.localdate()
    product = make_test_product()
    set_holder(personas.alice, born=date(1980, 5, 17), region="OH")
    set_holder(personas.bob, born=date(1985, 2, 1), region="IL")
    renewing = bound(personas.alice, product, days_ago=320)
    pay(renewing, 1, actor=personas.underwriter)
    quarterly = bound(personas.alice, product, days_ago=30, instalment_count=4, coverages=[{"coverage": "collision"}])
    open_quote = quote(
        actor=personas.alice_agent, holder=personas.alice, product=product, effective_date=today + timedelta(days=5)
    )
    referred = policy_in_state(PolicyStatus.REFERRED, holder=personas.alice, product=product, effective_date=today)
    claim = submit(actor=personas.alice, policy=quarterly, amount_claimed="2999.99")
    claim = claim_services.claim_investigate(actor=personas.underwriter, claim=claim, reason="Reported late")
    bob_policy = bound(personas.bob, product, days_ago=10)
    bob_claim = submit(actor=personas.bob, policy=bob_policy, loss_type="injury", amount_claimed="2999.98")
    bob_claim = claim_services.claim_investigate(actor=personas.underwriter, claim=bob_claim, reason="Check")
    run = SegmentationRun.objects.create(run_by=personas.admin, seed=0, k=2, feature_schema_version=1, customer_count=2)
    CustomerSegment.objects.create(
        customer=personas.alice,
        run=run,
        label=0,
        name="loyal multi-policy",
        tenure_years=0.9,
        premium=Decimal("1500.00"),
        products_held=1,
        claim_frequency=1.0,
        claim_value=Decimal("2999.99"),
    )
    return SimpleNamespace(
        product=product,
        renewing=renewing,
        quarterly=quarterly,
        open_quote=open_quote,
        referred=referred,
        claim=claim,
        bob_policy=bob_policy,
        bob_claim=bob_claim,
    )


def page(client, user, url=HOME, **params):
    client.force_login(user)
    response = client.get(url, params)
    return response, response.content.decode()


def test_anonymous_goes_to_login(client):
    response = client.get(HOME)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_customer_sees_policies_open_claims_and_premiums_due(client, personas, book):
    response, html = page(client, personas.alice)
    assert response.status_code == 200
    assert next(template.name for template in response.templates) == "reports/home_customer.html"
    numbers = {policy.number for policy in response.context["policies"].rows}
    assert numbers == {book.renewing.number, book.quarterly.number, book.open_quote.number, book.referred.number}
    assert '<span class="badge badge--in_force">In force</span>' in html
    assert 'badge--referred">Referred to underwriter</span>' in html
    assert [claim.number for claim in response.context["open_claims"].rows] == [book.claim.number]
    assert book.bob_claim.number not in html
    assert book.bob_policy.number not in html
    # Premiums due: the quarterly policy's first instalment is overdue, the other three are still to come; the
    # renewing policy's premium is paid.
    due = response.context["premiums_due"].rows
    assert [(item.policy_id, item.sequence, item.overdue) for item in due] == [
        (book.quarterly.pk, 1, True),
        (book.quarterly.pk, 2, False),
        (book.quarterly.pk, 3, False),
        (book.quarterly.pk, 4, False),
    ]
    assert response.context["overdue_count"] == 1
    assert '<span class="badge badge--overdue">1 overdue</span>' in html
    assert f'href="{reverse("claims:claim-create")}"' in html
    assert f'href="{reverse("claims:claim-create")}?policy={book.quarterly.pk}"' in html
    assert f'?policy={book.referred.pk}"' not in html  # a referred quote covers nothing yet
    assert f'href="{reverse("policies:quote-create")}"' in html


def test_a_customer_without_anything_gets_helpful_empty_states(client, personas):
    response, html = page(client, personas.alice)
    assert response.status_code == 200
    assert "You have no policies yet." in html
    assert "No open claims." in html
    assert "Nothing to pay" in html


def test_an_agent_sees_their_book(client, personas, book):
    response, html = page(client, personas.alice_agent)
    assert response.status_code == 200
    assert next(template.name for template in response.templates) == "reports/home_agent.html"
    context = response.context
    assert [str(profile) for profile in context["customers"].rows] == [str(personas.alice.customer_profile)]
    assert [policy.number for policy in context["open_quotes"].rows] == [book.open_quote.number]
    assert [policy.number for policy in context["referred_quotes"].rows] == [book.referred.number]
    assert [policy.number for policy in context["renewals_due"].rows] == [book.renewing.number]
    assert context["renewals_due"].rows[0].renewal_offered is False
    assert [claim.number for claim in context["open_claims"].rows] == [book.claim.number]
    assert book.bob_claim.number not in html
    assert book.bob_policy.number not in html
    assert reverse("reports:customer-360", args=[personas.alice.customer_profile.pk]) in html
    assert f"{reverse('policies:quote-create')}?customer={personas.alice.customer_profile.pk}" in html


def test_an_agent_sees_an_offered_renewal(client, personas, book):
    policy_services.policy_offer_renewal(actor=personas.alice_agent, policy=book.renewing)
    response, html = page(client, personas.alice_agent)
    assert response.context["renewals_due"].rows[0].renewal_offered is True
    assert '<span class="badge badge--approved">Offered</span>' in html


def test_another_agent_sees_only_their_own_book(client, personas, book):
    response, html = page(client, personas.other_agent)
    assert [str(profile) for profile in response.context["customers"].rows] == [str(personas.bob.customer_profile)]
    assert [claim.number for claim in response.context["open_claims"].rows] == [book.bob_claim.number]
    assert response.context["renewals_due"].count == 0
    assert book.claim.number not in html


@pytest.mark.parametrize("persona", ["underwriter", "admin"])
def test_staff_see_their_queues(client, personas, book, persona):
    response, html = page(client, getattr(personas, persona))
    assert response.status_code == 200
    assert next(template.name for template in response.templates) == "reports/home_staff.html"
    assert response.context["referrals"].count == 1
    assert [policy.number for policy in response.context["referrals"].rows] == [book.referred.number]
    assert response.context["review_queue"].count == 2
    assert {claim.number for claim in response.context["review_queue"].rows} == {
        book.claim.number,
        book.bob_claim.number,
    }
    assert reverse("reports:dashboard") in html
    assert reverse("admin:index") in html
    assert reverse("policies:referral-queue") in html
    assert reverse("claims:review-queue") in html


def test_staff_with_empty_queues_are_told_so(client, personas):
    _response, html = page(client, personas.underwriter)
    assert "No quotes are waiting for an underwriter." in html
    assert "No claims are waiting for a person." in html


def test_a_user_without_a_role_gets_a_helpful_page(client, personas):
    response, html = page(client, personas.outsider)
    assert response.status_code == 200
    assert next(template.name for template in response.templates) == "reports/home_none.html"
    assert "Your account has no role yet" in html


def test_the_customer_360_shows_everything_about_the_customer(client, personas, book):
    url = reverse("reports:customer-360", args=[personas.alice.customer_profile.pk])
    response, html = page(client, personas.alice_agent, url)
    assert response.status_code == 200
    context = response.context
    assert context["policies"].count == 4
    assert [claim.number for claim in context["claims"].rows] == [book.claim.number]
    assert [(item.policy_id, item.sequence) for item in context["payments"].rows] == [(book.renewing.pk, 1)]
    assert [policy.number for policy in context["renewals_due"].rows] == [book.renewing.number]
    assert context["segment"].name == "loyal multi-policy"
    assert "loyal multi-policy" in html
    assert book.bob_policy.number not in html
    assert book.bob_claim.number not in html
    assert '<span class="badge badge--overdue">Overdue</span>' in html


@pytest.mark.parametrize(
    ("persona", "url", "shown"),
    [
        ("alice", "home", '<span class="badge badge--under_review">Under review</span>'),
        ("alice_agent", "home", '<span class="badge badge--under_review">Under review</span>'),
        ("alice_agent", "360", '<span class="badge badge--under_review">Under review</span>'),
        ("underwriter", "home", '<span class="badge badge--investigation">Investigation</span>'),
        ("underwriter", "360", '<span class="badge badge--investigation">Investigation</span>'),
    ],
)
def test_a_claim_under_investigation_reads_as_a_review_to_the_claimant_and_her_agent(
    client, personas, book, persona, url, shown
):
    """As on the claim pages and in the API: only claim handlers learn that a claim is investigated."""
    address = HOME if url == "home" else reverse("reports:customer-360", args=[personas.alice.customer_profile.pk])
    response, html = page(client, getattr(personas, persona), address)
    assert response.status_code == 200
    assert book.claim.number in html
    assert shown in html
    if persona != "underwriter":
        assert "Investigation" not in html
        assert "badge--investigation" not in html


def test_the_customer_360_without_a_segment_says_so(client, personas, book):
    url = reverse("reports:customer-360", args=[personas.bob.customer_profile.pk])
    response, html = page(client, personas.other_agent, url)
    assert response.status_code == 200
    assert response.context["segment"] is None
    assert "Not segmented yet" in html


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("alice_agent", 200),
        ("underwriter", 200),
        ("admin", 200),
        ("other_agent", 404),
        ("alice", 403),
        ("bob", 403),
        ("outsider", 403),
        ("analyst", 403),
    ],
)
def test_the_customer_360_is_scoped(client, personas, persona, status):
    url = reverse("reports:customer-360", args=[personas.alice.customer_profile.pk])
    client.force_login(getattr(personas, persona))
    assert client.get(url).status_code == status


def test_an_unknown_customer_is_404(client, personas):
    client.force_login(personas.underwriter)
    assert client.get(reverse("reports:customer-360", args=[999999])).status_code == 404


def test_the_customer_360_reads_a_bounded_number_of_queries(client, personas, book, django_assert_max_num_queries):
    """However many policies, claims and payments: one query per section, none per row (and the viewer's
    permissions, read once, for the claim status badges), and two inserts into the read audit (the customer viewed,
    the claims listed)."""
    for days_ago in (40, 50, 60):
        policy = bound(personas.alice, book.product, days_ago=days_ago)
        pay(policy, 1, actor=personas.underwriter)
        submit(actor=personas.alice, policy=policy, loss_type="injury", amount_claimed="100.00")
    client.force_login(personas.alice_agent)
    url = reverse("reports:customer-360", args=[personas.alice.customer_profile.pk])
    with django_assert_max_num_queries(19):
        response = client.get(url)
    assert response.status_code == 200
    assert response.context["policies"].count == 7
    assert response.context["payments"].count == 4


def test_the_home_pages_read_a_bounded_number_of_queries(client, personas, book, django_assert_max_num_queries):
    for user, most in ((personas.alice, 14), (personas.alice_agent, 16), (personas.underwriter, 10)):
        client.force_login(user)
        with django_assert_max_num_queries(most):
            assert client.get(HOME).status_code == 200
