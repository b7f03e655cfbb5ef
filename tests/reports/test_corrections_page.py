"""The corrections page (/reports/corrections) without a browser: who may use it, the day's
sales list, finding a sale by receipt number, booking with a second supervisor's PIN, clear
4xx answers on the page for bad input, and English pages in English only."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pos.clock import business_date
from pos.models import Correction, DayClose, Sale
from support import app_on, browser_login, copy_sqlite

S = Sale.__table__


@pytest.fixture
def page_app(tmp_path, demo_templates):
    target = tmp_path / "canteen.db"
    copy_sqlite(Path(demo_templates("sqlite")), target)
    app = app_on(f"sqlite:///{target}", tmp_path, WTF_CSRF_ENABLED=False)
    yield app
    app.extensions["canteen_db"].dispose()


def _signed_in(app, username: str):
    client = app.test_client()
    assert browser_login(client, username).status_code == 302
    return client


def _closed_sale(app) -> dict:
    today = business_date(app.config["CANTEEN"].default_canteen.timezone)
    with app.extensions["canteen_db"].session() as s:
        conn = s.connection()
        day = conn.execute(select(func.max(DayClose.__table__.c.business_date))
                           .where(DayClose.__table__.c.canteen_id == "YLW01")).scalar()
        assert day < today
        return dict(conn.execute(select(S).where(S.c.canteen_id == "YLW01", S.c.business_date == day,
                                                 S.c.status == "completed", S.c.subsidy_fen > 0, S.c.due_fen > 0)
                                 .order_by(S.c.receipt_no)).mappings().first())


def _count(app) -> int:
    with app.extensions["canteen_db"].session() as s:
        return s.connection().execute(select(func.count()).select_from(Correction.__table__)).scalar()


def test_only_supervisors_and_admins_reach_the_page_and_the_reports_page_links_it(page_app):
    for username, status in (("cashier", 403), ("accountant", 403), ("registrar", 403), ("supervisor", 200),
                             ("admin", 200)):
        assert _signed_in(page_app, username).get("/reports/corrections").status_code == status, username
    assert 'id="nav-corrections"' in _signed_in(page_app, "supervisor").get("/reports").get_data(as_text=True)
    assert 'id="nav-corrections"' not in _signed_in(page_app, "accountant").get("/reports").get_data(as_text=True)


def test_find_by_receipt_and_book_with_a_pin(page_app):
    sale = _closed_sale(page_app)
    c = _signed_in(page_app, "supervisor")
    day = sale["business_date"].isoformat()
    listed = c.get("/reports/corrections", query_string={"canteen": "YLW01", "date": day}).get_data(as_text=True)
    assert f'id="sale-{sale["receipt_no"]}"' in listed and "更正…" in listed
    found = c.get("/reports/corrections", query_string={"canteen": "YLW01", "date": day,
                                                        "receipt": str(sale["receipt_no"])})
    page = found.get_data(as_text=True)
    assert found.status_code == 200 and 'id="correction-form"' in page and sale["id"] in page
    form = {"sale_id": sale["id"], "reason": "多收了一份汤", "reversed_subsidy": "0", "refund": "2.00",
            "supervisor": "admin", "pin": "0000"}
    wrong = c.post("/reports/corrections", data=form)
    assert wrong.status_code == 403 and "主管授权码不正确" in wrong.get_data(as_text=True)
    assert "多收了一份汤" in wrong.get_data(as_text=True)  # what was typed is kept
    bad = c.post("/reports/corrections", data={**form, "refund": "2.005", "pin": "9999"})
    assert bad.status_code == 422 and "最多两位小数" in bad.get_data(as_text=True)
    assert _count(page_app) == 0
    r = c.post("/reports/corrections", data={**form, "pin": "9999"})
    assert r.status_code == 302
    booked = c.get(r.headers["Location"]).get_data(as_text=True)
    today = business_date(page_app.config["CANTEEN"].default_canteen.timezone)
    assert 'id="booked"' in booked and "¥2.00" in booked and today.isoformat() in booked
    assert _count(page_app) == 1
    again = c.get("/reports/corrections", query_string={"sale": sale["id"]}).get_data(as_text=True)
    assert 'id="already-corrected"' in again and 'id="correction-form"' not in again


def test_bad_input_is_a_clear_4xx(page_app):
    c = _signed_in(page_app, "supervisor")
    assert c.get("/reports/corrections?date=2026-02-30").status_code == 400
    missing = c.get("/reports/corrections", query_string={"date": "2026-03-02", "receipt": "987654"})
    assert missing.status_code == 404 and "没有第 987654 号小票" in missing.get_data(as_text=True)
    assert c.get("/reports/corrections?receipt=abc").status_code == 422
    assert c.get("/reports/corrections?canteen=JM01").status_code == 403  # another canteen's supervisor
    assert c.get("/reports/corrections?sale=nope").status_code == 404
    assert c.post("/reports/corrections", data={"sale_id": "nope"}).status_code == 404


def test_an_english_page_is_english(page_app):
    sale = _closed_sale(page_app)
    c = _signed_in(page_app, "supervisor")
    c.set_cookie("lang", "en")
    page = c.get("/reports/corrections", query_string={"sale": sale["id"]}).get_data(as_text=True)
    assert "Corrections after close" in page and "Book the correction" in page
    text = re.sub(r"<header.*?</header>", "", page, flags=re.S)
    text = re.sub(r"<option[^>]*>[^<]*</option>", "", text)
    for name in ("云鹭湾社区邻里食堂", "景明社区长者食堂"):
        text = text.replace(name, "")
    assert not re.findall(r"[\u4e00-\u9fff]+", text)
