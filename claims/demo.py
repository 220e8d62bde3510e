"""Demo claims for `make run`: first notices of loss on the demo book, with rendered document images, read by OCR
and decided by the engine (auto-approved, sent to a person, denied)."""

import io
import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from policies.choices import LineOfBusiness, PolicyStatus
from policies.models import Policy

from . import services
from .models import Claim
from .ocr import render_document

LOSS_OF_LINE = {LineOfBusiness.AUTO: "collision", LineOfBusiness.HOME: "water_damage"}
VENDORS = [
    "Main Street Auto Repair LLC",
    "Buckeye Collision Center Inc",
    "Lakeside Plumbing & Restoration LLC",
    "Prairie Home Services Inc",
]


def _invoice_png(*, total: Decimal, number: str, vendor: str, day, policy_number: str, seed: int) -> bytes:
    image = render_document(
        "invoice",
        {
            "vendor": vendor,
            "invoice_number": number,
            "date": day,
            "total_amount": total,
            "currency": "USD",
            "policy_number": policy_number,
            "claim_number": "",
        },
        dpi=200,
        seed=seed,
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def create_demo_claims(*, actor, count: int = 8, seed: int = 11) -> list[Claim]:
    """Claims on in-force demo policies, once (skipped when claims exist)."""
    if Claim.objects.exists():
        return []
    rng = random.Random(seed)
    now = timezone.now()
    policies = [
        policy
        for policy in Policy.objects.filter(status=PolicyStatus.IN_FORCE).select_related("product").order_by("number")
        if policy.product.line_of_business in LOSS_OF_LINE and policy.effective_date < (now - timedelta(days=3)).date()
    ][:count]
    claims = []
    for index, policy in enumerate(policies):
        incident = now - timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 12))
        amount = Decimal(rng.randrange(900, 3200, 50))
        # Most invoices match the claim; every third is inflated, so the engine sends it to a person.
        documented = amount if index % 3 else (amount * Decimal("0.6")).quantize(Decimal("1"))
        documents = []
        if index % 4 != 3:  # some claims arrive without documents and wait for them
            data = _invoice_png(
                total=documented,
                number=f"INV-{40000 + index}",
                vendor=rng.choice(VENDORS),
                day=incident.date(),
                policy_number=policy.number,
                seed=seed + index,
            )
            documents.append(services.document_prepare(name=f"invoice-{index + 1}.png", data=data))
        claims.append(
            services.claim_submit(
                actor=actor,
                policy=policy,
                incident_at=incident,
                incident_place=f"{policy.holder.customer_profile.city}",
                loss_type=LOSS_OF_LINE[policy.product.line_of_business],
                description="Demo claim: "
                + (
                    "rear-ended at a junction"
                    if policy.product.line_of_business == "auto"
                    else "burst pipe in the kitchen"
                ),
                amount_claimed=amount,
                police_report_filed=index % 2 == 0,
                witness_count=index % 3,
                documents=documents,
            )
        )
    return claims
