"""Finding dates, amounts and currencies in a line of text, and normalising them (ISO dates, plain decimals, ISO 4217).

These know nothing of labels or layout; `fields` decides which of the values found is the one wanted.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation


def fold(text: str) -> str:
    """Lower case without accents, so "Février", "fevrier" and an OCR'd "Fevrier" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).lower()


_MONTH_NAMES = {
    1: ["january", "jan", "janvier", "janv", "januar", "janner", "januari"],
    2: ["february", "feb", "fevrier", "fevr", "fev", "februar", "februari"],
    3: ["march", "mar", "mars", "marz", "maerz", "maart", "mrt"],
    4: ["april", "apr", "avril", "avr"],
    5: ["may", "mai", "mei"],
    6: ["june", "jun", "juin", "juni"],
    7: ["july", "jul", "juillet", "juil", "juli"],
    8: ["august", "aug", "aout", "augustus"],
    9: ["september", "sep", "sept", "septembre"],
    10: ["october", "oct", "octobre", "oktober", "okt"],
    11: ["november", "nov", "novembre"],
    12: ["december", "dec", "decembre", "dezember", "dez"],
}
MONTHS = {name: number for number, names in _MONTH_NAMES.items() for name in names}
_MONTH = "(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"

# Written against folded text (see `fold`), so the month names need no accents.
_DATE_PATTERNS = [
    ("ymd", re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")),
    ("numeric", re.compile(r"(?<![\d.,/-])(\d{1,2})\s?([./-])\s?(\d{1,2})\s?\2\s?(\d{4}|\d{2})(?![\d])")),
    (
        "d_month_y",
        re.compile(rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th|er)?\.?\s*(?:of\s+)?({_MONTH})[\s,-]*(\d{{4}})(?!\d)"),
    ),
    ("month_d_y", re.compile(rf"\b({_MONTH})\s*(\d{{1,2}})(?:st|nd|rd|th)?\s*,?\s*(\d{{4}})(?!\d)")),
]


@dataclass(frozen=True)
class DateMatch:
    """A date found in a line: where, what, and whether day and month could have been swapped."""

    start: int
    end: int
    value: date
    ambiguous: bool
    short_year: bool


def find_dates(text: str, *, day_first: bool = True) -> list[DateMatch]:
    """Every valid date in `text`; `day_first` settles 03/04/2026 (False for US documents)."""
    folded = fold(text)
    if len(folded) != len(text):  # a character that folds into two would shift the offsets; fall back
        folded = text.lower()
    found: list[DateMatch] = []
    taken: list[tuple[int, int]] = []
    for style, pattern in _DATE_PATTERNS:
        for match in pattern.finditer(folded):
            if any(match.start() < end and match.end() > start for start, end in taken):
                continue
            parsed = _parse_date(style, match, day_first)
            if parsed is not None:
                found.append(DateMatch(match.start(), match.end(), *parsed))
                taken.append((match.start(), match.end()))
    return sorted(found, key=lambda item: item.start)


def _parse_date(style: str, match: re.Match, day_first: bool) -> tuple[date, bool, bool] | None:
    ambiguous = short_year = False
    if style == "ymd":
        year, month, day = (int(group) for group in match.groups())
    elif style == "numeric":
        first, _, second, year_text = match.groups()
        first_number, second_number = int(first), int(second)
        if first_number > 12 or (day_first and second_number <= 12):
            day, month = first_number, second_number
        else:
            day, month = second_number, first_number
        ambiguous = first_number <= 12 and second_number <= 12 and first_number != second_number
        year = int(year_text)
        if len(year_text) == 2:
            year, short_year = 2000 + year, True
    elif style == "d_month_y":
        day, month, year = int(match.group(1)), MONTHS[match.group(2).rstrip(".")], int(match.group(3))
    else:
        month, day, year = MONTHS[match.group(1).rstrip(".")], int(match.group(2)), int(match.group(3))
    if not 1900 <= year <= 2100:
        return None
    try:
        return date(year, month, day), ambiguous, short_year
    except ValueError:
        return None


# Currencies: symbols and codes, with the word forms that receipts use.
CURRENCY_CODES = ("USD", "EUR", "GBP", "INR", "CHF", "CAD", "AUD", "JPY", "CNY", "SEK", "NOK", "DKK", "PLN", "NZD",
                  "SGD", "HKD", "ZAR")  # fmt: skip
_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "₹": "INR"}
_CURRENCY = re.compile(
    r"(?P<us>US\$)|(?<![A-Za-z])(?P<symbol>[$€£₹])|\b(?P<code>" + "|".join(CURRENCY_CODES) + r")\b"
    r"|\b(?P<rupees>Rs\.?|INR)(?=[\s\d.:-]|$)|\b(?P<euro>[Ee]uros?)\b"
)


@dataclass(frozen=True)
class CurrencyMatch:
    start: int
    end: int
    code: str


def find_currencies(text: str) -> list[CurrencyMatch]:
    """Currency symbols and codes in `text` ("S$" and other prefixed dollars are not taken for US dollars)."""
    found = []
    for match in _CURRENCY.finditer(text):
        if match.group("us"):
            code = "USD"
        elif match.group("symbol"):
            code = _SYMBOLS[match.group("symbol")]
        elif match.group("code"):
            code = match.group("code")
        elif match.group("rupees"):
            code = "INR"
        else:
            code = "EUR"
        found.append(CurrencyMatch(match.start(), match.end(), code))
    return found


# A number starts after a non-word character, or straight after a currency ("Rs.1,939.50", "EUR49,99").
_NUMBER_START = r"(?:(?<![\w.,])|(?<=Rs\.)|(?<=Rs)|(?<=" + "|".join(CURRENCY_CODES) + "))"
_NUMBER = re.compile(
    _NUMBER_START + r"(?:"
    r"\d{1,2}(?:,\d{2})+,\d{3}\.\d{2}"  # Indian grouping: 1,23,456.78
    r"|\d{1,3}(?:([.,'\u00a0\u202f\u2009])\d{3})(?:\1\d{3})*(?:[.,]\d{2})?"  # 1,234.56 / 1.234,56 / 1 234,56
    r"|\d+(?:[.,]\d{2})?"
    r")(?![.,]?\d)(?!\s?%)"
)
_SPACED_NUMBER = re.compile(r"(?<![\w.,])\d{1,3}(?: \d{3})+[.,]\d{2}(?![.,]?\d)(?!\s?%)")


@dataclass(frozen=True)
class AmountMatch:
    """An amount in a line; `currency` is set when a symbol or code touches it."""

    start: int
    end: int
    value: Decimal
    currency: str | None
    has_cents: bool
    negative: bool


def parse_amount(text: str) -> Decimal | None:
    """An amount as printed ("1.234,56", "1,234.56", "1 234,56", "1939") as a Decimal; two final digits are cents."""
    digits = re.sub(r"[\s'\u00a0\u202f\u2009]", "", text)
    if re.search(r"[.,]\d{2}$", digits):
        whole, cents = digits[:-3], digits[-2:]
    else:
        whole, cents = digits, "00"
    whole = re.sub(r"[.,]", "", whole)
    try:
        return Decimal(f"{whole or '0'}.{cents}")
    except InvalidOperation:
        return None


def find_amounts(text: str) -> list[AmountMatch]:
    """Money amounts in `text`: numbers with cents, or whole numbers with a currency beside them.

    A plain space is only read as a thousands separator ("1 234,56 €") when a currency touches the number,
    since in tables it usually separates columns ("Total 1 278.61").
    """
    currencies = find_currencies(text)
    found: list[AmountMatch] = []
    spaced = [match for match in _SPACED_NUMBER.finditer(text) if _touching_currency(text, match, currencies)]
    for match in spaced:
        value = parse_amount(match.group())
        if value is not None:
            found.append(_amount(text, match, value, currencies, has_cents=True))
    for match in _NUMBER.finditer(text):
        if any(match.start() < other.end() and match.end() > other.start() for other in spaced):
            continue
        value = parse_amount(match.group())
        has_cents = bool(re.search(r"[.,]\d{2}$", match.group()))
        if value is None or not (has_cents or _touching_currency(text, match, currencies)):
            continue
        found.append(_amount(text, match, value, currencies, has_cents=has_cents))
    return sorted(found, key=lambda item: item.start)


def _touching_currency(text: str, match: re.Match, currencies: list[CurrencyMatch]) -> str | None:
    """The currency written right before the number (any) or right after it (not "$": "2014 $4.11")."""
    for currency in currencies:
        before = text[currency.end : match.start()]
        if currency.end <= match.start() and re.fullmatch(r"\s?[-:]?\s?", before):
            return currency.code
        after = text[match.end() : currency.start]
        if currency.start >= match.end() and re.fullmatch(r"\s?", after) and text[currency.start] != "$":
            return currency.code
    return None


def _amount(text: str, match: re.Match, value: Decimal, currencies: list, *, has_cents: bool) -> AmountMatch:
    negative = bool(
        re.search(r"[-\u2212\u2013]\s?(?:[$€£₹]|Rs\.?)?\s?$", text[max(0, match.start() - 5) : match.start()])
    )
    currency = _touching_currency(text, match, currencies)
    return AmountMatch(match.start(), match.end(), value, currency, has_cents, negative)
