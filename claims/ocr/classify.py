"""What kind of claim document a text is, by weighted keywords: explainable, and good enough to route a document.

Generic words ("total", "date") weigh little and telling ones ("diagnosis", "officer", "first notice") weigh a
lot, because every kind of document has a total or a policy number somewhere. Each keyword counts at most three
times, so a long bill of repeated "total" lines cannot outvote one "police" heading.
"""

import re

from .patterns import fold

DOCUMENT_TYPES = ("invoice", "repair_estimate", "medical_bill", "police_report", "claim_form", "photo", "other")
PHOTO_MAX_WORDS = 10  # fewer real words than this on an image: a photo of damage, not a document
MIN_SCORE = 3.0

_KEYWORDS: dict[str, list[tuple[str, float]]] = {
    "invoice": [
        # Compounds count: Rechnungsdatum, Factuurnummer, facturé.
        (r"\binvoice", 4), (r"\breceipt\b", 4), (r"\bfactur", 4), (r"\brechnung", 4), (r"\bfactuur", 4),
        (r"amount\s*due|te\s*betalen|a\s*payer|zu\s*zahlen", 2), (r"bill\s*to", 2), (r"\btotal\b", 0.5),
        (r"\bvat\b|\btva\b|\bbtw\b|mwst", 0.5), (r"payment\s*(?:terms|within)", 1), (r"\biban\b", 0.5),
    ],
    "repair_estimate": [
        (r"\bestimate\b", 4), (r"\bquotation\b|\bquote\b", 3), (r"\blabou?r\b", 2), (r"\bparts\b", 2),
        (r"\brepair", 2), (r"\bvin\b", 2), (r"\bvehicle\b", 1), (r"\bpanel\b|\brefinish\b|\bbumper\b", 1),
    ],
    "medical_bill": [
        (r"\bpatient\b", 3), (r"\bdiagnosis\b", 3), (r"\bcpt\b", 3), (r"\bhospital\b", 2), (r"\bclinic\b", 2),
        (r"\bicd\b", 2), (r"\bphysician\b", 2), (r"\bprocedure\b", 1), (r"\bdate\s*of\s*service\b", 2),
        (r"\bmedical\b", 1), (r"\binsurance\s*payments?\b", 1),
    ],
    "police_report": [
        (r"\bpolice\b", 4), (r"incident\s*report", 3), (r"\bofficer\b", 3), (r"case\s*number", 3), (r"\bbadge\b", 2),
        (r"\bsheriff\b", 3), (r"\bprecinct\b", 2), (r"\bnarrative\b", 2), (r"\bwitness", 1), (r"\boffen[cs]e\b", 2),
    ],
    "claim_form": [
        (r"claim\s*form", 5), (r"first\s*notice", 4), (r"\bpolicyholder\b", 3), (r"date\s*of\s*loss", 2),
        (r"policy\s*number", 2), (r"\bclaimant\b", 3), (r"\bdeclare\b", 1), (r"type\s*of\s*loss", 2),
        (r"\bsignature\b", 1),
    ],
}  # fmt: skip
_COMPILED = {kind: [(re.compile(pattern), weight) for pattern, weight in words] for kind, words in _KEYWORDS.items()}


def scores(text: str) -> dict[str, float]:
    """The keyword score of each document kind for `text`."""
    folded = fold(text)
    return {
        kind: sum(weight * min(len(pattern.findall(folded)), 3) for pattern, weight in keywords)
        for kind, keywords in _COMPILED.items()
    }


def classify(text: str, *, is_image: bool, word_count: int) -> str:
    """One of DOCUMENT_TYPES. An image with hardly any readable words is a photo; nothing convincing is "other"."""
    if is_image and word_count < PHOTO_MAX_WORDS:
        return "photo"
    kind, score = max(scores(text).items(), key=lambda item: item[1])
    return kind if score >= MIN_SCORE else "other"
