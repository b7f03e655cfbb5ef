"""The address in the QR codes, where staff print them: the diner list, the diner's page and
the ticket page show it; outside development nothing is printed while app.base_url is a
loopback address (a diner's phone would open itself), and in development a warning says so.
With a LAN address the cards print and their codes read back as that address."""
from __future__ import annotations

import html as html_text
import re
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import select

from backoffice.bo_helpers import signed_in
from backoffice.test_printables_qr import decoded_qr_codes
from pos.models import AuditEntry, Diner, Ticket, Voucher
from pos.store import vouchers as vstore
from support import api_token, artifact_dir, copy_sqlite, make_settings

LAN_BASE_URL = "http://192.168.1.20:5000"
PRINTED = ("voucher_cards_printed", "ticket_sheet_printed")


@pytest.fixture
def app_with(tmp_path, demo_templates):
    """The demo canteen on SQLite, served with the given app.base_url, in or out of development."""
    made = []

    def make(base_url: str, *, development: bool):
        from pos import create_app

        target = tmp_path / f"canteen-{len(made)}.db"
        copy_sqlite(Path(demo_templates("sqlite")), target)
        url = f"sqlite:///{target}"
        settings = make_settings(url, tmp_path, base_url=base_url, development=development)
        app = create_app({"CANTEEN": settings, "TESTING": True, "WTF_CSRF_ENABLED": False})
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["canteen_db"].dispose()


def page(r) -> str:
    return html_text.unescape(r.get_data(as_text=True))


def shown(markup: str) -> str:
    """The page's words without its tags."""
    return re.sub(r"<[^>]+>", "", markup)


def a_diner_with_a_voucher(app) -> str:
    with app.extensions["canteen_db"].session() as s:
        return s.exec(select(Diner.id).join(Voucher, Voucher.diner_id == Diner.id)
                      .where(Voucher.status == "active").order_by(Diner.created_at)).first()


def tickets_for_today(app, client, count: int) -> str:
    """Makes ``count`` tickets for today through the ticket page; returns the date."""
    from pos.clock import business_date

    day = business_date(app.config["CANTEEN"].default_canteen.timezone).isoformat()
    r = client.post("/backoffice/tickets", data={"business_date": day, "count": str(count)})
    assert r.status_code == 302, page(r)[:500]
    return day


def printed(app) -> list[str]:
    with app.extensions["canteen_db"].session() as s:
        return list(s.exec(select(AuditEntry.action).where(AuditEntry.action.in_(PRINTED))))


def test_outside_development_a_loopback_base_url_prints_nothing_and_the_pages_say_why(app_with):
    app = app_with("http://127.0.0.1:5000", development=False)
    registrar, supervisor = signed_in(app, "registrar"), signed_in(app, "supervisor")
    diner_id = a_diner_with_a_voucher(app)
    day = tickets_for_today(app, supervisor, 3)

    for r in (registrar.get("/backoffice/cards.pdf"), registrar.get(f"/backoffice/cards.pdf?diner={diner_id}"),
              supervisor.get(f"/backoffice/tickets/YLW01/{day}.pdf")):
        body = page(r)
        assert r.status_code == 409 and r.mimetype == "text/html"
        assert not r.data.startswith(b"%PDF")
        assert "app.base_url" in body and "手机扫码打不开" in body and "http://127.0.0.1:5000" in body

    for user, path in (("registrar", "/api/v1/vouchers/cards.pdf"),
                       ("supervisor", f"/api/v1/tickets/sheet.pdf?business_date={day}&canteen=YLW01")):
        api = app.test_client()
        r = api.get(path, headers=api_token(api, user))
        assert r.status_code == 409 and r.get_json()["error"]["code"] == "base_url_loopback"
        assert "app.base_url" in r.get_json()["error"]["message_en"]
    assert printed(app) == []

    listing = page(registrar.get("/backoffice/diners"))
    assert "二维码地址：http://127.0.0.1:5000/v/…" in shown(listing)
    assert 'id="qr-address-refusal"' in listing and "app.base_url" in listing
    assert "/backoffice/cards.pdf" not in listing and "打印全部有效餐券卡片" not in listing
    one = page(registrar.get(f"/backoffice/diners/{diner_id}"))
    assert 'id="qr-address-refusal"' in one and "打印餐券卡片" not in one and "/backoffice/cards.pdf" not in one
    sheet = page(supervisor.get("/backoffice/tickets"))
    assert "二维码地址：http://127.0.0.1:5000/t/…" in shown(sheet) and 'id="qr-address-refusal"' in sheet
    assert f"/backoffice/tickets/YLW01/{day}.pdf" not in sheet and "打印（PDF）" not in sheet

    english = page(registrar.get("/backoffice/diners?lang=en"))
    assert "QR address: http://127.0.0.1:5000/v/…" in shown(english)
    assert "diners' phones cannot open it, so nothing is printed" in english and "app.base_url" in english


def test_outside_development_a_lan_base_url_prints_and_the_codes_read_back_as_that_address(app_with):
    app = app_with(LAN_BASE_URL, development=False)
    registrar, supervisor = signed_in(app, "registrar"), signed_in(app, "supervisor")
    diner_id = a_diner_with_a_voucher(app)
    settings = app.config["CANTEEN"]

    one = page(registrar.get(f"/backoffice/diners/{diner_id}"))
    assert f"二维码地址：{LAN_BASE_URL}/v/…" in shown(one) and "打印餐券卡片" in one
    assert 'id="qr-address-refusal"' not in one and 'id="qr-address-warning"' not in one
    r = registrar.get(f"/backoffice/cards.pdf?diner={diner_id}")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    with app.extensions["canteen_db"].session() as s:
        voucher = s.exec(select(Voucher).where(Voucher.diner_id == diner_id, Voucher.status == "active")).one()
        expected = vstore.issued(settings, voucher).url
    assert expected.startswith(f"{LAN_BASE_URL}/v/")
    assert decoded_qr_codes(r.data, artifact_dir("backoffice"), "lan-voucher-card") == [expected]

    day = tickets_for_today(app, supervisor, 2)
    sheet = page(supervisor.get("/backoffice/tickets"))
    assert f"二维码地址：{LAN_BASE_URL}/t/…" in shown(sheet) and f"/backoffice/tickets/YLW01/{day}.pdf" in sheet
    r = supervisor.get(f"/backoffice/tickets/YLW01/{day}.pdf")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    found = decoded_qr_codes(r.data, artifact_dir("backoffice"), "lan-ticket-sheet")
    with app.extensions["canteen_db"].session() as s:
        urls = [vstore.issued_ticket(settings, t).url for t in s.exec(select(Ticket))]
    assert len(urls) == 2 and all(u.startswith(f"{LAN_BASE_URL}/t/") for u in urls)
    assert Counter(found) == Counter(urls)
    assert Counter(printed(app)) == Counter(PRINTED)


def test_in_development_a_loopback_base_url_is_a_visible_warning_and_still_prints(app_with):
    app = app_with("http://127.0.0.1:5000", development=True)
    registrar, supervisor = signed_in(app, "registrar"), signed_in(app, "supervisor")
    listing = page(registrar.get("/backoffice/diners"))
    assert "二维码地址：http://127.0.0.1:5000/v/…" in shown(listing)
    assert 'id="qr-address-warning"' in listing and "手机扫码打不开" in listing and "app.base_url" in listing
    assert 'id="qr-address-refusal"' not in listing and "/backoffice/cards.pdf" in listing
    assert registrar.get("/backoffice/cards.pdf").data.startswith(b"%PDF")
    day = tickets_for_today(app, supervisor, 1)
    sheet = page(supervisor.get("/backoffice/tickets"))
    assert 'id="qr-address-warning"' in sheet and f"/backoffice/tickets/YLW01/{day}.pdf" in sheet
    assert supervisor.get(f"/backoffice/tickets/YLW01/{day}.pdf").status_code == 200
    english = page(registrar.get("/backoffice/diners?lang=en"))
    assert "Development mode: the QR address is the server's own loopback address" in english
