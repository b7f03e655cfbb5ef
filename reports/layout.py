"""The shared look of the report PDFs: A4, the embedded CJK font, a footer on every page
with "第 x 页 / 共 y 页", tables whose header repeats on every page and money right-aligned.

:class:`PdfRenderer` follows pretix's invoice renderer: small hooks (``page_size``,
``stylesheet``, ``story``, ``footer_lines``, ``filename``) that a subclass overrides, and
``render(data)`` returning ``(filename, mimetype, bytes)``.  Renderers receive data; they
never query the database.
"""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

from reports.fonts import cjk_font

RED = colors.HexColor("#c0392b")
GREEN = colors.HexColor("#1e7d32")
GREY = colors.HexColor("#777777")
HEADER_BG = colors.HexColor("#eeeae3")
RULE = colors.HexColor("#bbbbbb")
PDF = "application/pdf"


_OFFSETS: dict[tuple[str, datetime], timedelta] = {}


def local(moment: datetime | None, tz: str, fmt: str = "%H:%M:%S") -> str:
    """A stored naive-UTC time as the canteen's local clock shows it ('' for None)."""
    if moment is None:
        return ""
    # The offset is looked up once per zone and UTC hour: converting thousands of grant
    # times one by one is a visible part of rendering a busy day.
    hour = moment.replace(minute=0, second=0, microsecond=0)
    offset = _OFFSETS.get((tz, hour))
    if offset is None:
        offset = hour.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz)).utcoffset()
        if len(_OFFSETS) > 50_000:
            _OFFSETS.clear()
        _OFFSETS[(tz, hour)] = offset
    shown = moment + offset
    if fmt == "%H:%M:%S":  # the common case, without strftime's per-call setup
        return f"{shown.hour:02d}:{shown.minute:02d}:{shown.second:02d}"
    if fmt == "%H:%M":
        return f"{shown.hour:02d}:{shown.minute:02d}"
    return shown.strftime(fmt)


_ZH_DIGITS = "零一二三四五六七八九"


def zh_number(n: int) -> str:
    """A section number as Chinese paper writes it: 1 → 一, 10 → 十, 12 → 十二, 21 → 二十一 (1–99)."""
    if not 0 < n < 100:
        raise ValueError(f"section numbers run from 1 to 99, got {n}")
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else "十" if tens == 1 else _ZH_DIGITS[tens] + "十"
    return head + (_ZH_DIGITS[ones] if ones else "")


def zone_zh(tz: str, moment: datetime) -> str:
    """The canteen's time zone as a Chinese reader names it: 北京时间 for China's zone,
    otherwise its offset at ``moment`` (naive UTC), e.g. 东九区 — never the English IANA name."""
    if tz in ("Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "PRC"):
        return "北京时间"
    offset = moment.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "零时区"
    if minutes % 60 == 0 and abs(minutes) <= 12 * 60:
        return ("东" if minutes > 0 else "西") + zh_number(abs(minutes) // 60) + "区"
    sign = "+" if minutes > 0 else "−"
    return f"世界协调时{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def footer_canvas(font: str, lines: Sequence[str]):
    """A canvas class that, once every page is laid out, draws ``lines`` and
    "第 x 页 / 共 y 页" at the foot of each page (the total is only known at the end)."""

    class FooterCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any):
            # Start every page in the CJK font: otherwise the PDF names Helvetica, which
            # is not embedded and looks different on each viewer.
            kwargs["initialFontName"] = kwargs.get("initialFontName") or font
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self._draw_footer(number, total)
                super().showPage()
            super().save()

        def _draw_footer(self, number: int, total: int) -> None:
            width, _ = self._pagesize
            self.saveState()
            self.setStrokeColor(RULE)
            self.setLineWidth(0.4)
            self.line(15 * mm, 14 * mm, width - 15 * mm, 14 * mm)
            self.setFillColor(GREY)
            self.setFont(font, 6.5)
            y = 10.5 * mm
            for line in lines:
                self.drawString(15 * mm, y, line)
                y -= 3 * mm
            self.setFont(font, 8)
            self.drawRightString(width - 15 * mm, 10.5 * mm, f"第 {number} 页 / 共 {total} 页")
            self.restoreState()

    return FooterCanvas


def styles(font: str) -> dict[str, ParagraphStyle]:
    """Paragraph styles in the CJK font (Chinese wraps between any two characters)."""
    base = ParagraphStyle("body", fontName=font, fontSize=9, leading=12.5, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=16, leading=21, spaceAfter=2),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=9.5, textColor=GREY, spaceAfter=6),
        "h2": ParagraphStyle("h2", parent=base, fontSize=11.5, leading=15, spaceBefore=9, spaceAfter=4),
        "body": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.5),
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=10, textColor=GREY),
        "stamp": ParagraphStyle("stamp", parent=base, fontSize=11, leading=14, textColor=RED),
    }


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[float], *, font: str,
          right: Sequence[int] = (), red_rows: Sequence[int] = (), bold_last: bool = False,
          size: float = 8.5) -> Table:
    """A table whose header repeats on every page (``repeatRows=1``), with the columns in
    ``right`` (money, counts) right-aligned and the body rows in ``red_rows`` in red."""
    style = [
        ("FONT", (0, 0), (-1, -1), font, size),
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_BG),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.2),
    ]
    for col in right:
        style.append(("ALIGN", (col, 0), (col, -1), "RIGHT"))
    for row in red_rows:
        style.append(("TEXTCOLOR", (0, row + 1), (-1, row + 1), RED))
    if bold_last and rows:
        style += [("LINEABOVE", (0, -1), (-1, -1), 0.6, colors.black), ("BACKGROUND", (0, -1), (-1, -1), HEADER_BG)]
    return Table([list(header)] + [list(r) for r in rows], colWidths=list(widths), repeatRows=1,
                 style=TableStyle(style), hAlign="LEFT")


class LedgerTable(Flowable):
    """A long list (a day's grants, a month's diners) drawn straight onto the canvas: one
    text line per row, the header repeated on every page.  reportlab's Table measures
    every cell and costs ~0.1 ms a row; this costs a few microseconds, which keeps a
    day of 10,000 sales under a second."""

    def __init__(self, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float], *,
                 font: str, right: Sequence[int] = (), grey_rows: frozenset[int] = frozenset(),
                 red_rows: frozenset[int] = frozenset(), size: float = 7.5, row_height: float = 10.5,
                 offset: int = 0, total_last: bool = False):
        super().__init__()
        self.header, self.rows, self.widths = tuple(header), rows, tuple(widths)
        self.font, self.right, self.size, self.row_height = font, frozenset(right), size, row_height
        self.grey_rows, self.red_rows, self.offset = grey_rows, red_rows, offset
        # The last row is a total: shaded and ruled off like ``table(..., bold_last=True)``.
        self.total_last = total_last and bool(rows)

    def wrap(self, avail_width, avail_height):
        """Every row has the same height, so the size is known without measuring cells."""
        self.width, self.height = sum(self.widths), self.row_height * (len(self.rows) + 1)
        return self.width, self.height

    def split(self, avail_width, avail_height):
        """The rows that fit here, and the rest (with the header again) for the next page."""
        fits = int(avail_height // self.row_height) - 1
        if fits < 3:
            return []  # move the whole table to the next frame rather than print a bare header
        if fits >= len(self.rows):
            return [self]
        kw = dict(font=self.font, right=sorted(self.right), grey_rows=self.grey_rows, red_rows=self.red_rows,
                  size=self.size, row_height=self.row_height)
        return [LedgerTable(self.header, self.rows[:fits], self.widths, offset=self.offset, **kw),
                LedgerTable(self.header, self.rows[fits:], self.widths, offset=self.offset + fits,
                            total_last=self.total_last, **kw)]

    def draw(self):
        """Header band, then one line of text per row."""
        c, rh = self.canv, self.row_height
        top = self.height
        c.setFillColor(HEADER_BG)
        c.rect(0, top - rh, self.width, rh, stroke=0, fill=1)
        c.setStrokeColor(colors.black)
        c.setLineWidth(0.6)
        c.line(0, top - rh, self.width, top - rh)
        if self.total_last:
            c.rect(0, 0, self.width, rh, stroke=0, fill=1)
            c.line(0, rh, self.width, rh)
        lefts, x = [], 0.0
        for w in self.widths:
            lefts.append(x)
            x += w
        pieces, widths = _piece_cache(c, self.font)
        size = self.size
        # The text operators are written directly: reportlab's text object formats every
        # coordinate in pure Python and re-encodes every string, which is most of the cost
        # of a long list.  Each distinct cell text is encoded once per document.
        code = ["BT", "0 g"]
        state = {"subset": None, "colour": "0 g"}
        baseline = top - rh + (rh - size) / 2 + 1
        for index, row in enumerate((self.header, *self.rows)):
            number = self.offset + index - 1
            if index:
                wanted = RED if number in self.red_rows else GREY if number in self.grey_rows else colors.black
                op = f"{wanted.red:.3f} {wanted.green:.3f} {wanted.blue:.3f} rg"
                if op != state["colour"]:
                    code.append(op)
                    state["colour"] = op
            for col, cell in enumerate(row):
                if not cell:
                    continue
                if col in self.right:
                    width = widths.get(cell)
                    if width is None:
                        width = widths[cell] = stringWidth(cell, self.font, size)
                    at = lefts[col] + self.widths[col] - 2 - width
                else:
                    at = lefts[col] + 2
                code.append(f"1 0 0 1 {at:.2f} {baseline:.2f} Tm")
                for subset_name, escaped in pieces(cell):
                    if subset_name != state["subset"]:
                        code.append(f"{subset_name} {size:g} Tf")
                        state["subset"] = subset_name
                    code.append(escaped)
            baseline -= rh
        code.append("ET")
        c._code.append("\n".join(code))


# PDF string escapes, as reportlab writes them: octal outside printable ASCII, and \\ \( \).
_PDF_ESCAPES = {c: (f"\\{c:03o}" if c < 32 or c >= 127 else "\\" + chr(c)) for c in range(256)
                if c < 32 or c >= 127 or chr(c) in "\\()"}


def _piece_cache(canvas, font_name: str):
    """Per-document cache: text → [(subset font name, "(…) Tj"), …] for a TrueType font."""
    from reportlab.pdfbase import pdfmetrics

    doc = canvas._doc
    caches = doc.__dict__.setdefault("_ledger_cache", {})
    if font_name not in caches:
        font = pdfmetrics.getFont(font_name)
        encoded: dict[str, list[tuple[str, str]]] = {}

        def pieces(text: str):
            found = encoded.get(text)
            if found is None:
                found = encoded[text] = [(font.getSubsetInternalName(subset, doc),
                                          f"({chunk.decode('latin-1').translate(_PDF_ESCAPES)}) Tj")
                                         for subset, chunk in font.splitString(text, doc)]
            return found

        caches[font_name] = (pieces, {})
    return caches[font_name]


class PdfRenderer:
    """Base class of the report PDFs.  Subclasses set ``title`` and override ``story``,
    ``footer_lines`` and ``filename``; ``render(data)`` returns ``(filename, mimetype, bytes)``."""

    page_size = A4
    margins = (15 * mm, 15 * mm, 14 * mm, 22 * mm)  # left, right, top, bottom (room for the footer)
    title = ""

    def font(self) -> str:
        """The embedded CJK font's name (raises reports.fonts.FontMissing when none is found)."""
        return cjk_font()

    def heading(self, text: str, st: dict[str, ParagraphStyle]) -> Paragraph:
        """The next section heading, numbered 一、二、三… in the order the sections appear,
        so a section left out (nothing to show) leaves no gap in the numbering."""
        self._sections = getattr(self, "_sections", 0) + 1
        return para(f"{zh_number(self._sections)}、{text}", st["h2"])

    def stylesheet(self, font: str) -> dict[str, ParagraphStyle]:
        """The paragraph styles, in the CJK font."""
        return styles(font)

    def story(self, data: Any, font: str, st: dict[str, ParagraphStyle]) -> list[Flowable]:
        """The flowables of the whole report, section by section."""
        raise NotImplementedError

    def footer_lines(self, data: Any) -> list[str]:
        """The lines printed at the foot of every page (generation time, ledger head, data hash)."""
        return []

    def filename(self, data: Any) -> str:
        """The download name of the PDF."""
        raise NotImplementedError

    def render(self, data: Any) -> tuple[str, str, bytes]:
        """Lay out ``data`` and return ``(filename, 'application/pdf', bytes)``."""
        font = self.font()
        self._sections = 0
        buf = io.BytesIO()
        left, right, top, bottom = self.margins
        doc = SimpleDocTemplate(buf, pagesize=self.page_size, leftMargin=left, rightMargin=right, topMargin=top,
                                bottomMargin=bottom, title=self.title, author="canteen", invariant=0,
                                initialFontName=font)
        # ASCII85 on top of zlib only makes streams 25 % bigger, and reportlab encodes it
        # in pure Python: a third of the time of a long report.
        previous, rl_config.useA85 = rl_config.useA85, 0
        try:
            doc.build(self.story(data, font, self.stylesheet(font)),
                      canvasmaker=footer_canvas(font, self.footer_lines(data)))
        finally:
            rl_config.useA85 = previous
        return self.filename(data), PDF, buf.getvalue()


def para(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (escaped, so a reason like "<3" prints as typed)."""
    from xml.sax.saxutils import escape

    return Paragraph(escape(text), style)
