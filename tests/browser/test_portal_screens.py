"""Every portal page in a real browser, as the person it is made for, with a small book behind it (tests/browser/
book.py): each page is screenshotted and must show the data it was given, not merely load.

The screenshots (var/screenshots/test_portal_screens.*/) are what the issue asks to see: every page rendered with
its data and the site's design. One test per kind of person keeps a failure's screenshots together.
"""

import re
from collections import defaultdict
from decimal import Decimal
from urllib.parse import urlparse

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.book import SCORES, build_book, use_stub_assessor

NEW_PASSWORD = "a-new-and-long-passphrase-42"


@pytest.fixture(autouse=True)
def _claims_setup(settings, tmp_path):
    use_stub_assessor(settings, tmp_path / "media")
    yield
    SCORES.clear()


@pytest.fixture
def book(personas):
    return build_book(personas)


def visit(page, path: str, *, status: int = 200):
    """Open `path` and check the answer's status (a page that must not be there answers 403 or 404)."""
    response = page.goto(path)
    assert response is not None, path
    assert response.status == status, (path, response.status)
    return response


def h1(page):
    return page.get_by_role("heading", level=1)


def section(page, heading: str | re.Pattern):
    """The <section> headed `heading` (exactly, or a pattern for headings that carry a count)."""
    return page.locator("section").filter(has=page.get_by_role("heading", name=heading, exact=True))


def card_stat(page, title: str):
    """The figure on a home page's card."""
    return page.locator("li.card").filter(has=page.get_by_role("heading", name=title, exact=True)).locator(".stat")


def rows(page, heading: str | re.Pattern):
    return section(page, heading).locator("tbody tr")


def sign_in_as(page, login_as, user) -> None:
    page.context.clear_cookies()
    login_as(page, user)


def test_a_customers_pages(page, personas, book, login_as, screenshot, mailoutbox):
    alice = personas.alice
    login_as(page, alice)

    # Home: her policies, open claims and premiums due.
    expect(h1(page)).to_have_text(f"Hello, {alice.first_name}")
    expect(card_stat(page, "Policies and quotes")).to_have_text("3")
    expect(card_stat(page, "Open claims")).to_have_text("2")
    expect(card_stat(page, "Premiums due")).to_have_text("4")
    expect(page.locator("li.card").filter(has_text="Premiums due")).to_contain_text("1 overdue")
    for policy in (book.car, book.renewing, book.to_buy):
        expect(rows(page, "Your policies").filter(has_text=policy.number)).to_have_count(1)
    expect(rows(page, "Open claims").filter(has_text=book.approved.number)).to_contain_text("Approved")
    expect(rows(page, "Open claims").filter(has_text=book.waiting.number)).to_contain_text("Under review")
    expect(rows(page, "Premiums due").filter(has_text=book.renewing.number)).to_contain_text("Overdue")
    screenshot(page, "home-customer")

    visit(page, reverse("accounts:profile"))
    expect(h1(page)).to_have_text("Your profile")
    account = section(page, "Account")
    expect(account).to_contain_text(f"Name{alice.get_full_name()}")
    expect(account).to_contain_text("Usernamealice")
    expect(account).to_contain_text("North Agency")
    expect(page.get_by_label("Town or city")).to_have_value(alice.customer_profile.city)
    screenshot(page, "profile")

    page.get_by_role("link", name="Change password").first.click()
    expect(h1(page)).to_have_text("Change your password")
    expect(page.get_by_label("Old password")).to_be_visible()
    expect(page.locator("header")).to_contain_text(f"Signed in as {alice.get_full_name()}")
    screenshot(page, "password-change")

    visit(page, reverse("policies:policy-list"))
    expect(h1(page)).to_have_text("Policies and quotes")
    table = page.locator("table.data")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table.locator("tr").filter(has_text=book.car.number)).to_contain_text("In force")
    expect(table.locator("tr").filter(has_text=book.to_buy.number)).to_contain_text("Quote")
    screenshot(page, "policy-list")

    visit(page, reverse("policies:policy-detail", args=[book.car.pk]))
    expect(h1(page)).to_contain_text(f"Policy {book.car.number}")
    expect(h1(page).locator(".badge")).to_have_text("In force")
    expect(section(page, "Summary")).to_contain_text("Premium660.00 USD")
    expect(section(page, "Summary")).to_contain_text("Quarterly (4 instalments)")
    instalments = rows(page, "Instalments")
    expect(instalments).to_have_count(4)
    expect(instalments.first).to_contain_text("Paid")
    expect(instalments.first).to_contain_text("165.00 USD")
    expect(section(page, "How the premium is built")).to_contain_text("Premium for the term660.00 USD")
    screenshot(page, "policy-detail")

    page.get_by_role("link", name="Policy schedule").first.click()
    expect(h1(page)).to_have_text(f"Policy schedule: {book.car.number}")
    expect(page.locator("main")).to_contain_text(f"Policyholder{alice.get_full_name()}")
    expect(page.locator("main")).to_contain_text("660.00 USD, quarterly")
    expect(page.locator("main")).to_contain_text("2021 Toyota Corolla")
    screenshot(page, "policy-schedule")

    visit(page, reverse("policies:policy-bind", args=[book.to_buy.pk]))
    expect(h1(page)).to_have_text(f"Buy policy {book.to_buy.number}")
    expect(page.locator("main")).to_contain_text(f"Cover{book.to_buy.effective_date:%Y-%m-%d} to")
    expect(page.locator("table.data").first.locator("tbody tr")).to_have_count(1)  # paid yearly: one instalment
    expect(page.get_by_role("button", name="Confirm and buy for 660.00 USD")).to_be_visible()
    screenshot(page, "bind-confirmation")

    visit(page, reverse("claims:claim-list"))
    expect(h1(page)).to_have_text("Claims")
    claims = page.locator("table.data tbody tr")
    expect(claims).to_have_count(2)
    expect(claims.filter(has_text=book.approved.number)).to_contain_text("700.00 USD")
    expect(claims.filter(has_text=book.waiting.number)).to_contain_text("4000.00 USD")
    screenshot(page, "claim-list")

    visit(page, reverse("claims:claim-create"))
    expect(h1(page)).to_have_text("File a claim")
    options = page.get_by_label("Policy").locator("option")
    expect(options).to_have_count(3)  # the blank choice and her two policies in force; not the quote
    expect(options.filter(has_text=book.car.number)).to_have_count(1)
    expect(options.filter(has_text=book.renewing.number)).to_have_count(1)
    screenshot(page, "claim-create")

    visit(page, reverse("claims:claim-detail", args=[book.approved.pk]))
    expect(h1(page)).to_contain_text(book.approved.number)
    expect(h1(page).locator(".badge")).to_have_text("Approved")
    expect(section(page, "Decision")).to_contain_text("Approved automatically for 700.00.")
    expect(section(page, "Documents").locator("tbody tr")).to_contain_text("invoice.pdf")
    screenshot(page, "claim-detail")

    # Another customer's claim is not found, and nothing of it shows.
    visit(page, reverse("claims:claim-detail", args=[book.bobs_claim.pk]), status=404)
    expect(h1(page)).to_have_text("Page not found")
    assert book.bobs_claim.number not in page.content()
    assert personas.bob.get_full_name() not in page.content()
    screenshot(page, "404")

    # Password reset, signed out: Carol asks for a link, follows it from her email and sets a new password.
    page.context.clear_cookies()
    visit(page, reverse("password_reset"))
    expect(h1(page)).to_have_text("Reset your password")
    page.get_by_label("Email").fill(book.carol.email)
    screenshot(page, "password-reset")
    page.get_by_role("button", name="Email me a link").click()
    expect(h1(page)).to_have_text("Check your email")
    screenshot(page, "password-reset-sent")
    (email,) = [message for message in mailoutbox if book.carol.email in message.to]
    link = re.search(r"https?://\S+/password/reset/\S+/", email.body)
    assert link, email.body
    page.goto(urlparse(link.group(0)).path)
    expect(h1(page)).to_have_text("Set a new password")
    page.get_by_label(re.compile(r"^New password:?$")).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    screenshot(page, "password-reset-confirm")
    page.get_by_role("button", name="Set my password").click()
    expect(h1(page)).to_have_text("Your new password is set")
    screenshot(page, "password-reset-complete")
    book.carol.refresh_from_db()
    assert book.carol.check_password(NEW_PASSWORD)


def test_an_agents_pages(page, personas, book, login_as, screenshot):
    alice, carol = personas.alice.customer_profile, book.carol.customer_profile
    login_as(page, personas.alice_agent)

    expect(h1(page)).to_have_text("Your book")
    expect(card_stat(page, "Customers")).to_have_text("2")
    expect(card_stat(page, "Referred quotes")).to_have_text("1")
    expect(card_stat(page, "Renewals in 60 days")).to_have_text("1")
    expect(card_stat(page, "Open claims")).to_have_text("2")
    customers = rows(page, "Customers")
    expect(customers).to_have_count(2)
    expect(customers.filter(has_text=str(alice))).to_have_count(1)
    expect(customers.filter(has_text="Carol Quennell")).to_contain_text("Dayton")
    referred = rows(page, "Open and referred quotes").filter(has_text=book.referred.number)
    expect(referred).to_contain_text("Carol Quennell")
    expect(rows(page, "Renewals due in the next 60 days")).to_contain_text(book.renewing.number)
    assert personas.bob.get_full_name() not in page.locator("main").inner_text()  # another agent's customer
    screenshot(page, "home-agent")

    page.get_by_role("link", name="Find a customer").click()
    expect(h1(page)).to_have_text("Your customers")
    expect(page.locator("table.data tbody tr")).to_have_count(2)
    screenshot(page, "customer-list")
    page.get_by_role("searchbox", name="Search customers").fill("quennell")
    page.get_by_role("button", name="Search").click()
    found = page.locator("table.data tbody tr")
    expect(found).to_have_count(1)
    expect(found).to_contain_text("Carol Quennell")
    screenshot(page, "customer-list-search")

    visit(page, reverse("reports:customer-360", args=[alice.pk]))
    expect(h1(page)).to_have_text(str(alice))
    expect(page.locator("main")).to_contain_text("North Agency")
    expect(section(page, "Segment").locator(".badge")).not_to_be_empty()
    policies = re.compile(r"^Policies and quotes \(3\)$")
    for policy in (book.car, book.renewing, book.to_buy):
        expect(rows(page, policies).filter(has_text=policy.number)).to_have_count(1)
    expect(rows(page, "Renewals due in the next 60 days")).to_contain_text(book.renewing.number)
    claims = re.compile(r"^Claims \(2\)$")
    expect(rows(page, claims).filter(has_text=book.approved.number)).to_contain_text("Approved")
    expect(rows(page, claims).filter(has_text=book.waiting.number)).to_contain_text("4,000.00")
    expect(rows(page, "Premiums paid")).to_have_count(4)  # the car's first instalment, the other car's three
    screenshot(page, "customer-360")

    visit(page, f"{reverse('policies:quote-create')}?customer={carol.pk}")
    expect(h1(page)).to_have_text("Get a quote for Carol Quennell")
    expect(page.get_by_label("Customer")).to_have_value(str(carol.pk))
    page.get_by_label("Product").select_option(book.product.code)
    screenshot(page, "quote-create-step-1")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("main")).to_contain_text("Test Auto")
    expect(page.get_by_role("group", name="The vehicle")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Included: Liability (limit 100000.00, deductible 0.00).")
    expect(page.get_by_role("checkbox", name=re.compile(r"^Collision"))).not_to_be_checked()
    screenshot(page, "quote-create-step-2")

    visit(page, reverse("policies:renewals"))
    expect(h1(page)).to_have_text("Renewals and lapses")
    renewal = rows(page, re.compile(r"^Renewals due in the next 60 days \(1\)$")).filter(has_text=book.renewing.number)
    expect(renewal).to_contain_text(f"{book.renewing.expiry_date:%Y-%m-%d}")
    expect(renewal).to_contain_text("Not offered yet")
    arrears = rows(page, re.compile(r"^Unpaid and about to lapse \(1\)$")).filter(has_text=book.renewing.number)
    expect(arrears).to_contain_text("125.00 USD")  # the fourth quarter of 500.00
    screenshot(page, "renewals")

    # The KPI dashboard is for underwriters and admins.
    visit(page, reverse("reports:dashboard"), status=403)
    expect(h1(page)).to_have_text("This page is not available to you")
    expect(page.get_by_role("link", name="Go to your home page")).to_be_visible()
    screenshot(page, "403")


def test_an_underwriters_pages_and_the_dashboard_drawn(page, personas, book, login_as, screenshot):
    login_as(page, personas.underwriter)

    expect(h1(page)).to_have_text("Work queues")
    expect(card_stat(page, "Referred quotes")).to_have_text("1")
    expect(card_stat(page, "Claims to review")).to_have_text("2")
    expect(rows(page, "Oldest referrals").filter(has_text=book.referred.number)).to_contain_text("Driver under 21")
    expect(rows(page, "Next claims to review")).to_have_count(2)
    expect(rows(page, "Next claims to review").first).to_contain_text(book.waiting.number)
    screenshot(page, "home-underwriter")

    page.get_by_role("link", name="Open the referral queue").click()
    expect(h1(page)).to_have_text("Referral queue")
    referral = page.locator("table.data tbody tr")
    expect(referral).to_have_count(1)
    price = f"{book.referred.premium} USD"
    for text in (book.referred.number, "Carol Quennell", "North Agency", "Driver under 21", price):
        expect(referral).to_contain_text(text)
    screenshot(page, "referral-queue")

    referral.get_by_role("link", name=re.compile("^Decide")).click()
    expect(h1(page)).to_contain_text(f"Referral: quote {book.referred.number}")
    expect(section(page, "Why it was referred")).to_contain_text("DRIVER_UNDER_21")
    expect(section(page, "The quote")).to_contain_text("CustomerCarol Quennell")
    expect(page.get_by_role("button", name="Approve")).to_be_visible()
    expect(page.get_by_role("button", name="Decline")).to_be_visible()
    screenshot(page, "referral-decide")

    visit(page, reverse("claims:review-queue"))
    queue = page.locator("table.data tbody tr")
    expect(queue).to_have_count(2)
    expect(queue.first).to_contain_text(book.waiting.number)
    expect(queue.first).to_contain_text("35 %")
    expect(queue.first).to_contain_text("Amount above comparable injury claims")
    expect(queue.nth(1)).to_contain_text(book.bobs_claim.number)
    screenshot(page, "review-queue")

    queue.first.get_by_role("link", name=book.waiting.number).click()
    expect(h1(page)).to_contain_text(f"Review {book.waiting.number}")
    expect(section(page, "Fraud score").locator(".score")).to_contain_text("35 %")
    bill = page.get_by_role("article", name="physio-bill.pdf")
    expect(bill.locator("tr.needs-review")).to_contain_text("4000.00")
    expect(bill.locator("tr.needs-review")).to_contain_text("45 %")
    for action in ("Approve", "Approve this amount", "Deny", "Send the request"):
        expect(page.get_by_role("button", name=action, exact=True)).to_be_visible()
    screenshot(page, "claim-review")

    # The dashboard's charts, drawn by Chart.js in this browser (no animation, so they are drawn at once).
    page.emulate_media(reduced_motion="reduce")
    visit(page, reverse("reports:dashboard"))
    expect(h1(page)).to_have_text("KPI dashboard")
    canvases = page.locator("canvas")
    expect(canvases).to_have_count(8)
    page.wait_for_function("() => window.Chart && document.querySelectorAll('canvas').length === 8")
    drawn = page.evaluate(
        """() => Array.from(document.querySelectorAll("canvas")).map((canvas) => {
            const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let alpha = 3; alpha < pixels.length; alpha += 4) { if (pixels[alpha]) painted++; }
            return {id: canvas.id, width: canvas.width, height: canvas.height,
                    chart: Boolean(window.Chart.getChart(canvas)), painted};
        })"""
    )
    assert len(drawn) == 8
    for canvas in drawn:
        assert canvas["chart"], canvas  # Chart.js owns it
        assert canvas["width"] > 0, canvas
        assert canvas["height"] > 0, canvas
        assert canvas["painted"] > 0, canvas  # and painted pixels on it
    # The premium written each month, as the policies were bound; the agents' table names both agencies.
    written: dict[str, Decimal] = defaultdict(Decimal)
    for policy in (book.car, book.renewing, book.bobs_car):
        written[f"{policy.effective_date:%Y-%m}"] += policy.premium
    premium = section(page, "Premium written and earned")
    premium.locator("summary").click()  # the chart's data table
    for month, amount in written.items():
        row = premium.locator("tbody tr").filter(has=page.get_by_role("rowheader", name=month, exact=True))
        expect(row.locator("td").first).to_have_text(f"{amount:,.2f}")
    agents = section(page, re.compile(r"^Agent performance"))
    expect(agents).to_contain_text("North Agency")
    expect(agents).to_contain_text("South Agency")
    screenshot(page, "kpi-dashboard")

    # Someone with no role yet gets a page saying whom to ask.
    sign_in_as(page, login_as, personas.outsider)
    expect(h1(page)).to_have_text(f"Welcome, {personas.outsider.get_full_name()}")
    expect(page.locator("main")).to_contain_text("Your account has no role yet")
    screenshot(page, "home-no-role")
