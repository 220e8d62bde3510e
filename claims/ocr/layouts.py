"""Page layouts of the synthetic claim documents, drawn on any Canvas (a Pillow image or an fpdf2 page).

One layout feeds both renderers, so a scanned-style page and a born-digital PDF of the same values say the same
thing. Coordinates are millimetres on A4 from the top-left corner; `y` is the top of a text line.
Each layout carries the distractors real documents have (a due date, a date of birth, a subtotal, a tax line).
"""

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

PAGE_WIDTH_MM = 210.0
PAGE_HEIGHT_MM = 297.0
LEFT = 18.0
RIGHT = PAGE_WIDTH_MM - 18.0
RGB = tuple[int, int, int]
NBSP = "\u00a0"  # French groups thousands with a no-break space


class Canvas(Protocol):
    """What a layout draws with; sizes are in points, positions in millimetres."""

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float = 10,
        bold: bool = False,
        align: str = "left",
        color: RGB | None = None,
    ) -> None: ...

    def hline(self, x1: float, x2: float, y: float, *, width: float = 0.3) -> None: ...

    def band(self, y: float, height: float, color: RGB) -> None: ...


MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"],
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
           "November", "Dezember"],
    "nl": ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december"],
}  # fmt: skip

# The date styles people in each market write; the extractor must read all of them.
DATE_STYLES = {
    ("en", "USD"): ["mdy_slash", "long_mdy", "short_mdy", "iso"],
    ("en", "GBP"): ["dmy_slash", "long_dmy", "short_dmy", "iso"],
    ("en", "INR"): ["dmy_dash", "dmy_slash", "short_dmy"],
    ("en", "EUR"): ["dmy_slash", "long_dmy", "iso"],
    ("fr", "EUR"): ["dmy_slash", "long_dmy"],
    ("de", "EUR"): ["dmy_dot", "long_dmy"],
    ("nl", "EUR"): ["dmy_dash", "long_dmy"],
}

INVOICE_LABELS = {
    "en": {
        "title": "INVOICE", "number": "Invoice No:", "date": "Invoice Date:", "due": "Due Date:",
        "bill_to": "Bill To:", "columns": ("Description", "Qty", "Unit price", "Amount"), "subtotal": "Subtotal",
        "tax": "VAT {rate}%", "total": "TOTAL DUE", "thanks": "Thank you for your business. Payment within 30 days.",
    },
    "fr": {
        "title": "FACTURE", "number": "Facture n°", "date": "Date :", "due": "Échéance :",
        "bill_to": "Facturé à :", "columns": ("Désignation", "Qté", "Prix unitaire", "Montant"),
        "subtotal": "Total HT", "tax": "TVA {rate} %", "total": "Total TTC",
        "thanks": "Paiement à 30 jours. Pas d'escompte pour paiement anticipé.",
    },
    "de": {
        "title": "RECHNUNG", "number": "Rechnungsnummer:", "date": "Rechnungsdatum:", "due": "Fällig am:",
        "bill_to": "Rechnungsempfänger:", "columns": ("Beschreibung", "Menge", "Einzelpreis", "Betrag"),
        "subtotal": "Zwischensumme", "tax": "MwSt. {rate} %", "total": "Gesamtbetrag",
        "thanks": "Zahlbar innerhalb von 14 Tagen ohne Abzug.",
    },
    "nl": {
        "title": "FACTUUR", "number": "Factuurnummer:", "date": "Factuurdatum:", "due": "Vervaldatum:",
        "bill_to": "Factuuradres:", "columns": ("Omschrijving", "Aantal", "Prijs", "Bedrag"),
        "subtotal": "Subtotaal", "tax": "BTW {rate}%", "total": "Totaal te betalen",
        "thanks": "Wij verzoeken u het bedrag binnen 14 dagen over te maken.",
    },
}  # fmt: skip


def format_date(value: date, style: str, language: str = "en") -> str:
    """`value` written in one of the DATE_STYLES."""
    month = MONTHS[language][value.month - 1]
    formats = {
        "iso": value.isoformat(),
        "mdy_slash": f"{value.month:02d}/{value.day:02d}/{value.year}",
        "dmy_slash": f"{value.day:02d}/{value.month:02d}/{value.year}",
        "dmy_dot": f"{value.day:02d}.{value.month:02d}.{value.year}",
        "dmy_dash": f"{value.day:02d}-{value.month:02d}-{value.year}",
        "long_mdy": f"{month} {value.day}, {value.year}",
        "short_mdy": f"{month[:3]} {value.day}, {value.year}",
        "long_dmy": f"{value.day}. {month} {value.year}" if language == "de" else f"{value.day} {month} {value.year}",
        "short_dmy": f"{value.day:02d} {month[:3]} {value.year}",
    }
    return formats[style]


def format_amount(value: Decimal, currency: str, language: str = "en") -> str:
    """`value` with its currency as it is printed in that market (1,234.56 or 1.234,56, symbol before or after)."""
    plain = f"{abs(value):,.2f}"
    sign = "-" if value < 0 else ""
    if currency != "EUR" or language == "en":
        symbol = {"USD": "$", "GBP": "£", "EUR": "€", "INR": "Rs. "}[currency]
        return f"{sign}{symbol}{plain}"
    if language == "fr":
        french = plain.replace(",", NBSP).replace(".", ",")
        return f"{sign}{french} €"
    continental = plain.replace(",", "_").replace(".", ",").replace("_", ".")
    return f"{sign}{continental} €" if language == "de" else f"€ {sign}{continental}"


class Writer:
    """Layout helpers shared by every document kind: header, a key/value column, an item table, totals."""

    def __init__(self, canvas: Canvas, values: dict, rng: random.Random):
        self.canvas = canvas
        self.values = values
        self.rng = rng
        self.language = values.get("language", "en")
        self.currency = values["currency"]
        self.accent = rng.choice([(31, 78, 121), (120, 30, 40), (30, 100, 60), (70, 70, 70)])
        self.date_style = values.get("date_style") or rng.choice(DATE_STYLES[(self.language, self.currency)])

    def money(self, value: Decimal) -> str:
        return format_amount(value, self.currency, self.language)

    def day(self, value: date) -> str:
        return format_date(value, self.date_style, self.language)

    def header(self, title: str) -> float:
        """Vendor block top left, document title top right; returns where the body starts."""
        canvas, values = self.canvas, self.values
        canvas.band(10, 3, self.accent)
        canvas.text(LEFT, 20, values["vendor"], size=20, bold=True)
        y = 31.0
        for line in values.get("vendor_address", []):
            canvas.text(LEFT, y, line, size=9)
            y += 4.6
        canvas.text(RIGHT, 33, title, size=16, bold=True, align="right", color=self.accent)
        return max(y, 50.0) + 4

    def pairs(
        self, x_label: float, x_value: float, y: float, rows: list[tuple[str, str]], *, size: float = 10
    ) -> float:
        """Label/value rows (labels bold); returns the y below the last row."""
        for label, value in rows:
            self.canvas.text(x_label, y, label, size=size, bold=True)
            self.canvas.text(x_value, y, value, size=size)
            y += size * 0.55
        return y

    def address(self, x: float, y: float, label: str, lines: list[str]) -> float:
        self.canvas.text(x, y, label, size=9, bold=True)
        y += 5
        for line in lines:
            self.canvas.text(x, y, line, size=10)
            y += 5
        return y

    def table(self, y: float, columns: tuple[str, str, str, str], rows: list[tuple[str, str, str, str]]) -> float:
        """A four-column item table (description, quantity, unit price, amount); returns the y below it."""
        canvas = self.canvas
        canvas.band(y - 1.5, 7.5, (232, 236, 241))
        xs = (LEFT + 2, 128.0, 158.0, RIGHT - 2)
        canvas.text(xs[0], y, columns[0], size=9, bold=True)
        for x, heading in zip(xs[1:], columns[1:], strict=True):
            canvas.text(x, y, heading, size=9, bold=True, align="right")
        y += 9
        for row in rows:
            canvas.text(xs[0], y, row[0], size=10)
            for x, cell in zip(xs[1:], row[1:], strict=True):
                canvas.text(x, y, cell, size=10, align="right")
            y += 6.5
        canvas.hline(LEFT, RIGHT, y)
        return y + 4

    def totals(self, y: float, rows: list[tuple[str, str]], *, grand: tuple[str, str]) -> float:
        """Right-aligned total rows, then the grand total in bold; returns the y below it."""
        for label, value in rows:
            self.canvas.text(150.0, y, label, size=10, align="right")
            self.canvas.text(RIGHT - 2, y, value, size=10, align="right")
            y += 6
        self.canvas.hline(110.0, RIGHT, y)
        y += 2.5
        self.canvas.text(150.0, y, grand[0], size=12, bold=True, align="right")
        self.canvas.text(RIGHT - 2, y, grand[1], size=12, bold=True, align="right")
        return y + 12

    def item_rows(self) -> list[tuple[str, str, str, str]]:
        return [
            (item["description"], str(item["quantity"]), self.money(item["unit_price"]),
             self.money(item["unit_price"] * item["quantity"]))
            for item in self.values["items"]
        ]  # fmt: skip

    def footer(self, lines: list[str]) -> None:
        y = 262.0
        self.canvas.hline(LEFT, RIGHT, y - 3, width=0.2)
        for line in lines:
            self.canvas.text(LEFT, y, line, size=8)
            y += 4.2

    def paragraph(self, x: float, y: float, text: str, *, width_chars: int = 95, size: float = 10) -> float:
        words, line = text.split(), ""
        for word in words:
            if len(line) + len(word) + 1 > width_chars:
                self.canvas.text(x, y, line, size=size)
                y += size * 0.5
                line = word
            else:
                line = f"{line} {word}".strip()
        if line:
            self.canvas.text(x, y, line, size=size)
            y += size * 0.5
        return y


def references(values: dict) -> list[tuple[str, str]]:
    rows = []
    if values.get("policy_number"):
        rows.append(("Policy No:", values["policy_number"]))
    if values.get("claim_number"):
        rows.append(("Claim No:", values["claim_number"]))
    return rows


def split_tax(values: dict) -> tuple[Decimal, Decimal]:
    """Subtotal and tax of the items, so that they add up to the total exactly."""
    subtotal = sum((item["unit_price"] * item["quantity"] for item in values["items"]), Decimal("0"))
    return subtotal, values["total_amount"] - subtotal


def draw_invoice(writer: Writer) -> None:
    values, labels = writer.values, INVOICE_LABELS[writer.language]
    y = writer.header(labels["title"])
    rows = [(labels["number"], values["invoice_number"]), (labels["date"], writer.day(values["date"]))]
    rows.append((labels["due"], writer.day(values["date"] + timedelta(days=30))))
    bottom = writer.pairs(108, 150, y, rows + references(values))
    y = max(writer.address(LEFT, y, labels["bill_to"], values["customer"]), bottom) + 8
    y = writer.table(y, labels["columns"], writer.item_rows())
    subtotal, tax = split_tax(values)
    y = writer.totals(
        y,
        [
            (labels["subtotal"], writer.money(subtotal)),
            (labels["tax"].format(rate=values["tax_rate"]), writer.money(tax)),
        ],
        grand=(labels["total"], writer.money(values["total_amount"])),
    )
    writer.footer([labels["thanks"], f"IBAN {values['iban']}  ·  {values['vendor_email']}"])


def draw_repair_estimate(writer: Writer) -> None:
    values = writer.values
    y = writer.header("REPAIR ESTIMATE")
    rows = [
        ("Estimate No:", values["invoice_number"]),
        ("Date:", writer.day(values["date"])),
        ("Valid until:", writer.day(values["date"] + timedelta(days=30))),
    ]
    bottom = writer.pairs(118, 152, y, rows + references(values))
    y = max(writer.address(LEFT, y, "Customer:", values["customer"]) + 3, bottom + 3)
    vehicle = values["vehicle"]
    y = writer.pairs(
        LEFT, 45, y, [("Vehicle:", vehicle["name"]), ("Reg.:", vehicle["plate"]), ("VIN:", vehicle["vin"])]
    )
    y = writer.table(y + 6, ("Parts and labour", "Qty/Hrs", "Rate", "Amount"), writer.item_rows())
    subtotal, tax = split_tax(values)
    y = writer.totals(
        y,
        [("Subtotal", writer.money(subtotal)), (f"VAT {values['tax_rate']}%", writer.money(tax))],
        grand=("ESTIMATE TOTAL", writer.money(values["total_amount"])),
    )
    writer.paragraph(LEFT, y, "This quotation covers the damage visible at inspection. Hidden damage found during the "
                     "repair will be quoted separately before any further labour is carried out.", size=9)  # fmt: skip
    writer.footer(["Approved repairer · All parts carry a 12 month warranty", values["vendor_email"]])


def draw_medical_bill(writer: Writer) -> None:
    values = writer.values
    y = writer.header("PATIENT STATEMENT")
    rows = [("Statement No:", values["invoice_number"]), ("Statement Date:", writer.day(values["date"]))]
    bottom = writer.pairs(112, 152, y, rows + references(values))
    y = writer.pairs(LEFT, 55, y, [
        ("Patient:", values["customer"][0]),
        ("Date of birth:", writer.day(values["date_of_birth"])),
        ("Date of service:", writer.day(values["date"] - timedelta(days=9))),
        ("Physician:", values["physician"]),
    ])  # fmt: skip
    y = writer.paragraph(LEFT, max(y, bottom) + 3, f"Diagnosis: {values['diagnosis']}")
    y = writer.table(y + 6, ("CPT code and procedure", "Units", "Charge", "Amount"), writer.item_rows())
    charges = sum((item["unit_price"] * item["quantity"] for item in values["items"]), Decimal("0"))
    insurance_paid = charges - values["total_amount"]
    y = writer.totals(
        y,
        [("Total charges", writer.money(charges)), ("Insurance payments", writer.money(-insurance_paid))],
        grand=("AMOUNT DUE", writer.money(values["total_amount"])),
    )
    writer.paragraph(LEFT, y, "Questions about this statement? Call the patient billing office. Please pay the amount "
                     "due within 30 days of the statement date.", size=9)  # fmt: skip
    writer.footer(["Patient billing office · " + values["vendor_email"], "Tax ID 45-7781234"])


def draw_police_report(writer: Writer) -> None:
    values = writer.values
    y = writer.header("INCIDENT REPORT")
    rows = [("Case Number:", values["invoice_number"]), ("Report Date:", writer.day(values["date"]))]
    if values.get("claim_number"):
        rows.append(("Insurer ref:", values["claim_number"]))
    writer.pairs(112, 148, y, rows)
    y = writer.pairs(LEFT, 58, y + 14, [
        ("Date of incident:", writer.day(values["date"] - timedelta(days=2))),
        ("Incident type:", values["incident_type"]),
        ("Location:", values["location"]),
        ("Reporting person:", values["customer"][0]),
        ("Officer:", values["officer"]),
    ])  # fmt: skip
    y = writer.paragraph(LEFT, y + 6, "Narrative: " + values["narrative"])
    writer.pairs(LEFT, 78, y + 6, [
        ("Estimated value of loss:", writer.money(values["total_amount"])),
        ("Witnesses:", "1 (statement attached)"),
    ])  # fmt: skip
    writer.footer(["This police report is released to the reporting person for insurance purposes only.",
                   "Records section · quote the case number in all correspondence"])  # fmt: skip


def draw_claim_form(writer: Writer) -> None:
    values = writer.values
    y = writer.header("CLAIM FORM")
    writer.canvas.text(LEFT, y, "First notice of loss — please complete every section", size=11, bold=True)
    y = writer.pairs(LEFT, 70, y + 10, [
        ("Policy Number:", values["policy_number"]),
        ("Claim Number:", values["claim_number"]),
        ("Policyholder:", values["customer"][0]),
        ("Address:", ", ".join(values["customer"][1:])),
        ("Date of loss:", writer.day(values["date"] - timedelta(days=3))),
        ("Type of loss:", values["incident_type"]),
        ("Estimated amount:", writer.money(values["total_amount"])),
    ])  # fmt: skip
    y = writer.paragraph(LEFT, y + 6, "Description of the loss: " + values["narrative"])
    y = writer.paragraph(LEFT, y + 8, "I declare that the information given on this claim form is true and complete. "
                         "I understand that a false statement may void my policy.", size=9)  # fmt: skip
    writer.pairs(LEFT, 40, y + 10, [("Signature:", "________________________"), ("Date:", writer.day(values["date"]))])
    writer.footer([f"{values['vendor']} · Claims department · {values['vendor_email']}"])


LAYOUTS = {
    "invoice": draw_invoice,
    "repair_estimate": draw_repair_estimate,
    "medical_bill": draw_medical_bill,
    "police_report": draw_police_report,
    "claim_form": draw_claim_form,
}
