"""Synthetic claim documents with known values: test data for the pipeline and demo data for the product.

`render_document` draws a page as a scanner or phone would deliver it (optionally skewed, blurred, noisy, at a low
resolution); `render_pdf` writes the same page as a born-digital PDF with a text layer, or as an image-only scan.
Everything is seeded, so a test that renders seed 3 always reads the same page.
"""

import io
import logging
import random
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .layouts import DATE_STYLES, LAYOUTS, PAGE_HEIGHT_MM, PAGE_WIDTH_MM, RGB, Writer

# fpdf2 subsets the font of every PDF it writes, and fontTools logs each glyph of that at INFO.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {False: FONT_DIR / "DejaVuSans.ttf", True: FONT_DIR / "DejaVuSans-Bold.ttf"}
KINDS = tuple(LAYOUTS)
MM_PER_INCH = 25.4
_ASCENT = 0.928  # DejaVu's ascender in em: puts a PDF baseline where Pillow's "la" anchor puts the glyph top
_CENT = Decimal("0.01")

_VENDORS = {
    "invoice": {
        "en": ["Northwind Office Supplies Ltd", "Blue Ridge Plumbing LLC", "Harper & Sons Glaziers",
               "Crescent Electrical Services Inc", "Meadowbrook Storage Co.", "Apex Roofing Ltd"],
        "fr": ["Menuiserie Dubois SARL", "Plomberie Martin SAS", "Vitrerie Lefèvre SARL"],
        "de": ["Schneider Haustechnik GmbH", "Glaserei Becker GmbH", "Elektro Wagner AG"],
        "nl": ["Van Dijk Installatietechniek B.V.", "Glashandel De Vries B.V.", "Bakker Dakwerken B.V."],
    },
    "repair_estimate": ["Riverside Auto Body Ltd", "Precision Collision Center Inc", "Kingsway Motor Repairs Ltd",
                        "Summit Panel & Paint LLC"],
    "medical_bill": ["St. Mary's General Hospital", "Lakeside Medical Center", "Northgate Orthopaedic Clinic",
                     "Riverview Community Hospital"],
    "police_report": ["Metropolitan Police Department", "County Sheriff's Office", "City Police Service"],
    "claim_form": ["Harbour Mutual Insurance", "Evergreen Assurance Ltd", "Keystone General Insurance"],
}  # fmt: skip
_ITEMS = {
    "invoice": ["Replacement window pane 120x90", "Emergency call-out", "Labour (hours)", "Sealant and fixings",
                "Water damage drying equipment hire", "Skip hire and disposal", "Replacement door lock",
                "Plasterboard and materials", "Electrical safety inspection"],
    "repair_estimate": ["Front bumper cover", "Headlamp assembly left", "Bonnet panel", "Paint and materials",
                        "Labour - panel repair (hrs)", "Labour - refinish (hrs)", "Wheel alignment",
                        "Windscreen replacement"],
    "medical_bill": ["99284 Emergency department visit", "73590 X-ray tibia and fibula", "29515 Splint application",
                     "96374 IV push medication", "80053 Metabolic panel", "97110 Physical therapy session"],
}  # fmt: skip
_PEOPLE = ["Alice Morgan", "Daniel Okafor", "Priya Raman", "Lucas Bernard", "Sophie Janssen", "Tom Fischer",
           "Maria Rossi", "James O'Neill"]  # fmt: skip
_STREETS = ["14 Elm Street", "27 Harbour Road", "5 Station Lane", "88 Kingsway", "3 Rue des Lilas", "12 Marktplatz"]
_CITIES = ["Springfield 62704", "Leeds LS1 4AP", "Lyon 69003", "Köln 50667", "Utrecht 3511 AB", "Pune 411001"]
_INCIDENTS = [
    ("Theft from motor vehicle", "The reporting person parked the vehicle overnight outside the residence. In the "
     "morning the rear window was found broken and a laptop and a bag were missing from the back seat."),
    ("Road traffic collision", "Vehicle one was stationary at a red light when vehicle two failed to stop and struck "
     "it from behind. Both drivers exchanged details; no injuries were reported at the scene."),
    ("Burglary", "Entry was forced through the kitchen door while the occupants were away. Jewellery, a television "
     "and cash were taken. The scene was examined and photographs were taken."),
    ("Water damage", "A pipe burst in the upstairs bathroom and water came through the kitchen ceiling. The "
     "plumber isolated the supply the same evening and the ceiling was made safe."),
]  # fmt: skip


def _rng(key: str) -> random.Random:
    """A generator seeded by `key`: the same seed draws the same document on every machine."""
    return random.Random(key)  # noqa: S311 - reproducible test data, not secrets


def sample_values(kind: str, seed: int = 0) -> dict:
    """A complete, self-consistent set of values for one document of `kind`; the ground truth of a test page."""
    if kind not in LAYOUTS:
        raise ValueError(f"unknown document kind {kind!r}; expected one of {', '.join(KINDS)}")
    rng = _rng(f"{kind}:{seed}")
    currency = rng.choice(["USD", "EUR", "GBP", "INR"])
    language = rng.choice(["en", "fr", "de", "nl"]) if kind == "invoice" and currency == "EUR" else "en"
    vendors = _VENDORS[kind][language] if kind == "invoice" else _VENDORS[kind]
    vendor = rng.choice(vendors)
    year = rng.choice([2024, 2025, 2026])
    issued = date(year, rng.randint(1, 12), rng.randint(1, 28))
    number = rng.randint(1, 999_999)
    invoice_number = {
        "invoice": {"en": f"INV-{year}-{number % 10000:04d}", "fr": f"F{year}{number:06d}",
                    "de": f"RE-{number:06d}", "nl": f"{year}{number:06d}"}[language],
        "repair_estimate": f"EST-{number:06d}",
        "medical_bill": f"ST-{number:07d}",
        "police_report": f"{year % 100:02d}-{number:06d}",
        "claim_form": f"FN-{number:06d}",
    }[kind]  # fmt: skip
    total = Decimal(str(round(rng.uniform(45, 4800), 2))).quantize(_CENT)
    tax_rate = {"en": rng.choice([0, 10, 20]), "fr": 20, "de": 19, "nl": 21}[language]
    if kind == "medical_bill":
        tax_rate = 0
    values = {
        "kind": kind,
        "vendor": vendor,
        "vendor_address": [rng.choice(_STREETS), rng.choice(_CITIES), f"Tel. +44 20 7946 {rng.randint(1000, 9999)}"],
        "vendor_email": "accounts@" + "".join(ch for ch in vendor.lower() if ch.isalpha())[:14] + ".example",
        "customer": [rng.choice(_PEOPLE), rng.choice(_STREETS), rng.choice(_CITIES)],
        "invoice_number": invoice_number,
        "date": issued,
        "total_amount": total,
        "currency": currency,
        "language": language,
        "tax_rate": tax_rate,
        "iban": f"GB{rng.randint(10, 99)} NWBK {rng.randint(1000, 9999)} {rng.randint(1000, 9999)} "
        f"{rng.randint(1000, 9999)} {rng.randint(10, 99)}",
        "policy_number": f"POL-{year - 1}-{rng.randint(1, 999_999):06d}",
        "claim_number": f"CLM-{year}-{rng.randint(1, 999_999):06d}" if kind != "invoice" or rng.random() < 0.5 else "",
        "date_of_birth": date(rng.randint(1950, 2000), rng.randint(1, 12), rng.randint(1, 28)),
        "physician": f"Dr. {rng.choice(['A. Patel', 'R. Klein', 'M. Chen', 'S. Dubois'])}",
        "diagnosis": rng.choice(
            [
                "S82.101A Fracture of right tibia",
                "S93.401A Sprain of left ankle ligament",
                "S52.501A Fracture of right radius",
            ]
        ),
        "vehicle": {
            "name": rng.choice(["2019 Toyota Corolla", "2021 Ford Focus", "2017 Volkswagen Golf"]),
            "plate": f"AB{rng.randint(10, 99)} XYZ",
            "vin": f"WVWZZZ1KZ{rng.randint(10**7, 10**8 - 1)}",
        },
        "officer": f"Sgt. {rng.choice(['J. Carter', 'L. Moreno', 'K. Walsh'])}, badge {rng.randint(1000, 9999)}",
        "location": f"{rng.choice(_STREETS)}, {rng.choice(_CITIES)}",
    }
    values["incident_type"], values["narrative"] = rng.choice(_INCIDENTS)
    values["items"] = _items_for(kind, values, rng)
    return values


def _items_for(kind: str, values: dict, rng: random.Random) -> list[dict]:
    """Line items adding up (with tax) to the total; for a medical bill, to the charges before insurance paid."""
    total = values["total_amount"]
    if kind == "medical_bill":
        amount = (total * Decimal(str(round(rng.uniform(1.5, 4.0), 2)))).quantize(_CENT)
    else:
        amount = (total / (1 + Decimal(values["tax_rate"]) / 100)).quantize(_CENT, ROUND_HALF_UP)
    names = _ITEMS.get(kind, _ITEMS["invoice"])
    count = rng.randint(2, 5)
    weights = [rng.uniform(0.5, 3) for _ in range(count)]
    parts = [(amount * Decimal(str(weight / sum(weights)))).quantize(_CENT) for weight in weights[:-1]]
    parts.append(amount - sum(parts, Decimal("0")))
    items = []
    for name, part in zip(rng.sample(names, count), parts, strict=True):
        quantity = 2 if part % Decimal("0.02") == 0 and rng.random() < 0.4 else 1
        items.append({"description": name, "quantity": quantity, "unit_price": part / quantity})
    return items


def complete_values(kind: str, values: dict, seed: int = 0) -> dict:
    """The caller's values over a seeded sample, keeping items, tax and total consistent with each other."""
    merged = sample_values(kind, seed) | dict(values)
    if "currency" in values and "language" not in values and values["currency"] != "EUR":
        merged["language"] = "en"
    if (merged["language"], merged["currency"]) not in DATE_STYLES:
        merged["language"] = "en"
    if "items" in values and "total_amount" not in values:
        subtotal = sum((item["unit_price"] * item["quantity"] for item in values["items"]), Decimal("0"))
        merged["total_amount"] = (subtotal * (1 + Decimal(merged["tax_rate"]) / 100)).quantize(_CENT)
    elif "items" not in values:
        merged["items"] = _items_for(kind, merged, _rng(f"items:{kind}:{seed}"))
    merged["total_amount"] = Decimal(merged["total_amount"]).quantize(_CENT)
    return merged


def _require_fonts() -> None:
    missing = [str(path) for path in FONTS.values() if not path.exists()]
    if missing:
        raise RuntimeError(f"Synthetic documents need the DejaVu fonts ({', '.join(missing)}): "
                           "run `apt-get install fonts-dejavu-core`.")  # fmt: skip


class _PillowCanvas:
    """Draws a layout on an RGB page at `dpi`."""

    def __init__(self, dpi: int):
        _require_fonts()
        self.scale = dpi / MM_PER_INCH
        self.dpi = dpi
        size = (round(PAGE_WIDTH_MM * self.scale), round(PAGE_HEIGHT_MM * self.scale))
        self.image = Image.new("RGB", size, "white")
        self.draw = ImageDraw.Draw(self.image)
        self._fonts: dict[tuple[int, bool], ImageFont.FreeTypeFont] = {}

    def _font(self, size: float, bold: bool) -> ImageFont.FreeTypeFont:
        pixels = max(6, round(size * self.dpi / 72))
        if (pixels, bold) not in self._fonts:
            self._fonts[pixels, bold] = ImageFont.truetype(str(FONTS[bold]), pixels)
        return self._fonts[pixels, bold]

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
    ) -> None:
        anchor = "ra" if align == "right" else "la"
        position = (x * self.scale, y * self.scale)
        self.draw.text(position, text, font=self._font(size, bold), fill=color or (20, 20, 20), anchor=anchor)

    def hline(self, x1: float, x2: float, y: float, *, width: float = 0.3) -> None:
        thickness = max(1, round(width * self.scale))
        self.draw.line([(x1 * self.scale, y * self.scale), (x2 * self.scale, y * self.scale)], fill=(60, 60, 60),
                       width=thickness)  # fmt: skip

    def band(self, y: float, height: float, color: RGB) -> None:
        box = (0, y * self.scale, self.image.width, (y + height) * self.scale)
        self.draw.rectangle(box, fill=color)


class _PdfCanvas:
    """Draws a layout on a born-digital PDF page: real text, so the PDF has a text layer."""

    def __init__(self):
        _require_fonts()
        self.pdf = FPDF(unit="mm", format="A4")
        self.pdf.set_auto_page_break(False)
        for bold, path in FONTS.items():
            self.pdf.add_font("DejaVu", "B" if bold else "", str(path))
        self.pdf.add_page()

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
    ) -> None:
        self.pdf.set_font("DejaVu", "B" if bold else "", size)
        self.pdf.set_text_color(*(color or (20, 20, 20)))
        if align == "right":
            x -= self.pdf.get_string_width(text)
        self.pdf.text(x, y + _ASCENT * size * MM_PER_INCH / 72, text)

    def hline(self, x1: float, x2: float, y: float, *, width: float = 0.3) -> None:
        self.pdf.set_line_width(width)
        self.pdf.set_draw_color(60, 60, 60)
        self.pdf.line(x1, y, x2, y)

    def band(self, y: float, height: float, color: RGB) -> None:
        self.pdf.set_fill_color(*color)
        self.pdf.rect(0, y, PAGE_WIDTH_MM, height, style="F")


def render_document(
    kind: str,
    values: dict,
    *,
    dpi: int = 300,
    rotate: float = 0,
    blur: float = 0,
    noise: float = 0,
    seed: int = 0,
) -> Image.Image:
    """A page of `kind` showing `values` (missing ones sampled from `seed`), degraded like a poor scan.

    `rotate` is the skew in degrees, `blur` a Gaussian radius in pixels at 300 dpi, `noise` the standard deviation
    of sensor noise as a fraction of full scale (0.1 is a grainy scan) plus as many dust specks.
    The image carries `info["dpi"]`; save it with `image_bytes` to keep that in the file.
    """
    values = complete_values(kind, values, seed)
    canvas = _PillowCanvas(dpi)
    LAYOUTS[kind](Writer(canvas, values, _rng(f"layout:{seed}")))
    image = canvas.image
    if rotate:
        image = image.rotate(rotate, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white")
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur * dpi / 300))
    if noise:
        image = _add_noise(image, noise, seed)
    image.info["dpi"] = (dpi, dpi)
    return image


def _add_noise(image: Image.Image, noise: float, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    height, width = image.height, image.width
    grain = rng.normal(0.0, noise * 255, (height, width)).astype(np.int16)
    pixels = np.asarray(image, dtype=np.int16) + grain[..., None]
    specks = rng.random((height, width)) < noise * 0.01
    pixels[specks] = rng.integers(0, 256, (int(specks.sum()), 1), dtype=np.int16)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def image_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    """The image encoded as an upload would arrive (PNG, JPEG or TIFF), keeping its dpi."""
    buffer = io.BytesIO()
    options = {"dpi": image.info["dpi"]} if "dpi" in image.info else {}
    if fmt.upper() == "JPEG":
        options["quality"] = 88
    elif fmt.upper() == "TIFF":
        options["compression"] = "tiff_deflate"  # uncompressed, an A4 page at 300 dpi is 26 MB
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def render_pdf(kind: str, values: dict, *, text_layer: bool = True, seed: int = 0) -> bytes:
    """A one-page PDF of `kind`: born-digital with a text layer, or (text_layer=False) a 200 dpi image-only scan."""
    if text_layer:
        canvas = _PdfCanvas()
        LAYOUTS[kind](Writer(canvas, complete_values(kind, values, seed), _rng(f"layout:{seed}")))
        return bytes(canvas.pdf.output())
    pdf = FPDF(unit="mm", format="A4")
    pdf.add_page()
    pdf.image(render_document(kind, values, dpi=200, seed=seed), x=0, y=0, w=PAGE_WIDTH_MM, h=PAGE_HEIGHT_MM)
    return bytes(pdf.output())
