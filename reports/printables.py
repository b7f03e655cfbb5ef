"""Printables: meal-voucher cards and daily free-meal ticket sheets, as A4 PDF bytes.

The renderers receive plain data (the dataclasses below) and never query the database.
Chinese text uses the embedded CJK font (:func:`reports.fonts.cjk_font`).  QR codes are
drawn as vector rectangles from the qrcode matrix — one rectangle per run of dark
modules — so they stay sharp at any printer resolution and the file stays small.

Voucher cards are credit-card size (85.6 × 54 mm), ten to an A4 page in two columns, with
cut marks in the margins.  A ticket sheet has 3 × 7 tickets a page.
"""
from __future__ import annotations

import io
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.LUT import rsPoly_LUT
from qrcode.base import EXP_TABLE, LOG_TABLE, rs_blocks
from qrcode.util import MODE_8BIT_BYTE, PAD0, PAD1, QRData, length_in_bits
from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from reports.fonts import cjk_font

CARD_W, CARD_H = 85.6 * mm, 54 * mm
CARD_COLS, CARD_ROWS = 2, 5
TICKET_COLS, TICKET_ROWS = 3, 7
QUIET_ZONE = 4  # modules of white around a QR, as ISO/IEC 18004 asks
# A fixed mask pattern skips qrcode's trial of all eight masks, the slow part of making
# a code; every mask decodes equally well, the choice only tunes the dark/light balance.
MASK_PATTERN = 2


@dataclass(frozen=True)
class VoucherCard:
    """One voucher card: what the diner and the cashier read on it."""

    url: str
    code: str            # the short code as printed, e.g. "ABC-DEF-GH7"
    masked_name: str     # "张*娴"
    benefit: str         # "80岁以上 立减¥7.00"
    valid_until: date
    canteen: str         # the community or canteen name printed at the top


@dataclass(frozen=True)
class TicketCard:
    """One free-meal ticket of a sheet."""

    url: str
    code: str
    business_date: date
    canteen: str
    number: int          # 1..N on the sheet, for counting them out


def _qr(data: str, version: int | None) -> qrcode.QRCode:
    qr = qrcode.QRCode(version=version, error_correction=ERROR_CORRECT_M, border=0, mask_pattern=MASK_PATTERN)
    # Byte mode throughout: a URL gains nothing from mixed modes, and the version then
    # depends on the length alone, so it is worked out once per length (see below).
    raw = data.encode("utf-8")
    qr.add_data(QRData(raw, mode=MODE_8BIT_BYTE))
    if version is not None:
        # qrcode computes the error-correction bytes with recursive polynomial objects,
        # the slowest step of a code; we hand it the same codewords from log tables
        # (tests/backoffice/test_printables_qr.py checks they are identical).
        qr.data_cache = codewords(raw, version)
    qr.make(fit=version is None)
    return qr


def codewords(raw: bytes, version: int) -> list[int]:
    """The data and error-correction codewords (interleaved, ISO/IEC 18004 §7.6) of
    ``raw`` in byte mode at level M — what ``qrcode.util.create_data`` returns."""
    blocks = rs_blocks(version, ERROR_CORRECT_M)
    capacity = sum(b.data_count for b in blocks)
    count_bits = length_in_bits(MODE_8BIT_BYTE, version)
    bits = (MODE_8BIT_BYTE << count_bits | len(raw)) << 8 * len(raw) | int.from_bytes(raw, "big")
    nbits = 4 + count_bits + 8 * len(raw)
    if nbits > capacity * 8:
        raise ValueError(f"{len(raw)} bytes do not fit a version {version} QR code at level M")
    pad = min(4, capacity * 8 - nbits) + (-(nbits + min(4, capacity * 8 - nbits)) % 8)
    bits, nbits = bits << pad, nbits + pad
    data = list(bits.to_bytes(nbits // 8, "big"))
    data += [PAD0 if i % 2 == 0 else PAD1 for i in range(capacity - len(data))]
    data_blocks, ec_blocks, offset = [], [], 0
    for block in blocks:
        chunk = data[offset:offset + block.data_count]
        offset += block.data_count
        data_blocks.append(chunk)
        ec_blocks.append(_remainder(chunk, block.total_count - block.data_count))
    out = []
    for group in (data_blocks, ec_blocks):
        for i in range(max(len(b) for b in group)):
            out += [b[i] for b in group if i < len(b)]
    return out


def _remainder(chunk: list[int], ec_count: int) -> list[int]:
    """Reed-Solomon error-correction bytes: ``chunk`` × x^ec_count mod the generator."""
    generator = [LOG_TABLE[c] for c in rsPoly_LUT[ec_count][1:]]
    rem = [0] * ec_count
    for byte in chunk:
        factor = byte ^ rem[0]
        rem = rem[1:] + [0]
        if factor:
            lf = LOG_TABLE[factor]
            for i, lg in enumerate(generator):
                rem[i] ^= EXP_TABLE[(lg + lf) % 255]
    return rem


@lru_cache(maxsize=256)
def _version_for(length: int) -> int:
    return _qr("x" * length, None).version


def qr_version(data: str) -> int:
    """The QR version (1–40) ``data`` needs at error correction M."""
    return _version_for(len(data.encode("utf-8")))


def qr_matrix(data: str) -> list[list[bool]]:
    """The QR modules for ``data`` at error correction M (smallest version that fits),
    without the quiet zone."""
    return _qr(data, qr_version(data)).get_matrix()


def draw_qr(c: Canvas, data: str, x: float, y: float, size: float) -> None:
    """Draw ``data`` as a QR code whose quiet zone fills the square (x, y, size, size)."""
    matrix = qr_matrix(data)
    n = len(matrix)
    module = size / (n + 2 * QUIET_ZONE)
    ops = []
    for r, row in enumerate(matrix):
        col = 0
        while col < n:
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                ops.append(f"{start} {r} {col - start} 1 re")
            else:
                col += 1
    c.saveState()
    c.setFillColorRGB(0, 0, 0)
    # One unit = one module, origin at the QR's top-left corner, rows growing downwards:
    # the runs are then written as small integers, which keeps 1,000 cards fast.
    c.transform(module, 0, 0, -module, x + QUIET_ZONE * module, y + size - QUIET_ZONE * module)
    c.addLiteral("\n".join(ops) + "\nf")
    c.restoreState()


def _fit(c: Canvas, text: str, font: str, size: float, width: float) -> float:
    """The font size (at most ``size``) at which ``text`` fits in ``width``."""
    w = c.stringWidth(text, font, size)
    return size if w <= width else max(5.0, size * width / w)


def _cut_marks(c: Canvas, xs: list[float], ys: list[float], x0: float, x1: float, y0: float, y1: float) -> None:
    """Short lines in the page margin at every card edge, to guide the guillotine."""
    mark, gap = 5 * mm, 1.5 * mm
    c.saveState()
    c.setLineWidth(0.3)
    c.setStrokeColorRGB(0.3, 0.3, 0.3)
    for x in xs:
        c.line(x, y1 + gap, x, y1 + gap + mark)
        c.line(x, y0 - gap, x, y0 - gap - mark)
    for y in ys:
        c.line(x0 - gap, y, x0 - gap - mark, y)
        c.line(x1 + gap, y, x1 + gap + mark, y)
    c.restoreState()


def _grid(cols: int, rows: int, w: float, h: float) -> tuple[float, float, list[float], list[float]]:
    page_w, page_h = A4
    x0 = (page_w - cols * w) / 2
    y1 = page_h - (page_h - rows * h) / 2
    xs = [x0 + i * w for i in range(cols + 1)]
    ys = [y1 - j * h for j in range(rows + 1)]
    return x0, y1, xs, ys


def _draw_card(c: Canvas, font: str, card: VoucherCard, x: float, y: float) -> None:
    """One card with its bottom-left corner at (x, y)."""
    c.setStrokeColorRGB(0.75, 0.75, 0.75)
    c.setLineWidth(0.3)
    c.roundRect(x + 1 * mm, y + 1 * mm, CARD_W - 2 * mm, CARD_H - 2 * mm, 3 * mm, stroke=1, fill=0)
    qr = 40 * mm
    draw_qr(c, card.url, x + 3 * mm, y + (CARD_H - qr) / 2 + 2 * mm, qr)
    tx, tw = x + 45 * mm, CARD_W - 48 * mm
    c.setFillColorRGB(0.75, 0.22, 0.17)
    c.setFont(font, _fit(c, card.canteen, font, 8, tw))
    c.drawString(tx, y + CARD_H - 9 * mm, card.canteen)
    c.setFillColorRGB(0, 0, 0)
    c.setFont(font, 7)
    c.drawString(tx, y + CARD_H - 14 * mm, "助餐餐券 Meal voucher")
    c.setFont(font, _fit(c, card.masked_name, font, 15, tw))
    c.drawString(tx, y + CARD_H - 22 * mm, card.masked_name)
    c.setFont(font, _fit(c, card.benefit, font, 8.5, tw))
    c.drawString(tx, y + CARD_H - 28.5 * mm, card.benefit)
    c.setFont(font, 7)
    c.drawString(tx, y + CARD_H - 34 * mm, f"有效期至 {card.valid_until.isoformat()}")
    c.setFont("Courier-Bold", 11)
    c.drawString(tx, y + 10 * mm, card.code)
    c.setFont(font, 6)
    c.setFillColorRGB(0.35, 0.35, 0.35)
    c.drawString(tx, y + 5.5 * mm, "扫码或报短码使用 · 遗失请到社区挂失")
    c.setFillColorRGB(0, 0, 0)
    # The code again under the QR, for a cashier reading the card upside down.
    c.setFont("Courier", 6.5)
    c.drawCentredString(x + 3 * mm + qr / 2, y + 4.2 * mm, card.code)


@contextmanager
def _binary_streams():
    """Compressed streams without the ASCII85 wrapper: a quarter smaller and much faster
    to write (reportlab's ASCII85 encoder is pure Python here)."""
    saved = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = saved


def render_voucher_cards(cards: list[VoucherCard], *, title: str = "餐券") -> bytes:
    """A4 pages of voucher cards (10 a page, with cut marks); returns the PDF bytes."""
    with _binary_streams():
        return _voucher_cards(cards, title)


def _voucher_cards(cards: list[VoucherCard], title: str) -> bytes:
    font = cjk_font()
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, pageCompression=1)
    c.setTitle(title)
    c.setAuthor("canteen")
    per_page = CARD_COLS * CARD_ROWS
    x0, y1, xs, ys = _grid(CARD_COLS, CARD_ROWS, CARD_W, CARD_H)
    pages = max(1, -(-len(cards) // per_page))
    for p in range(pages):
        chunk = cards[p * per_page:(p + 1) * per_page]
        _cut_marks(c, xs, ys, xs[0], xs[-1], ys[-1], ys[0])
        for i, card in enumerate(chunk):
            col, row = i % CARD_COLS, i // CARD_COLS
            _draw_card(c, font, card, x0 + col * CARD_W, y1 - (row + 1) * CARD_H)
        if not chunk:
            c.setFont(font, 12)
            c.drawString(30 * mm, A4[1] - 30 * mm, "没有可打印的餐券 / no vouchers to print")
        c.showPage()
    c.save()
    return buf.getvalue()


def render_ticket_sheet(tickets: list[TicketCard], *, title: str = "公益餐票") -> bytes:
    """A4 pages of one-time free-meal tickets (3 × 7 a page, cut marks); returns PDF bytes."""
    with _binary_streams():
        return _ticket_sheet(tickets, title)


def _ticket_sheet(tickets: list[TicketCard], title: str) -> bytes:
    font = cjk_font()
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, pageCompression=1)
    c.setTitle(title)
    c.setAuthor("canteen")
    tw, th = 63 * mm, 38 * mm
    per_page = TICKET_COLS * TICKET_ROWS
    x0, y1, xs, ys = _grid(TICKET_COLS, TICKET_ROWS, tw, th)
    pages = max(1, -(-len(tickets) // per_page))
    for p in range(pages):
        chunk = tickets[p * per_page:(p + 1) * per_page]
        _cut_marks(c, xs, ys, xs[0], xs[-1], ys[-1], ys[0])
        for i, t in enumerate(chunk):
            col, row = i % TICKET_COLS, i // TICKET_COLS
            x, y = x0 + col * tw, y1 - (row + 1) * th
            c.setStrokeColorRGB(0.75, 0.75, 0.75)
            c.setLineWidth(0.3)
            c.rect(x + 1 * mm, y + 1 * mm, tw - 2 * mm, th - 2 * mm, stroke=1, fill=0)
            qr = 32 * mm
            draw_qr(c, t.url, x + 2 * mm, y + (th - qr) / 2, qr)
            tx, width = x + 35 * mm, tw - 37 * mm
            c.setFillColorRGB(0, 0, 0)
            c.setFont(font, _fit(c, t.canteen, font, 7, width))
            c.drawString(tx, y + th - 8 * mm, t.canteen)
            c.setFont(font, 10)
            c.drawString(tx, y + th - 14 * mm, "公益餐券")
            c.setFont(font, 7)
            c.drawString(tx, y + th - 19 * mm, f"限 {t.business_date.isoformat()}")
            c.drawString(tx, y + th - 23 * mm, "当日一次有效")
            c.setFont("Courier-Bold", 8)
            c.drawString(tx, y + 8 * mm, t.code)
            c.setFont(font, 6)
            c.setFillColorRGB(0.4, 0.4, 0.4)
            c.drawString(tx, y + 4 * mm, f"No. {t.number}")
        if not chunk:
            c.setFont(font, 12)
            c.drawString(30 * mm, A4[1] - 30 * mm, "没有可打印的餐票 / no tickets to print")
        c.showPage()
    c.save()
    return buf.getvalue()
