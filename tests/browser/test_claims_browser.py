"""Claims in a real browser: a customer files a claim with a document and sees its decision; an underwriter works the
review queue; a customer cannot open another customer's claim."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from claims.models import Claim, ClaimDocument, ExtractedField
from tests.browser.book import (
    MEDIUM,
    SCORES,
    alice_car,
    bob_car,
    claim_product,
    file_claim,
    injury_claim,
    invoice_pdf,
    score_arrives,
    use_stub_assessor,
)

D = Decimal


@pytest.fixture(autouse=True)
def _claims_setup(settings, tmp_path):
    use_stub_assessor(settings, tmp_path / "media")
    yield
    SCORES.clear()


def section(page, heading: str):
    """The <section> (or card) headed `heading`."""
    return page.locator("section").filter(has=page.get_by_role("heading", name=heading, exact=True))


def sign_in_as(page, login_as, user) -> None:
    """Another person at the same browser: forget the session, then log in through the form."""
    page.context.clear_cookies()
    login_as(page, user)


def test_a_customer_files_a_claim_with_an_invoice_and_sees_the_decision(
    page, personas, login_as, screenshot, mailoutbox
):
    policy = alice_car(personas, claim_product())
    login_as(page, personas.alice)
    page.get_by_role("link", name="File a claim").first.click()  # the home page's button
    expect(page.get_by_role("heading", level=1)).to_have_text("File a claim")

    day = timezone.localdate() - timedelta(days=2)
    page.get_by_label("Policy").select_option(str(policy.pk))
    page.get_by_label("Date of the loss").fill(day.isoformat())
    page.get_by_label("Time of the loss").fill("14:30")
    page.get_by_label("Where it happened").fill("Junction of High St and Mill Lane, Columbus")
    page.get_by_label("What happened").select_option("collision")
    page.get_by_label("Description").fill("Rear-ended at a red light; the bumper and boot lid are damaged.")
    page.get_by_label("Amount claimed").fill("1200.00")
    page.get_by_label("A police report was filed").check()
    page.get_by_label("Police report reference").fill("CPD-2026-4471")
    page.get_by_label("Number of witnesses").fill("1")
    page.get_by_label("Documents").set_input_files(
        [{"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": invoice_pdf("1200.00")}]
    )
    # The upload script lists the chosen file, with a way to remove it, before anything is sent.
    chosen = page.locator("[data-dropzone-files] li")
    expect(chosen).to_have_count(1)
    expect(chosen).to_contain_text(re.compile(r"^invoice\.pdf \(\d+ KiB\)"))
    expect(chosen.get_by_role("button", name="Remove invoice.pdf")).to_be_visible()
    screenshot(page, "claim-form-filled")

    page.get_by_role("button", name="File the claim").click()

    page.wait_for_url(re.compile(r"/claims/\d+/$"))
    claim = Claim.objects.get()
    # The document was read (its text layer) and the engine decided while the upload was answered.
    assert (claim.status, claim.approved_amount, claim.decided_by_person) == ("approved", D("700.00"), False)
    assert (claim.claimant, claim.reported_by, timezone.localtime(claim.incident_at).strftime("%H:%M")) == (
        personas.alice,
        personas.alice,
        "14:30",
    )
    document = ClaimDocument.objects.get(claim=claim)
    assert (document.original_name, document.status, document.method) == ("invoice.pdf", "done", "text_layer")
    assert document.fields.get(name="total_amount").value == "1200.00"

    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(claim.number)
    expect(heading.locator(".badge")).to_have_text("Approved")
    expect(page.get_by_role("status")).to_have_text(f"Claim {claim.number} was filed with 1 document(s).")
    decision = section(page, "Decision")
    expect(decision).to_contain_text("automatically")
    expect(decision).to_contain_text("The documented total (1200.00) supports the amount.")
    expect(decision).to_contain_text("Approved automatically for 700.00.")
    expect(decision).to_contain_text("700.00 USD")  # payable: 1,200 less the 500 deductible
    expect(section(page, "Amounts")).to_contain_text("Approved700.00 USD")
    documents = section(page, "Documents").locator("tbody tr")
    expect(documents).to_have_count(1)
    expect(documents).to_contain_text("invoice.pdf")
    expect(documents).to_contain_text("Invoice")
    expect(section(page, "Timeline")).to_contain_text("Decision: approve")
    assert "fraud" not in page.locator("main").inner_text().lower()  # the score stays with the handlers
    screenshot(page, "claim-approved")
    assert any(message.subject == f"Claim {claim.number}: approved" for message in mailoutbox)


def test_an_underwriter_works_the_review_queue_and_the_customer_sees_the_decision(page, personas, login_as, screenshot):
    product = claim_product()
    policy = alice_car(personas, product)
    injury = score_arrives(injury_claim(actor=personas.alice, policy=policy), MEDIUM)
    bobs = file_claim(
        actor=personas.bob,
        policy=bob_car(personas, product),
        loss_type="injury",
        amount_claimed=D("900.00"),
        description="Neck injury in a car park.",
    )
    assert (injury.status, injury.priority, bobs.status, bobs.priority) == (
        "under_review",
        "urgent",
        "under_review",
        "urgent",
    )
    field = ExtractedField.objects.get(document__claim=injury, name="total_amount")
    assert (field.value, field.needs_review) == ("4000.00", True)

    login_as(page, personas.underwriter)
    page.get_by_role("link", name="Open the claim review queue").click()
    rows = page.locator("table.data tbody tr")
    expect(rows).to_have_count(2)
    top = rows.first
    expect(top.get_by_role("rowheader")).to_have_text(injury.number)  # urgent and older: first
    expect(rows.nth(1).get_by_role("rowheader")).to_have_text(bobs.number)
    expect(top).to_contain_text("35 %")
    expect(top).to_contain_text("medium")
    for reason in MEDIUM.reasons:
        expect(top).to_contain_text(reason)
    expect(rows.nth(1)).to_contain_text("8 %")
    screenshot(page, "review-queue")

    top.get_by_role("link", name=injury.number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Review {injury.number}")
    fraud = section(page, "Fraud score")
    expect(fraud.locator(".score")).to_contain_text("35 %")
    expect(fraud).to_contain_text("Amount above comparable injury claims")
    bill = page.get_by_role("article", name="physio-bill.pdf")
    expect(bill).to_contain_text("Medical bill")
    total_row = bill.locator("tr.needs-review")
    expect(total_row).to_have_count(1)
    expect(total_row.get_by_role("rowheader")).to_contain_text("total_amount")
    expect(total_row.locator("mark")).to_have_text("4000.00")
    expect(total_row).to_contain_text("45 %")
    screenshot(page, "claim-review")

    # The total was read without a label: the underwriter checks it against the bill and confirms it.
    expect(total_row.get_by_label("total_amount")).to_have_value("4000.00")
    total_row.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_have_text("total_amount recorded as 4000.00.")
    expect(bill.locator("tr.needs-review")).to_have_count(0)
    expect(bill.get_by_role("row").filter(has_text="total_amount")).to_contain_text("Verified")
    field.refresh_from_db()
    assert (field.verified_value, field.verified_by, field.needs_review) == ("4000.00", personas.underwriter, False)

    partial = page.locator("form").filter(has=page.get_by_role("heading", name="Partially approve"))
    partial.get_by_label("Amount approved").fill("3600.00")
    partial.get_by_label("Reason").fill("The ten sessions are covered; the initial assessment is not.")
    partial.get_by_role("button", name="Approve this amount").click()

    expect(page.get_by_role("status")).to_have_text(f"{injury.number}: Claim is now partially approved.")
    expect(page.get_by_role("heading", level=1).locator(".badge")).to_have_text("Partially approved")
    expect(section(page, "Amounts")).to_contain_text("Approved3600.00 USD")
    screenshot(page, "claim-decided")
    injury.refresh_from_db()
    assert (injury.status, injury.approved_amount) == ("partially_approved", D("3600.00"))
    decision = injury.decisions.latest("created_at")
    assert (decision.decided_by, decision.reasons[0]["message"]) == (
        personas.underwriter,
        "The ten sessions are covered; the initial assessment is not.",
    )

    page.get_by_role("link", name="Back to the queue").click()
    rows = page.locator("table.data tbody tr")
    expect(rows).to_have_count(1)  # the decided claim left the queue
    expect(rows.first.get_by_role("rowheader")).to_have_text(bobs.number)
    screenshot(page, "review-queue-after")

    sign_in_as(page, login_as, personas.alice)
    page.goto(reverse("claims:claim-detail", args=[injury.pk]))
    expect(page.get_by_role("heading", level=1).locator(".badge")).to_have_text("Partially approved")
    decision_card = section(page, "Decision")
    expect(decision_card).to_contain_text("by a claims handler")
    expect(decision_card).to_contain_text("The ten sessions are covered; the initial assessment is not.")
    expect(section(page, "Amounts")).to_contain_text("Approved3600.00 USD")
    expect(section(page, "Timeline")).to_contain_text("Partially approved for 3600.00")
    main = page.locator("main").inner_text()
    assert personas.underwriter.username not in main  # who decided stays with the handlers
    assert "fraud" not in main.lower()
    assert "35 %" not in main
    screenshot(page, "customer-sees-decision")


def test_a_customer_cannot_open_another_customers_claim(page, personas, login_as, screenshot):
    product = claim_product()
    alices = file_claim(actor=personas.alice, policy=alice_car(personas, product))
    bobs = file_claim(
        actor=personas.bob,
        policy=bob_car(personas, product),
        loss_type="injury",
        amount_claimed=D("987.65"),
        description="Bob's neck injury in a car park.",
        incident_place="Lakeside Mall car park, Springfield",
        documents=(("bobs-invoice.pdf", invoice_pdf("987.65")),),
    )
    bobs_document = bobs.documents.get()
    login_as(page, personas.alice)

    response = page.goto(reverse("claims:claim-detail", args=[bobs.pk]))

    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_role("link", name="Go to your home page")).to_be_visible()
    shown = page.content() + page.locator("body").inner_text()  # the markup, and the text as read (unescaped)
    for secret in (
        bobs.number,
        bobs.policy.number,
        personas.bob.get_full_name(),
        personas.bob.username,
        "987.65",
        "neck injury",
        "Lakeside Mall",
        "bobs-invoice.pdf",
    ):
        assert secret not in shown, secret
    screenshot(page, "other-customers-claim-404")

    document = page.goto(reverse("claims:document-file", args=[bobs.pk, bobs_document.pk]))
    assert document.status == 404
    assert b"%PDF" not in document.body()
    page.goto(reverse("claims:claim-list"))  # her own claims are there; Bob's is not
    expect(page.locator("table.data tbody tr")).to_have_count(1)
    expect(page.locator("table.data")).to_contain_text(alices.number)
    assert bobs.number not in page.content()
    page.goto(reverse("claims:claim-detail", args=[alices.pk]))
    expect(page.get_by_role("heading", level=1)).to_contain_text(alices.number)
