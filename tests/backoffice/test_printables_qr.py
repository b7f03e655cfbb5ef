"""Every QR code on a printed voucher-card sheet and ticket sheet decodes, with an
independent reader (poppler's pdftoppm → PNG → zbar's zbarimg), to exactly the URL of a
live voucher or ticket — and the Chinese font is embedded."""
from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

from sqlmodel import select

from backoffice.bo_helpers import signed_in
from pos.models import Ticket, Voucher
from pos.store import vouchers as vstore
from support import api_token, artifact_dir, need_tool


def decoded_qr_codes(pdf: bytes, out: Path, name: str) -> list[str]:
    """Every code zbar reads on the PDF's pages.  A page is rendered at 150 and at 300 dpi,
    as a card is printed, and a code read at either counts (on a page of ten codes zbar now
    and then misses one at a single resolution); a code printed twice is read twice."""
    pdftoppm = need_tool("pdftoppm", "poppler-utils")
    zbarimg = need_tool("zbarimg", "zbar-tools")
    path = out / f"{name}.pdf"
    path.write_bytes(pdf)
    found: dict[int, Counter] = {}
    for dpi in (150, 300):
        stem = out / f"{name}-{dpi}"
        subprocess.run([pdftoppm, "-r", str(dpi), "-png", str(path), str(stem)], check=True, timeout=120)
        pages = sorted(out.glob(f"{name}-{dpi}-*.png"))
        assert pages, "pdftoppm made no page images"
        for number, page in enumerate(pages):
            # QR codes only: with every symbology on, zbar now and then reads a stretch of the
            # printed text or a cut mark as a one-dimensional barcode that is not there.
            r = subprocess.run([zbarimg, "--raw", "-q", "-Sdisable", "-Sqrcode.enable", str(page)],
                               capture_output=True, text=True, timeout=120)
            assert r.returncode in (0, 4), r.stderr  # 4: no code on the page
            read = Counter(line for line in r.stdout.splitlines() if line.strip())
            found[number] = found.get(number, Counter()) | read  # the most times each was read
    return [code for codes in found.values() for code in codes.elements()]


def embedded_fonts(pdf_path: Path) -> str:
    pdffonts = need_tool("pdffonts", "poppler-utils")
    return subprocess.run([pdffonts, str(pdf_path)], capture_output=True, text=True, check=True).stdout


def test_every_qr_on_the_voucher_card_sheet_decodes_to_its_voucher_url(bo_app, tmp_path):
    registrar = signed_in(bo_app, "registrar")
    r = registrar.get("/backoffice/cards.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    settings = bo_app.config["CANTEEN"]
    with bo_app.extensions["canteen_db"].session() as s:
        expected = [vstore.issued(settings, v).url for v in s.exec(select(Voucher).where(Voucher.status == "active"))]
    assert len(expected) == 20  # every demo diner: two A4 pages of ten
    out = artifact_dir("backoffice")
    found = decoded_qr_codes(r.data, out, "voucher-cards")
    assert Counter(found) == Counter(expected)
    fonts = embedded_fonts(out / "voucher-cards.pdf")
    assert "CanteenCJK" in fonts or "WenQuanYi" in fonts
    assert all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:] if "CJK" in line or "WenQuanYi" in line)


def test_every_qr_on_the_ticket_sheet_decodes_to_its_ticket_url(bo_app, tmp_path):
    client = bo_app.test_client()
    headers = api_token(client, "supervisor")
    settings = bo_app.config["CANTEEN"]
    from pos.clock import business_date

    day = business_date(settings.default_canteen.timezone)
    r = client.post("/api/v1/tickets", json={"business_date": day.isoformat()}, headers=headers)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["count"] == 40  # the day's cap by default
    pdf = client.get(body["sheet_pdf"], headers=headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    found = decoded_qr_codes(pdf.data, artifact_dir("backoffice"), "ticket-sheet")
    assert Counter(found) == Counter(t["url"] for t in body["tickets"])
    with bo_app.extensions["canteen_db"].session() as s:
        rows = list(s.exec(select(Ticket)))
    assert {vstore.issued_ticket(settings, t).url for t in rows} == set(found)


def test_our_error_correction_codewords_are_exactly_qrcodes():
    """The fast Reed-Solomon path gives qrcode the very codewords it would compute itself."""
    import random

    from qrcode.constants import ERROR_CORRECT_M
    from qrcode.util import MODE_8BIT_BYTE, QRData, create_data

    from reports.printables import codewords, qr_version

    rng = random.Random(18004)
    for _ in range(400):
        size = rng.randint(0, 180)
        raw = bytes(rng.randrange(256) for _ in range(size))
        smallest = qr_version("x" * size)
        for version in {smallest, min(40, smallest + rng.randint(1, 4))}:
            expected = create_data(version, ERROR_CORRECT_M, [QRData(raw, mode=MODE_8BIT_BYTE)])
            assert codewords(raw, version) == expected, (size, version)
