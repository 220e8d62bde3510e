"""The data the portal browser tests speak of, built through the services as people and tasks would build it.

Claims carry text-layer PDFs written here with fpdf's core font: the document pipeline reads them without tesseract
or extra fonts, so every run reads the same fields with the same confidence, in a few milliseconds (the OCR path
and its accuracy are measured in tests/claims). Fraud scores come from a stand-in assessor named by
`settings.CLAIMS_FRAUD_ASSESSOR`, as in tests/claims/test_portal.py; the fraud app's own scoring is tested in
tests/fraud.
"""

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

from dateutil.relativedelta import relativedelta
from django.utils import timezone
from fpdf import FPDF

from claims import services as claim_services
from claims.fraud import FraudAssessment
from claims.models import Claim
from insurance.core.audit import system_account
from policies import services as policy_services
from policies.models import Policy, Product
from reports.segmentation import segmentation_run
from tests.accounts.factories import CustomerProfileFactory
from tests.policies.factories import make_test_product, pay, quote, set_holder, vehicle

D = Decimal

# --- fraud scores ---------------------------------------------------------------------------------------------------

# The stand-in assessor's answers: by claim pk, and under None the score of every other claim.
SCORES: dict[int | None, FraudAssessment] = {}
LOW = FraudAssessment(
    probability=0.08, risk_band="low", model_version="stub-1", reasons=["Customer for years without a claim"]
)
MEDIUM = FraudAssessment(
    probability=0.35,
    risk_band="medium",
    model_version="stub-1",
    reasons=[
        "Treatment began soon after the cover started",
        "Amount above comparable injury claims",
        "No police report for a road accident",
    ],
)


def stub_assessor(claim) -> FraudAssessment | None:
    return SCORES.get(claim.pk, SCORES.get(None))


def use_stub_assessor(settings, media_root: Path) -> dict:
    """Point the claims engine at the stand-in assessor (every claim scores LOW unless a test says otherwise) and
    keep the test's uploads in its own folder. Settings changed here are seen by the live server's thread too."""
    settings.CLAIMS_FRAUD_ASSESSOR = "tests.browser.book.stub_assessor"
    settings.CLAIMS_FRAUD_SCORE_READER = ""  # pages ask the stand-in too, claim by claim
    settings.MEDIA_ROOT = media_root
    SCORES.clear()
    SCORES[None] = LOW
    return SCORES


def score_arrives(claim: Claim, assessment: FraudAssessment) -> Claim:
    """The claim's own score arrives later, and the engine looks again, as the fraud app's scoring task does."""
    SCORES[claim.pk] = assessment
    claim_services.claim_evaluate(actor=system_account("celery"), claim=claim)
    return Claim.objects.get(pk=claim.pk)


# --- documents ------------------------------------------------------------------------------------------------------


def text_pdf(*lines: str) -> bytes:
    """A born-digital one-page PDF (a text layer, no fonts to install): the first line as its title."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 12, lines[0], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    for line in lines[1:]:
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def invoice_pdf(total: str) -> bytes:
    """A garage's invoice with a labelled total: read as an invoice, every field above the review threshold."""
    return text_pdf(
        "INVOICE",
        "Main Street Auto Repair LLC",
        "Invoice number: INV-20417",
        "Invoice date: 2026-11-03",
        "Rear bumper, parts and paint",
        "Labour, 4 hours",
        f"Total due: {total} USD",
    )


def medical_bill_pdf() -> bytes:
    """A clinic's bill whose total carries no label: read as 4000.00 with 45 % confidence, so a person must check it."""
    return text_pdf(
        "MEDICAL BILL",
        "Riverside Physiotherapy Clinic LLC",
        "Statement date: 2026-11-03",
        "Initial assessment      $400.00",
        "Ten treatment sessions      $3,600.00",
        "$4,000.00",
    )


# --- policies and claims --------------------------------------------------------------------------------------------


def claim_product() -> Product:
    """tests.policies' test-auto (liability 500 covers injury, deductible 0; collision 200, deductible 500) with an
    invoice required before a claim is approved automatically (up to 2,500)."""
    product = make_test_product()
    product.claim_required_documents = ["invoice"]
    product.save()
    return product


def in_force(holder, product: Product, *, start: date, **kwargs) -> Policy:
    """A policy quoted and bought by its holder on `start`."""
    quoted = quote(actor=holder, holder=holder, product=product, effective_date=start, today=start, **kwargs)
    return policy_services.policy_bind(actor=holder, policy=quoted, today=start)


def alice_car(personas, product: Product) -> Policy:
    """Alice (born 1980, Ohio) insures her car with collision cover, in force since 60 days ago: 660.00 a year."""
    set_holder(personas.alice, born=date(1980, 5, 17), region="OH")
    start = timezone.localdate() - timedelta(days=60)
    return in_force(personas.alice, product, start=start, coverages=[{"coverage": "collision"}])


def bob_car(personas, product: Product) -> Policy:
    """Bob (born 1985, Illinois, another agent's customer): liability only, in force since 30 days ago."""
    set_holder(personas.bob, born=date(1985, 2, 1), region="IL")
    return in_force(personas.bob, product, start=timezone.localdate() - timedelta(days=30))


def file_claim(*, actor, policy: Policy, documents: tuple[tuple[str, bytes], ...] = (), **fields) -> Claim:
    """A first notice of loss through `claim_submit`; its documents are read and the engine decides on commit."""
    data = {
        "incident_at": timezone.now() - timedelta(days=2),
        "incident_place": "Junction of High St and Mill Lane, Columbus",
        "loss_type": "collision",
        "description": "Rear-ended at a red light.",
        "amount_claimed": D("1200.00"),
        "police_report_filed": True,
        "police_report_reference": "CPD-2026-4471",
        "witness_count": 1,
        **fields,
    }
    prepared = [claim_services.document_prepare(name=name, data=content) for name, content in documents]
    claim = claim_services.claim_submit(actor=actor, policy=policy, documents=prepared, **data)
    return Claim.objects.get(pk=claim.pk)


def injury_claim(*, actor, policy: Policy) -> Claim:
    """An injury claim of 4,000.00 with a clinic's bill: above the automatic approval limit, so it waits for a person
    (urgent, as every bodily loss), its total read with low confidence."""
    return file_claim(
        actor=actor,
        policy=policy,
        loss_type="injury",
        amount_claimed=D("4000.00"),
        description="Whiplash after the collision; ten physiotherapy sessions.",
        police_report_filed=False,
        police_report_reference="",
        witness_count=0,
        documents=(("physio-bill.pdf", medical_bill_pdf()),),
    )


def build_book(personas) -> SimpleNamespace:
    """A small book for the screenshots of every page, each page showing some of it.

    Alice (alice_agent's, North Agency): her car (in force 60 days, quarterly, first instalment paid), a second car
    whose term ends within 60 days (renewal due; its fourth instalment overdue), a quote to buy; a collision claim
    approved by the engine on its invoice and an injury claim waiting for a person (fraud score 35 %).
    Carol (alice_agent's too, 19 years old): a quote referred to an underwriter (driver under 21).
    Bob (other_agent's, South Agency): his car and an injury claim waiting for a person. Every customer is placed
    in a segment (k=2).
    """
    today = timezone.localdate()
    product = claim_product()
    set_holder(personas.alice, born=date(1980, 5, 17), region="OH")
    set_holder(personas.bob, born=date(1985, 2, 1), region="IL")
    carol = CustomerProfileFactory(
        user__username="carol",
        user__first_name="Carol",
        user__last_name="Quennell",
        agent=personas.alice_agent.agent_profile,
        date_of_birth=today - relativedelta(years=19),
        region="OH",
        city="Dayton",
    ).user

    car = in_force(
        personas.alice,
        product,
        start=today - timedelta(days=60),
        coverages=[{"coverage": "collision"}],
        instalment_count=4,
    )
    pay(car, 1, actor=personas.admin)
    renewing = in_force(
        personas.alice,
        product,
        start=today - relativedelta(months=11) + timedelta(days=20),
        instalment_count=4,
        vehicle=vehicle(make="Honda", model="Civic", year=2018, vin="1HGCM82633A004352", value=D("9500")),
    )
    for sequence in (1, 2, 3):
        pay(renewing, sequence, actor=personas.admin)
    to_buy = quote(
        actor=personas.alice,
        holder=personas.alice,
        product=product,
        effective_date=today + timedelta(days=10),
        today=today,
        coverages=[{"coverage": "collision"}],
    )
    referred = quote(
        actor=personas.alice_agent, holder=carol, product=product, effective_date=today + timedelta(days=5), today=today
    )
    bobs_car = in_force(personas.bob, product, start=today - timedelta(days=30))

    approved = file_claim(actor=personas.alice, policy=car, documents=(("invoice.pdf", invoice_pdf("1200.00")),))
    waiting = score_arrives(injury_claim(actor=personas.alice, policy=car), MEDIUM)
    bobs_claim = file_claim(
        actor=personas.bob,
        policy=bobs_car,
        loss_type="injury",
        amount_claimed=D("900.00"),
        description="Bob's neck injury in a car park.",
        incident_place="Lakeside Mall car park, Springfield",
    )
    segmentation_run(actor=personas.admin, k=2, seed=0)
    assert (approved.status, waiting.status, referred.status) == ("approved", "under_review", "referred")
    return SimpleNamespace(
        product=product,
        carol=carol,
        car=car,
        renewing=renewing,
        to_buy=to_buy,
        referred=referred,
        bobs_car=bobs_car,
        approved=approved,
        waiting=waiting,
        bobs_claim=bobs_claim,
    )
