"""Policies in a real browser: an agent quotes for one of their customers, reads the price and how it was built,
and buys the policy for them."""

import re
from datetime import date

from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from policies.models import Policy
from tests.browser.book import claim_product
from tests.policies.factories import VIN, set_holder


def test_an_agent_quotes_and_binds_a_policy_for_a_customer(page, personas, login_as, screenshot, mailoutbox):
    product = claim_product()
    set_holder(personas.alice, born=date(1980, 5, 17), region="OH")
    alice = personas.alice.customer_profile
    today = timezone.localdate()
    login_as(page, personas.alice_agent)

    # From the agent's book: the quote link on Alice's row (quote-create?customer=<her profile>).
    page.get_by_role("link", name=f"Quote for {alice}").click()
    expect(page).to_have_url(re.compile(rf"/policies/quote/\?customer={alice.pk}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Get a quote for {alice}")
    expect(page.get_by_label("Customer")).to_have_value(str(alice.pk))
    page.get_by_label("Product").select_option(product.code)
    screenshot(page, "quote-step-1")
    page.get_by_role("button", name="Continue").click()

    # Step two asks for the vehicle and the cover.
    expect(page.get_by_role("group", name="The vehicle")).to_be_visible()
    page.get_by_label("Cover starts on").fill(today.isoformat())
    page.get_by_label("Make").fill("Toyota")
    page.get_by_label("Model").fill("Corolla")
    page.get_by_label("Year of manufacture").fill("2021")
    page.get_by_label("VIN").fill(VIN)
    page.get_by_label("Value").fill("18000")
    page.get_by_label("Use").select_option("private")
    page.get_by_label("Pay").select_option("4")
    page.get_by_label("Claims in the last 3 years").fill("0")
    page.get_by_role("checkbox", name=re.compile(r"^Collision \(limit 20000.00")).check()
    screenshot(page, "quote-step-2")
    page.get_by_role("button", name="Get my price").click()

    policy = Policy.objects.get()
    assert (policy.status, policy.holder, policy.agent.user) == ("quote", personas.alice, personas.alice_agent)
    expect(page).to_have_url(re.compile(rf"/policies/{policy.pk}/$"))
    expect(page.get_by_role("status").first).to_have_text(
        f"Quote {policy.number}: 660.00 USD. Check the breakdown, then buy it below."
    )
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(f"Quote {policy.number}")
    expect(heading.locator(".badge")).to_have_text("Quote")
    # The price and how it was built: liability 500 x 1.0 (25+) x 1.0 (OH); collision 200 x 0.8 (deductible 500).
    breakdown = page.locator("section").filter(has=page.get_by_role("heading", name="How the premium is built"))
    expect(breakdown.get_by_role("heading", name="Liability")).to_be_visible()
    expect(breakdown.get_by_role("heading", name="Collision")).to_be_visible()
    for step in ("Driver age", "25+", "Territory", "OH", "Deductible credit", "\N{MULTIPLICATION SIGN} 0.8"):
        expect(breakdown).to_contain_text(step)
    line_premiums = breakdown.locator("tfoot td strong")
    expect(line_premiums).to_have_count(2)
    assert sorted(line_premiums.all_inner_texts()) == ["160.00", "500.00"]
    expect(breakdown).to_contain_text("Premium for the term660.00 USD")
    screenshot(page, "quote-priced")

    page.get_by_role("link", name="Buy this policy").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Buy policy {policy.number}")
    schedule = page.locator("table.data").first.locator("tbody tr")
    expect(schedule).to_have_count(4)
    expect(schedule.first).to_contain_text(today.isoformat())
    for row in range(4):
        expect(schedule.nth(row)).to_contain_text("165.00 USD")
    screenshot(page, "bind-confirmation")
    page.get_by_role("button", name="Confirm and buy for 660.00 USD").click()

    expect(page).to_have_url(re.compile(rf"/policies/{policy.pk}/$"))
    expect(page.get_by_role("status").first).to_have_text(
        f"Policy {policy.number} is in force from {today.isoformat()}."
    )
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(f"Policy {policy.number}")
    expect(heading.locator(".badge")).to_have_text("In force")
    instalments = page.locator("section").filter(has=page.get_by_role("heading", name="Instalments"))
    expect(instalments.locator("tbody tr")).to_have_count(4)
    expect(instalments.locator("tbody tr").first).to_contain_text("Due")
    history = page.locator("section").filter(has=page.get_by_role("heading", name="History"))
    expect(history).to_contain_text("Policy issued, premium 660.00")
    expect(page.get_by_role("link", name="Buy this policy")).to_have_count(0)
    screenshot(page, "policy-in-force")

    policy.refresh_from_db()
    assert (policy.status, policy.premium, policy.instalment_count) == ("in_force", 660, 4)
    bound = policy.events.get(kind="bound")
    assert bound.actor == personas.alice_agent
    assert list(policy.instalments.values_list("amount", flat=True)) == [165] * 4
    assert any(policy.number in message.subject for message in mailoutbox), [m.subject for m in mailoutbox]


def test_the_cover_start_date_shows_its_default_of_today(page, personas, login_as):
    product = claim_product()
    login_as(page, personas.alice)
    page.goto(f"{reverse('policies:quote-create')}?product={product.code}")
    expect(page.get_by_label("Cover starts on")).to_have_value(timezone.localdate().isoformat(), timeout=1_000)
