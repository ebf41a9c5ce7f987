"""PDF documents the server renders: record prints, result lists, and later the disclosure forms.

One building block for every print (docs/printing.md): A4 portrait, IPAex Gothic embedded as a
subset (Debian's fonts-ipaexfont-gothic, so every machine draws the same glyphs), the form
number top-left, a 取扱注意 mark, the issuer and the date in 和暦 top-right, and on every page a
footer with the print serial and 「n / total ページ」, so that a sheet found on a desk can be
traced to its entry in the print ledger (jukinet/printing.py).

What a caller passes is data, never markup: every text is cleaned here before ReportLab sees
it. Control characters are dropped, ``<`` ``&`` and friends print as themselves, and every
character the embedded font cannot draw, and every Private Use Area character (a 外字 with no
Unicode code point), prints as 〓 and is counted; a note at the end says how many there are.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from reportlab import platypus
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from jukinet.gaiji import is_private_use
from jukinet.wareki import to_wareki

__all__ = [
    "GETA",
    "Block",
    "Heading",
    "KeyValues",
    "Paragraph",
    "PdfConfigurationError",
    "PdfResult",
    "Table",
    "governor",
    "render_pdf",
]

GETA = "〓"  # 下駄記号: the printer's mark for a character that cannot be set
FONT_PACKAGE = "fonts-ipaexfont-gothic"
CONFIDENTIAL_MARK = "取扱注意（個人情報）"

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X = 20 * mm
MARGIN_TOP = 27 * mm
MARGIN_BOTTOM = 22 * mm
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN_X


# --- What a document is made of ----------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class KeyValues:
    """A label / value table of two columns (the items of one record)."""

    rows: Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Table:
    """A list; the header row repeats on every page. Widths in mm, scaled down to fit the page."""

    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    col_widths_mm: Sequence[float] | None = None


Block = Heading | Paragraph | KeyValues | Table


@dataclass(frozen=True)
class PdfResult:
    data: bytes
    pages: int
    gaiji_marked: int  # characters printed as 〓


class PdfConfigurationError(ImproperlyConfigured):
    """The server cannot render PDFs (the font is missing). Views answer 503 with ``message``."""

    status = 503
    message = "印刷用のフォントが設定されていないため、現在印刷できません。システム管理者に連絡してください。"


def governor() -> str:
    """The issuer of the prefecture's forms: 「埼玉県知事」, with the governor's name when configured."""
    name = getattr(settings, "PREFECTURE_GOVERNOR", "").strip()
    return f"{settings.PREFECTURE_NAME}知事" + (f"　{name}" if name else "")


# --- The font ----------------------------------------------------------------------------------

_font_lock = threading.Lock()


@dataclass(frozen=True)
class _Font:
    name: str
    drawable: frozenset[int]  # code points the font maps to a real glyph


@functools.cache
def _load_font(path: str) -> _Font:
    if not Path(path).is_file():
        raise PdfConfigurationError(
            f"PDF font file not found: {path}. Install the Debian package {FONT_PACKAGE} "
            f"(bash scripts/ensure_system_packages.sh run) or set JUKINET_PDF_FONT_FILE."
        )
    # A name per path: ReportLab's font registry is global, and tests may point at another file.
    name = f"{Path(path).stem}-{hashlib.sha256(path.encode()).hexdigest()[:8]}"
    with _font_lock:
        try:
            font = TTFont(name, path)  # subset embedding is ReportLab's default for TrueType
        except Exception as exc:
            raise PdfConfigurationError(
                f"PDF font file {path} cannot be read as TrueType ({exc}). Reinstall {FONT_PACKAGE}."
            ) from exc
        pdfmetrics.registerFont(font)
    drawable = frozenset(code for code, glyph in font.face.charToGlyph.items() if glyph)
    return _Font(name=name, drawable=drawable)


def _font() -> _Font:
    return _load_font(str(settings.PDF_FONT_FILE))


# --- Cleaning text -----------------------------------------------------------------------------

_LINE_BREAKS = {"\n", "\r", "\u2028", "\u2029"}


def _is_variation_selector(ch: str) -> bool:
    code = ord(ch)
    return 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF


class _Cleaner:
    """Turns caller text into safe ReportLab markup and counts what it marks with 〓."""

    def __init__(self, font: _Font):
        self.drawable = font.drawable
        self.marked = 0

    def plain(self, text: object) -> str:
        """Text to print: control and format characters dropped, undrawable characters as 〓."""
        out: list[str] = []
        for ch in ("" if text is None else str(text)).replace("\r\n", "\n"):
            if ch in _LINE_BREAKS:
                out.append("\n")
            elif ch == "\t":
                out.append(" ")
            elif _is_variation_selector(ch):
                # An ideographic variation (葛 + U+E0100) is a glyph the font does not have: the
                # pair prints as one 〓 rather than as a look-alike base character.
                if out and out[-1] not in (GETA, "\n"):
                    out[-1] = GETA
                    self.marked += 1
                elif not out or out[-1] == "\n":
                    out.append(GETA)
                    self.marked += 1
            elif unicodedata.category(ch) in ("Cc", "Cf"):
                # Control characters and invisible format characters (zero-width, bidi overrides)
                # print nothing, or reorder what is printed.
                continue
            elif is_private_use(ch) or ord(ch) not in self.drawable:
                out.append(GETA)
                self.marked += 1
            else:
                out.append(ch)
        return "".join(out)

    def markup(self, text: object) -> str:
        """Paragraph markup: cleaned, escaped (a name like ``<b>`` prints literally), line breaks kept."""
        return escape(self.plain(text)).replace("\n", "<br/>")


# --- Layout ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Styles:
    body: ParagraphStyle
    cell: ParagraphStyle
    header_cell: ParagraphStyle
    label_cell: ParagraphStyle
    heading: ParagraphStyle
    title: ParagraphStyle
    issuer: ParagraphStyle
    note: ParagraphStyle


def _styles(font: str) -> _Styles:
    # wordWrap "CJK" breaks Japanese between any two characters (with the kinsoku rules), and
    # breaks a long run without spaces (an address, a hostile value) instead of overflowing.
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK", alignment=TA_LEFT)
    cell = ParagraphStyle("cell", parent=body, fontSize=9, leading=12.5)
    return _Styles(
        body=body,
        cell=cell,
        header_cell=ParagraphStyle("header_cell", parent=cell, alignment=TA_CENTER),
        label_cell=ParagraphStyle("label_cell", parent=cell),
        heading=ParagraphStyle("heading", parent=body, fontSize=12, leading=18, spaceBefore=10, spaceAfter=4),
        title=ParagraphStyle("title", parent=body, fontSize=16, leading=24, alignment=TA_CENTER, spaceAfter=10),
        issuer=ParagraphStyle("issuer", parent=body, alignment=TA_RIGHT),
        note=ParagraphStyle("note", parent=body, fontSize=9, leading=13, spaceBefore=10),
    )


_GRID = colors.HexColor("#555555")
_SHADE = colors.HexColor("#e8e8e8")


def _table_style(*, font: str, header: bool) -> platypus.TableStyle:
    commands = [
        # Every cell holds a Paragraph; a split row can leave an empty string cell, drawn in this font.
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("GRID", (0, 0), (-1, -1), 0.5, _GRID),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), _SHADE))
    else:
        commands.append(("BACKGROUND", (0, 0), (0, -1), _SHADE))
    return platypus.TableStyle(commands)


def _widths(table: Table) -> list[float]:
    count = len(table.headers)
    if not table.col_widths_mm:
        return [FRAME_WIDTH / count] * count
    if len(table.col_widths_mm) != count or any(w <= 0 for w in table.col_widths_mm):
        raise ValueError("col_widths_mm needs one positive width per header")
    widths = [w * mm for w in table.col_widths_mm]
    total = sum(widths)
    scale = min(1.0, FRAME_WIDTH / total)
    return [w * scale for w in widths]


# A row may split across pages (a 10,000-character value is taller than a page) when at least
# this much of it fits; rows are otherwise kept whole.
_SPLIT_IN_ROW_MIN = 30


def _flowables(block: Block, cleaner: _Cleaner, styles: _Styles) -> list[platypus.Flowable]:
    if isinstance(block, Heading):
        return [platypus.Paragraph(cleaner.markup(block.text), styles.heading)]
    if isinstance(block, Paragraph):
        return [platypus.Paragraph(cleaner.markup(block.text), styles.body)]
    if isinstance(block, KeyValues):
        if not block.rows:
            return []
        data = [
            [
                platypus.Paragraph(cleaner.markup(label), styles.label_cell),
                platypus.Paragraph(cleaner.markup(value), styles.cell),
            ]
            for label, value in block.rows
        ]
        label_width = 42 * mm
        table = platypus.Table(
            data,
            colWidths=[label_width, FRAME_WIDTH - label_width],
            splitInRow=_SPLIT_IN_ROW_MIN,
            hAlign="LEFT",
        )
        table.setStyle(_table_style(font=styles.cell.fontName, header=False))
        return [table, platypus.Spacer(1, 4 * mm)]
    if isinstance(block, Table):
        if not block.headers:
            raise ValueError("a Table needs at least one header")
        count = len(block.headers)
        data = [[platypus.Paragraph(cleaner.markup(h), styles.header_cell) for h in block.headers]]
        for row in block.rows:
            if len(row) != count:
                raise ValueError(f"a Table row has {len(row)} cells for {count} headers")
            data.append([platypus.Paragraph(cleaner.markup(value), styles.cell) for value in row])
        table = platypus.Table(
            data,
            colWidths=_widths(block),
            repeatRows=1,
            splitInRow=_SPLIT_IN_ROW_MIN,
            hAlign="LEFT",
        )
        table.setStyle(_table_style(font=styles.cell.fontName, header=True))
        return [table, platypus.Spacer(1, 4 * mm)]
    raise TypeError(f"not a PDF block: {type(block).__name__}")


def _page_decorations(*, font: str, form_number: str, serial: str, confidential: bool):
    """A canvas class that draws the header and footer on every page once the total is known.

    ReportLab learns the page count only at the end, so the canvas keeps each finished page and
    draws 「n / total ページ」 on all of them when the document is saved (one pass, no re-render).
    """

    class _DecoratedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []
            self.page_total = 0

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            pages = self._pages
            for state in pages:
                self.__dict__.update(state)  # also restores page_total and _pages as they were then
                self._decorate(total=len(pages))
                super().showPage()
            self.page_total = len(pages)
            super().save()

        def _decorate(self, *, total: int) -> None:
            self.saveState()
            top = PAGE_HEIGHT - 14 * mm
            if form_number:
                self.setFont(font, 9)
                self.drawString(MARGIN_X, top, form_number)
            if confidential:
                self.setFont(font, 10)
                width = pdfmetrics.stringWidth(CONFIDENTIAL_MARK, font, 10)
                self.setStrokeColor(colors.HexColor("#c00000"))
                self.setFillColor(colors.HexColor("#c00000"))
                self.setLineWidth(1)
                self.rect(PAGE_WIDTH - MARGIN_X - width - 6, top - 3, width + 6, 15, stroke=1, fill=0)
                self.drawString(PAGE_WIDTH - MARGIN_X - width - 3, top + 1, CONFIDENTIAL_MARK)
            self.setFillColor(colors.black)
            self.setStrokeColor(_GRID)
            self.setLineWidth(0.5)
            bottom = 12 * mm
            self.line(MARGIN_X, bottom + 5 * mm, PAGE_WIDTH - MARGIN_X, bottom + 5 * mm)
            self.setFont(font, 9)
            self.drawString(MARGIN_X, bottom, f"印刷番号 {serial}")
            self.drawRightString(PAGE_WIDTH - MARGIN_X, bottom, f"{self._pageNumber} / {total} ページ")
            self.restoreState()

    return _DecoratedCanvas


def render_pdf(
    *,
    title: str,
    form_number: str,
    serial: str,
    blocks: Sequence[Block],
    issuer: str | None = None,
    issued_on: dt.date | None = None,
    confidential: bool = True,
) -> PdfResult:
    """Render ``blocks`` as an A4 PDF. Raises PdfConfigurationError when the font is missing.

    ``issuer`` (e.g. :func:`governor`) prints top-right with ``issued_on`` in 和暦 (today when an
    issuer is given without a date). The title also goes into the PDF's metadata, so it names
    the form, never a person.
    """
    font = _font()
    styles = _styles(font.name)
    cleaner = _Cleaner(font)

    # Page furniture first, so a 〓 in a serial or form number is counted like any other.
    form_number_text = cleaner.plain(form_number).replace("\n", " ")
    serial_text = cleaner.plain(serial).replace("\n", " ")
    title_text = cleaner.plain(title).replace("\n", " ")

    story: list[platypus.Flowable] = []
    if issuer is not None and issued_on is None:
        issued_on = timezone.localdate()
    issuer_lines = []
    if issued_on is not None:
        issuer_lines.append(escape(to_wareki(issued_on)))
    if issuer:
        issuer_lines.append(cleaner.markup(issuer))
    if issuer_lines:
        story.append(platypus.Paragraph("<br/>".join(issuer_lines), styles.issuer))
        story.append(platypus.Spacer(1, 6 * mm))
    story.append(platypus.Paragraph(escape(title_text), styles.title))
    for block in blocks:
        story.extend(_flowables(block, cleaner, styles))
    if cleaner.marked:
        # Built after every block, and not through the cleaner: its own 〓 is not a 外字.
        story.append(
            platypus.Paragraph(f"{GETA}は外字（表示できない文字）を示します（{cleaner.marked}字）", styles.note)
        )

    buffer = io.BytesIO()
    # A frame without padding, so that a table as wide as FRAME_WIDTH fits exactly (with the
    # default 6 pt padding, the pieces of a split row were drawn 6 pt apart).
    frame = platypus.Frame(
        MARGIN_X,
        MARGIN_BOTTOM,
        FRAME_WIDTH,
        PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="body",
    )
    doc = platypus.BaseDocTemplate(
        buffer,
        pagesize=A4,
        pageTemplates=[platypus.PageTemplate(id="page", frames=[frame])],
        initialFontName=font.name,  # otherwise every page names an unembedded Helvetica
        title=title_text,
        author=settings.PREFECTURE_NAME,  # the issuing body, never the operator
        subject=form_number_text,
        creator="jukinet",
        producer="jukinet",
        invariant=False,
        lang="ja-JP",
        displayDocTitle=True,
    )
    canvasmaker = _page_decorations(
        font=font.name, form_number=form_number_text, serial=serial_text, confidential=confidential
    )
    doc.build(story, canvasmaker=canvasmaker)
    return PdfResult(data=buffer.getvalue(), pages=doc.canv.page_total, gaiji_marked=cleaner.marked)
