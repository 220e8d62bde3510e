"""Rendered invoices for a bounded number of claims, stored like uploads, with their fields.

Each invoice is drawn by `claims.ocr.render_document` (as `claims.demo` does) with the claim's real cost as its
total (so an inflated claim is visibly above its invoice), passed through `claims.services.document_prepare` like an
upload, and saved in the default storage under a name derived from the seed and the claim. Its fields are written
from the values that were drawn, with `method = "generated"`; with `ocr=True` the document is left pending and read
by the real pipeline instead. A claim that reuses another's invoice either carries the very same file (same bytes,
same sha256) or a new invoice showing the other's invoice number and vendor.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from claims.choices import DocumentStatus, DocumentType
from claims.ocr import image_bytes, render_document
from claims.ocr.synthetic import complete_values
from claims.services import PreparedDocument, document_prepare

from .claims import ClaimRows
from .plan import DOCUMENTS, Plan, record_rng
from .pools import policy_number, scramble

GENERATED = "generated"  # ClaimDocument.method of fields written from the rendered values, not read by OCR
RENDER_DPI = 200
VENDORS = {
    "collision": ("Main Street Auto Repair LLC", "Buckeye Collision Center Inc", "Riverside Auto Body Ltd"),
    "theft": ("Precision Collision Center Inc", "Kingsway Motor Repairs Ltd", "Summit Panel & Paint LLC"),
    "injury": ("Lakeside Medical Center", "Riverview Community Hospital", "Northgate Orthopaedic Clinic"),
    "water_damage": ("Lakeside Plumbing & Restoration LLC", "Blue Ridge Plumbing LLC", "Prairie Home Services Inc"),
    "storm": ("Apex Roofing Ltd", "Prairie Home Services Inc", "Harper & Sons Glaziers"),
    "fire": ("Crescent Electrical Services Inc", "Prairie Home Services Inc", "Meadowbrook Restoration Co."),
}


@dataclass(frozen=True)
class Invoice:
    values: dict
    seed: int


def own_invoice(plan: Plan, rows: ClaimRows) -> Invoice:
    rng = record_rng(plan.seed, DOCUMENTS, rows.index)
    claim = rows.claim
    issued = min(claim["incident_at"].date() + timedelta(days=rng.randint(1, 20)), plan.as_of - timedelta(days=1))
    values = {
        "vendor": rng.choice(VENDORS[claim["loss_type"]]),
        "invoice_number": f"INV-{scramble(rows.index, 10**7, plan.seed, 48_271):07d}",
        "date": issued,
        "total_amount": rows.invoice_total,
        "currency": claim["currency"],
        "policy_number": policy_number(rows.policy),
        "claim_number": claim["number"] if rng.random() < 0.5 else "",
    }
    return Invoice(values=values, seed=rng.randrange(2**31))


def invoice_for(plan: Plan, rows: ClaimRows, rows_of) -> Invoice:
    """The claim's invoice, following reuse: `rows_of(index)` rebuilds another claim's rows."""
    own = own_invoice(plan, rows)
    if rows.index not in plan.reuse:
        return own
    source_index, kind = plan.reuse[rows.index]
    source = invoice_for(plan, rows_of(source_index), rows_of)
    if kind == "bytes":
        return source
    copied = {name: source.values[name] for name in ("invoice_number", "vendor")}
    return Invoice(values={**own.values, **copied}, seed=own.seed)


def render(invoice: Invoice) -> bytes:
    return image_bytes(render_document("invoice", invoice.values, dpi=RENDER_DPI, seed=invoice.seed))


def prepare(rows: ClaimRows, data: bytes) -> PreparedDocument:
    return document_prepare(name=f"invoice-{rows.claim['number']}.png", data=data)


def storage_name(plan: Plan, rows: ClaimRows, prepared: PreparedDocument) -> str:
    token = hashlib.sha256(f"generate_demo_data:{plan.seed}:{rows.claim['number']}".encode()).hexdigest()[:32]
    return f"claims/{rows.claim['reported_at']:%Y/%m}/{token}.{prepared.info.kind}"


def document_row(rows: ClaimRows, prepared: PreparedDocument, path: str, *, ocr: bool) -> dict:
    uploaded = rows.claim["reported_at"] + timedelta(minutes=3)
    return {
        "file": path,
        "original_name": prepared.display_name,
        "kind": prepared.info.kind,
        "mime": prepared.info.mime,
        "size": prepared.info.size,
        "pages": prepared.info.pages,
        "sha256": prepared.sha256,
        "status": DocumentStatus.PENDING if ocr else DocumentStatus.DONE,
        "document_type": DocumentType.UNKNOWN if ocr else DocumentType.INVOICE,
        "method": "" if ocr else GENERATED,
        "processed_at": None if ocr else uploaded + timedelta(minutes=1),
        "created_at": uploaded,
    }


def field_rows(invoice: Invoice) -> list[dict]:
    """The fields as the OCR would report them (ISO date, plain decimal, ISO currency), read from what was drawn."""
    drawn = complete_values("invoice", invoice.values, invoice.seed)
    values = {
        "date": drawn["date"].isoformat(),
        "total_amount": str(drawn["total_amount"]),
        "currency": drawn["currency"],
        "invoice_number": drawn["invoice_number"],
        "policy_number": drawn["policy_number"],
        "claim_number": drawn["claim_number"],
        "vendor": drawn["vendor"],
    }
    return [
        {"name": name, "value": value[:255], "confidence": 1.0, "page": 1, "box": None, "needs_review": False}
        for name, value in values.items()
        if value
    ]
