"""Words with boxes and confidences, the one shape both text sources (a PDF text layer, tesseract) are turned into.

Field extraction works on this shape only, so a born-digital PDF and a scan are read by the same rules. Boxes are
(left, top, width, height) in pixels of the page as rendered at RENDER_DPI, or of the image as uploaded.
"""

from collections import defaultdict
from dataclasses import dataclass, field

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Word:
    """One word; `conf` is tesseract's confidence scaled to 0..1 (1.0 for a text layer)."""

    text: str
    conf: float
    box: Box

    @property
    def left(self) -> int:
        return self.box[0]

    @property
    def top(self) -> int:
        return self.box[1]

    @property
    def right(self) -> int:
        return self.box[0] + self.box[2]

    @property
    def bottom(self) -> int:
        return self.box[1] + self.box[3]


@dataclass
class Line:
    """Words in reading order on one line, with the character offset of each word in `text`."""

    words: list[Word]
    text: str = field(init=False)
    offsets: list[tuple[int, int]] = field(init=False)

    def __post_init__(self) -> None:
        self.offsets = []
        position = 0
        for word in self.words:
            self.offsets.append((position, position + len(word.text)))
            position += len(word.text) + 1
        self.text = " ".join(word.text for word in self.words)

    def words_in(self, start: int, end: int) -> list[Word]:
        """The words that the characters [start, end) of `text` fall in."""
        return [word for word, (a, b) in zip(self.words, self.offsets, strict=True) if a < end and b > start]


@dataclass
class Page:
    """One page of a document: its number (1-based), its size in pixels and its lines."""

    number: int
    width: int
    height: int
    lines: list[Line]

    @property
    def words(self) -> list[Word]:
        return [word for line in self.lines for word in line.words]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def union_box(words: list[Word]) -> Box | None:
    """The smallest box holding all the words, or None for no words."""
    if not words:
        return None
    left = min(word.left for word in words)
    top = min(word.top for word in words)
    return left, top, max(word.right for word in words) - left, max(word.bottom for word in words) - top


def page_from_tesseract(data: dict[str, list], *, number: int, width: int, height: int) -> Page:
    """A Page from pytesseract's `image_to_data` dictionary; blank words and non-word rows (conf -1) are dropped."""
    grouped: dict[tuple[int, int, int], list[Word]] = defaultdict(list)
    for index, text in enumerate(data["text"]):
        text = (text or "").strip()
        conf = float(data["conf"][index])
        if not text or conf < 0:
            continue
        key = (data["block_num"][index], data["par_num"][index], data["line_num"][index])
        box = (data["left"][index], data["top"][index], data["width"][index], data["height"][index])
        grouped[key].append(Word(text=text, conf=min(conf / 100, 1.0), box=box))
    lines = [Line(words) for _, words in sorted(grouped.items())]
    return Page(number=number, width=width, height=height, lines=lines)


def page_from_text_layer(page: pdfium.PdfPage, *, number: int, dpi: int) -> Page:
    """A Page from a PDF page's text layer, words built from character boxes (PDF points become pixels at `dpi`).

    The caller holds the PDFium lock. Rotated pages keep unrotated coordinates; claim documents rarely have them.
    """
    scale = dpi / 72
    left0, bottom0, right0, top0 = page.get_bbox()
    textpage = page.get_textpage()
    lines: list[Line] = []
    current_line: list[Word] = []
    chars: list[tuple[str, tuple[float, float, float, float]]] = []

    def end_word() -> None:
        if chars:
            text = "".join(char for char, _ in chars)
            left = min(box[0] for _, box in chars)
            bottom = min(box[1] for _, box in chars)
            right = max(box[2] for _, box in chars)
            top = max(box[3] for _, box in chars)
            pixel_box = (
                round((left - left0) * scale),
                round((top0 - top) * scale),
                max(1, round((right - left) * scale)),
                max(1, round((top - bottom) * scale)),
            )
            current_line.append(Word(text=text, conf=1.0, box=pixel_box))
            chars.clear()

    def end_line() -> None:
        end_word()
        if current_line:
            lines.append(Line(list(current_line)))
            current_line.clear()

    try:
        for index in range(textpage.count_chars()):
            char = chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, index))
            if char in "\r\n":
                end_line()
                continue
            if char.isspace() or char in "\x02\ufffe" or not char.isprintable():
                end_word()
                continue
            box = textpage.get_charbox(index)
            if chars:
                previous = chars[-1][1]
                height = max(previous[3] - previous[1], box[3] - box[1], 1.0)
                if box[1] > previous[3] or box[3] < previous[1]:
                    end_line()  # a jump to another line that PDFium did not mark
                elif box[0] - previous[2] > 0.6 * height:
                    end_word()  # a column gap with no space character in the text layer
            chars.append((char, box))
        end_line()
    finally:
        textpage.close()
    width = round((right0 - left0) * scale)
    height = round((top0 - bottom0) * scale)
    return Page(number=number, width=width, height=height, lines=lines)
