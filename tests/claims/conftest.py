import hashlib
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from claims import services
from claims.models import ClaimDocument
from policies import services as policy_services
from tests.policies.factories import make_test_product, quote, set_holder


@pytest.fixture
def claim_product(db):
    """The test auto product (liability covers collision and injury; collision cover optional) with an
    auto-approval limit of 2,500 and an invoice required."""
    product = make_test_product()
    product.claim_required_documents = ["invoice"]
    product.save()
    return product


@pytest.fixture
def policy(personas, claim_product):
    """Alice's auto policy, in force since 60 days ago, with collision cover (limit 20,000, deductible 500)."""
    set_holder(personas.alice, born=date(1980, 5, 17), region="OH")
    start = timezone.localdate() - timedelta(days=60)
    quoted = quote(
        actor=personas.alice,
        holder=personas.alice,
        product=claim_product,
        effective_date=start,
        today=start,
        coverages=[{"coverage": "collision"}],
    )
    return policy_services.policy_bind(actor=personas.alice, policy=quoted, today=start)


@pytest.fixture
def bob_policy(personas, claim_product):
    set_holder(personas.bob, born=date(1985, 2, 1), region="IL")
    start = timezone.localdate() - timedelta(days=30)
    quoted = quote(actor=personas.bob, holder=personas.bob, product=claim_product, effective_date=start, today=start)
    return policy_services.policy_bind(actor=personas.bob, policy=quoted, today=start)


def fnol(**overrides) -> dict:
    return {
        "incident_at": (timezone.now() - timedelta(days=2)).isoformat(),
        "incident_place": "Junction of High St and Mill Lane, Columbus",
        "loss_type": "collision",
        "description": "Rear-ended at a red light.",
        "amount_claimed": "1200.00",
        "police_report_filed": True,
        "police_report_reference": "CPD-2026-4471",
        "witness_count": 1,
        **overrides,
    }


def submit(*, actor, policy, **overrides):
    data = fnol(**overrides)
    from django.utils.dateparse import parse_datetime

    data["incident_at"] = parse_datetime(data["incident_at"])
    data["amount_claimed"] = Decimal(data["amount_claimed"])
    return services.claim_submit(actor=actor, policy=policy, **data)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def stored_document(*, claim, uploaded_by) -> ClaimDocument:
    """A document row with a (tiny) stored file, written straight to storage: for tests about who may reach a
    document, not about reading one (those upload through the API)."""
    document = ClaimDocument(
        claim=claim,
        uploaded_by=uploaded_by,
        original_name="invoice.png",
        kind="png",
        mime="image/png",
        size=len(PNG_SIGNATURE),
        sha256=hashlib.sha256(PNG_SIGNATURE).hexdigest(),
    )
    document.file.save("invoice.png", ContentFile(PNG_SIGNATURE), save=False)
    document.save()
    return document
