"""Picking the fields a claim handler needs (date, total, currency, document number, policy and claim numbers,
vendor) out of a document's words, with a confidence and the box each came from.

Every value found is a candidate; its label decides how much it is trusted. The label is the nearest one to the
left on the same visual row (across tesseract's blocks, which split columns) or, failing that, the one just above
it (table headers). "Total HT" and "Due date" are labels too, with a low weight, so the grand total and the issue
date win over a subtotal and a due date. Confidence = label weight x the OCR confidence of the value's words.
"""

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from .patterns import AmountMatch, find_amounts, find_currencies, find_dates, fold
from .words import Box, Line, Page, Word, union_box

FIELD_NAMES = ("date", "total_amount", "currency", "invoice_number", "policy_number", "claim_number", "vendor")
UNLABELLED = 0.5  # a date with no label
FALLBACK_TOTAL = 0.45  # no labelled total: the largest amount


@dataclass(frozen=True)
class ExtractedField:
    """One extracted value, normalised (ISO date, plain decimal, ISO 4217), and where it was read."""

    name: str
    value: str
    confidence: float
    page: int
    box: Box | None
    needs_review: bool


Labels = list[tuple[re.Pattern, float]]


def _labels(*groups: tuple[float, list[str]]) -> Labels:
    """Compile (weight, patterns) groups into one list of (pattern, weight)."""
    return [(re.compile(pattern), weight) for weight, patterns in groups for pattern in patterns]


# Patterns run on folded text (lower case, no accents).
DATE_LABELS = _labels(
    (1.0, [r"invoice\s*date", r"date\s*of\s*invoice", r"invoice\s*dated",
           r"(?:bill|billing|statement|estimate|quote|quotation|report|receipt|issue)\s*date",
           r"date\s*(?:of\s*)?(?:issue|report|statement|estimate)", r"date\s*issued", r"issued\s*on",
           r"rechnungsdatum", r"factuur\s*datum", r"date\s*de\s*(?:la\s*)?factur(?:e|ation)", r"date\s*d.\s*emission"]),
    (0.9, [r"\b(?:facture|invoice|rechnung|factuur|receipt)\b.{0,30}?\b(?:du|vom|van|dated|le)\b"]),
    (0.85, [r"\bdate\b", r"\bdatum\b", r"\bdated\b"]),
    (0.5, [r"date\s*of\s*(?:loss|incident|accident|service|treatment|admission)", r"(?:incident|service|loss)\s*date"]),
    (0.2, [r"\bdue\b", r"date\s*due", r"echeance", r"date\s*limite", r"\blimite\b", r"vervaldatum", r"vervaldag",
           r"fall?ig\w*", r"faellig\w*", r"zahlungsziel", r"zahlbar", r"order\s*date", r"orderdatum", r"bestelldatum",
           r"commande", r"\border\b", r"check\s*-?\s*(?:in|out)", r"delivery", r"lieferdatum", r"livraison",
           r"leverdatum", r"afleverdatum", r"period\w*", r"zeitraum", r"\bfrom\b", r"\buntil\b", r"\bvalid\b",
           r"birth", r"\bdob\b", r"geboren", r"geboorte", r"naissance", r"expir\w*", r"effective", r"prelevement",
           r"\bpaid\b", r"betaald", r"bezahlt"]),
)  # fmt: skip
AMOUNT_LABELS = _labels(
    (1.0, [r"grand\s*total", r"total\s*(?:amount\s*)?(?:due|payable|to\s*pay)", r"amount\s*(?:due|payable)",
           r"balance\s*due", r"total\s*amount", r"invoice\s*total", r"estimate\s*total", r"total\s*estimate",
           r"total\s*ttc", r"montant\s*ttc", r"(?:net|somme|montant|total)\s*a\s*payer", r"total\s*facture",
           r"gesamtbetrag", r"rechnungsbetrag", r"endbetrag", r"zu\s*zahlen", r"te\s*betalen",
           r"factuur\s*totaal", r"total\w*\s*\(?incl\w*\.?\s*(?:vat|tax|btw|tva|mwst)"]),
    (0.8, [r"\btotal\b", r"\btotaal\b", r"\bsumme\b", r"estimated\s*(?:amount|value|loss|cost)", r"value\s*of\s*loss"]),
    (0.6, [r"\bamount\b", r"\bmontant\b", r"\bbetrag\b", r"\bbedrag\b"]),
    (0.3, [r"incl\w*\.?\s*(?:vat|tax|btw|tva|mwst)"]),  # "Price incl. VAT": says the tax is in, not that it is a total
    (0.1, [r"sub\s*-?\s*total\w*", r"zwischensumme", r"sous\s*-?\s*total", r"\bht\b", r"hors\s*tax\w*", r"excl\w*",
           r"before\s*tax", r"\btax\w*", r"\bvat\b", r"\btva\b", r"\bbtw\b", r"mwst", r"\bust\b", r"\bgst\b",
           r"discount", r"korting", r"rabatt", r"remise", r"\bpaid\b", r"payments?", r"betaald", r"deposit",
           r"unit\s*price", r"\bprice\b", r"\brate\b", r"\bprijs\b", r"einzelpreis", r"prix"]),
)  # fmt: skip
NUMBER_LABELS = _labels(
    (0.95, [r"\b(?:invoice|inv|receipt|bill|estimate|quote|quotation|statement)\s*(?:no\b\.?|nr\b\.?|number|num\b\.?"
            r"|#|id\b)", r"\bfacture\s*(?:n\s*[°o*]|no\b|numero|num\b)", r"numero\s*de\s*facture",
            r"rechnungs?\s*-?\s*(?:nummer|nr\b\.?|no\b\.?)", r"factuur\s*(?:nummer|nr\b\.?|no\b\.?)",
            r"\bcase\s*(?:no\b\.?|number|#)", r"report\s*(?:no\b\.?|number)"]),
    (0.75, [r"\b(?:invoice|facture|rechnung|factuur|receipt)\b"]),
    (0.6, [r"booking\s*(?:id|no\b|number|ref\w*)"]),
)  # fmt: skip
STRONG_NUMBER_LABEL = 0.9
ABOVE = 0.9  # a column header names a value less surely than a label beside it
_DOCUMENT_NUMBER = re.compile(r"#?[A-Z0-9][A-Z0-9_/\-.]*[A-Z0-9]", re.IGNORECASE)
_DASH = r"\s?[-\u2013\u2014_]\s?"  # OCR reads a hyphen as an en or em dash, or spaces it out
_SERIAL = rf"{_DASH}([\dOoIlSB]{{4}}){_DASH}([\dOoIlSB]{{6}})(?![\dA-Za-z])"
_REFERENCE = {
    "policy_number": re.compile(rf"\bP[O0o]L{_SERIAL}"),
    "claim_number": re.compile(rf"\bC[L1I]M{_SERIAL}"),
}
_OCR_DIGITS = str.maketrans("OoIlSB", "001158")
_COMPANY = re.compile(
    r"\b(?:ltd|limited|inc|incorporated|llc|llp|plc|gmbh|ag|b\.?\s?v|n\.?\s?v|sas|sarl|s\.?a|pvt|corp|corporation"
    r"|company|co)\b\.?",
    re.IGNORECASE,
)
_NOT_VENDOR = re.compile(
    r"invoice|facture|rechnung|factuur|receipt|statement|estimate|\breport\b|claim\s*form|\bpage\b|bill\s*to"
    r"|ship\s*to|\bdate\b|\btotal\b|\btel\b|phone|\bfax\b|e-?mail|www\.|@|\biban\b|\bvat\b|\bbtw\b|\btva\b"
    r"|\bust\b|\battn\b|customer|\bclient\b|kunde",
    re.IGNORECASE,
)


@dataclass
class _Candidate:
    """A value found for a field: `weight` is how trustworthy the way it was found is, before OCR confidence."""

    value: str
    weight: float
    page: Page
    words: list[Word]
    currency: str | None = None  # for a total: the currency sign printed beside it

    def field(self, name: str) -> ExtractedField:
        ocr = sum(word.conf for word in self.words) / len(self.words) if self.words else 1.0
        confidence = round(max(0.0, min(1.0, self.weight * ocr)), 3)
        return ExtractedField(
            name=name,
            value=self.value,
            confidence=confidence,
            page=self.page.number,
            box=union_box(self.words),
            needs_review=confidence < settings.OCR_REVIEW_CONFIDENCE,
        )


def extract_fields(pages: list[Page]) -> list[ExtractedField]:
    """The fields found in the document, in FIELD_NAMES order; a field that is not there is left out."""
    amounts = [(page, line, match) for page in pages for line in page.lines for match in find_amounts(line.text)]
    total = _total(amounts)
    currency = _currency(pages, total)
    day_first = currency is None or currency.value != "USD"
    found = {
        "date": _date(pages, day_first=day_first),
        "total_amount": total,
        "currency": currency,
        "invoice_number": _document_number(pages),
        **{name: _reference(pages, name) for name in _REFERENCE},
        "vendor": _vendor(pages),
    }
    return [found[name].field(name) for name in FIELD_NAMES if found[name] is not None]


def _nearest_label(context: str, labels: Labels) -> tuple[float, int] | None:
    """The weight of the label ending last in `context` (the longer one on a tie), and where it ends."""
    best: tuple[tuple[int, int], float] | None = None
    for pattern, weight in labels:
        for match in pattern.finditer(context):
            key = (match.end(), match.end() - match.start())
            if best is None or key > best[0]:
                best = (key, weight)
    return (best[1], best[0][0]) if best else None


def _same_row(word: Word, box: Box) -> bool:
    top, bottom = box[1], box[1] + box[3]
    overlap = min(word.bottom, bottom) - max(word.top, top)
    return overlap >= 0.5 * min(word.box[3], box[3])


def _left_of(page: Page, box: Box) -> str:
    """Text on the same visual row, left of `box`, in reading order (folded)."""
    words = [word for word in page.words if _same_row(word, box) and word.right <= box[0] + 2 and word.left < box[0]]
    return fold(" ".join(word.text for word in sorted(words, key=lambda word: word.left)))


def _above(page: Page, box: Box) -> str:
    """Text of the nearest row above `box` that overlaps it horizontally (a column header), folded."""
    left, top, width, height = box
    candidates = [
        word
        for word in page.words
        if word.bottom <= top + 2
        and word.bottom >= top - 3 * height
        and min(word.right, left + width) - max(word.left, left) > 0
    ]
    if not candidates:
        return ""
    lowest = max(word.bottom for word in candidates)
    row = [word for word in candidates if word.bottom >= lowest - 0.6 * height]
    return fold(" ".join(word.text for word in sorted(row, key=lambda word: word.left)))


def _label_weight(
    page: Page, box: Box, labels: Labels, *, blocked_by: Callable[[str], list] | None = None
) -> float | None:
    """The weight of the value's label: left on its row, else just above it; None when it has none.

    `blocked_by` finds values of the same kind: a label with another such value between it and ours is not ours.
    """
    left = _left_of(page, box)
    label = _nearest_label(left, labels)
    if label is not None and not (blocked_by and blocked_by(left[label[1] :])):
        return label[0]
    label = _nearest_label(_above(page, box), labels)
    return label[0] * ABOVE if label else None


def _date(pages: list[Page], *, day_first: bool) -> _Candidate | None:
    best: tuple[float, tuple, _Candidate] | None = None
    for page in pages:
        for line in page.lines:
            for match in find_dates(line.text, day_first=day_first):
                words = line.words_in(match.start, match.end)
                weight = _label_weight(page, union_box(words), DATE_LABELS, blocked_by=find_dates)
                weight = UNLABELLED if weight is None else weight
                if match.ambiguous:
                    weight *= 0.85
                if match.short_year:
                    weight *= 0.9
                order = (-page.number, -words[0].top, -words[0].left)
                candidate = _Candidate(match.value.isoformat(), weight, page, words)
                if best is None or (weight, order) > best[:2]:
                    best = (weight, order, candidate)
    return best[2] if best else None


def _total(amounts: list[tuple[Page, Line, AmountMatch]]) -> _Candidate | None:
    """The grand total: the best-labelled amount (ties: the value printed most often, then the larger)."""
    usable = [(page, line, match) for page, line, match in amounts if not match.negative and match.value > 0]
    if not usable:
        return None
    frequency = Counter(match.value for _, _, match in usable)
    scored = []
    for page, line, match in usable:
        words = line.words_in(match.start, match.end)
        weight = _label_weight(page, union_box(words), AMOUNT_LABELS) or 0.0
        scored.append((weight, frequency[match.value], match.value, page, words, match))
    weight, _, value, page, words, match = max(scored, key=lambda item: item[:3])
    if weight < 0.6:
        # No labelled total: the largest amount, preferring one with a currency sign.
        weight, value, page, words, match = max(
            ((FALLBACK_TOTAL if item[5].currency else FALLBACK_TOTAL - 0.1, item[2], *item[3:]) for item in scored),
            key=lambda item: (item[0], item[1]),
        )
    return _Candidate(_plain(value), weight, page, words, currency=match.currency)


def _plain(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def _currency(pages: list[Page], total: _Candidate | None) -> _Candidate | None:
    """The total's own currency sign; else the currency named most often in the document."""
    votes: Counter[str] = Counter()
    first_seen: dict[str, tuple[Page, list[Word]]] = {}
    for page in pages:
        for line in page.lines:
            attached = {match.currency for match in find_amounts(line.text) if match.currency}
            for match in find_currencies(line.text):
                votes[match.code] += 2 if match.code in attached else 1
                first_seen.setdefault(match.code, (page, line.words_in(match.start, match.end)))
    if total is not None and total.currency:
        return _Candidate(total.currency, 0.95, total.page, total.words)
    if not votes:
        return None
    (code, count), *others = votes.most_common()
    weight = 0.75 if not others or count >= 2 * others[0][1] else 0.5
    page, words = first_seen[code]
    return _Candidate(code, weight, page, words)


def _document_number(pages: list[Page]) -> _Candidate | None:
    best: _Candidate | None = None
    for page in pages:
        for line in page.lines:
            folded = fold(line.text)
            if len(folded) != len(line.text):
                continue
            for pattern, weight in NUMBER_LABELS:
                for label in pattern.finditer(folded):
                    candidate = _number_after(page, line, label.start(), label.end(), weight)
                    if candidate and (best is None or candidate.weight > best.weight):
                        best = candidate
    return best


def _number_after(page: Page, line: Line, label_start: int, position: int, weight: float) -> _Candidate | None:
    """The identifier after a label: next on its line, else right of it on the row, else below it (a header).

    A label with nothing after it on its row ("Kopie factuur") is a title, not a column header, so only a strong
    label ("Invoice No.") looks below itself then.
    """
    rest = line.text[position:]
    stripped = rest.lstrip(" :#.°*-")
    token = stripped.split(" ", 1)[0] if stripped else ""
    start = position + len(rest) - len(stripped)
    if _is_identifier(token):
        return _Candidate(token.lstrip("#"), weight, page, line.words_in(start, start + len(token)))
    label_box = union_box(line.words_in(label_start, position))
    if label_box is None:
        return None
    label = Word(text=line.text[label_start:position], conf=1.0, box=label_box)
    right = sorted(
        (
            word
            for word in page.words
            if _same_row(word, label.box) and label.right < word.left < label.right + page.width * 0.3
        ),
        key=lambda word: word.left,
    )
    searches = [] if stripped else [(right, 0.95)]
    if stripped or right or weight >= STRONG_NUMBER_LABEL:
        below = [
            word
            for word in page.words
            if label.bottom < word.top < label.bottom + 3 * label.box[3]
            and min(word.right, label.right) - max(word.left, label.left) > 0
        ]
        searches.append((sorted(below, key=lambda word: (word.top, word.left)), 0.85))
    for words, factor in searches:
        if words and _is_identifier(words[0].text):
            return _Candidate(words[0].text.strip(".,;:#"), weight * factor, page, [words[0]])
    return None


def _is_identifier(token: str) -> bool:
    token = token.rstrip(".,;:")
    return (
        len(token) >= 3
        and bool(_DOCUMENT_NUMBER.fullmatch(token))
        and any(char.isdigit() for char in token)
        and not find_dates(token)
        and not re.fullmatch(r"\d+[.,]\d{2}", token)
    )


def _reference(pages: list[Page], name: str) -> _Candidate | None:
    """A policy or claim number; letters that OCR confuses with digits are mapped back in the digit groups."""
    best: _Candidate | None = None
    prefix = "POL" if name == "policy_number" else "CLM"
    for page in pages:
        for line in page.lines:
            for match in _REFERENCE[name].finditer(line.text):
                year, serial = (group.translate(_OCR_DIGITS) for group in match.groups())
                exact = match.group() == f"{prefix}-{match.group(1)}-{match.group(2)}"
                corrected = year != match.group(1) or serial != match.group(2)
                weight = 0.95 if exact and not corrected else 0.75
                value = f"{prefix}-{year}-{serial}"
                candidate = _Candidate(value, weight, page, line.words_in(match.start(), match.end()))
                if best is None or weight > best.weight:
                    best = candidate
    return best


def _vendor(pages: list[Page]) -> _Candidate | None:
    """Who issued the document: the largest text near the top of page 1, or a company name (Ltd, GmbH, B.V.)."""
    if not pages or not pages[0].lines:
        return None
    page = pages[0]
    heights = sorted(word.box[3] for word in page.words)
    body = heights[len(heights) // 2] or 1
    best: tuple[float, _Candidate] | None = None
    for line in page.lines:
        top = min(word.top for word in line.words)
        if top > page.height * 0.35:
            continue
        text = _clean_vendor(line.text)
        letters = sum(char.isalpha() for char in text)
        if letters < 3 or letters < 0.5 * len(text.replace(" ", "")) or _NOT_VENDOR.search(text):
            continue
        size = max(word.box[3] for word in line.words) / body
        company = _COMPANY.search(text)
        score = min(size, 3.0) + (1.0 if company else 0.0) - top / page.height
        if company:
            text = text[: company.end()].strip(" ,")
        weight = 0.85 if company and size > 1.2 else 0.75 if company or size > 1.5 else 0.4
        if best is None or score > best[0]:
            best = (score, _Candidate(text, weight, page, line.words))
    return best[1] if best else None


def _clean_vendor(text: str) -> str:
    """A vendor line without a leading label ("Sold by:") or trailing punctuation."""
    text = re.sub(r"^[^:]{0,20}:\s*", "", text) if ":" in text[:21] else text
    return re.sub(r"[^\w.)]+$", "", re.sub(r"^[^\w(]+", "", text))
