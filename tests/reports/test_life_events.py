"""A diner recorded as deceased or moved away: no benefit from that date, past grants stay
in past claims, and a grant dated after the event is flagged by the claim's edit checks.

The story, on SQLite and PostgreSQL, with "now" set through CANTEEN_NOW: a sanitation worker
has a free meal on the 9th; on the 10th staff record that they died that day; on the 11th
the till gives nothing, saying why; a grant forced into the books on the 12th (the life
event taken off in the database, a sale made, the event put back) is flagged by the
monthly claim's check ``grant_after_life_event`` — and the grant of the 9th is not."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from backoffice.bo_helpers import make_id_number, signed_in, staff_id
from pos.clock import business_date, now_utc
from reports import service
from support import api_token, build_app


def _tenth_of_last_month() -> date:
    first = business_date("Asia/Shanghai").replace(day=1)
    return (first - timedelta(days=1)).replace(day=10)


DAY10 = _tenth_of_last_month()


def at(monkeypatch, day: date, hour: int = 12) -> None:
    """Fix "now" at ``hour`` o'clock Beijing time on ``day``."""
    monkeypatch.setenv("CANTEEN_NOW", f"{day.isoformat()}T{hour:02d}:00:00+08:00")


def welfare_lines(client, headers) -> list[dict]:
    items = client.get("/api/v1/menu", headers=headers).get_json()["items"]
    return [{"item_id": next(i for i in items if i["welfare_meal"])["id"], "qty": 1}]


def sell(client, headers, code: str) -> dict:
    """A welfare set meal for the voucher ``code`` at the quoted price, on a new shift."""
    r = client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=headers)
    assert r.status_code == 201, r.get_json()
    lines = welfare_lines(client, headers)
    quote = client.post("/api/v1/sales/quote", json={"lines": lines, "credential": {"scan": code}},
                        headers=headers).get_json()
    due = quote["due_fen"]
    r = client.post("/api/v1/sales", headers={**headers, "Idempotency-Key": str(uuid.uuid4())}, json={
        "lines": lines, "credential": {"scan": code}, "due_fen": due,
        "tender": {"method": "free"} if due == 0 else {"method": "cash", "tendered_fen": due}})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def register_worker(client, registrar, n: int, name: str = "柳三娘") -> dict:
    r = client.post("/api/v1/diners", headers=registrar, json={
        "name": name, "id_number": make_id_number(n, date(1985, 7, 8)), "resident": True, "issue_voucher": True,
        "worker_category": "sanitation_worker", "worker_proof_type": "work_card",
        "worker_verified_on": (DAY10 - timedelta(days=40)).isoformat()})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_a_death_recorded_on_the_10th_stops_benefits_and_a_grant_forced_on_the_12th_is_flagged(app, monkeypatch):
    client = app.test_client()
    db = app.extensions["canteen_db"]
    at(monkeypatch, DAY10 - timedelta(days=40))
    registrar = api_token(client, "registrar")
    diner = register_worker(client, registrar, 61)
    code = diner["voucher"]["code"]

    # The 9th: an ordinary free meal.
    at(monkeypatch, DAY10 - timedelta(days=1))
    ninth = sell(client, api_token(client, "cashier"), code)
    assert ninth["subsidy"]["code"] == "free_meal" and ninth["subsidy_fen"] > 0

    # The 10th: staff record the death, dated that day.
    at(monkeypatch, DAY10, 16)
    registrar = api_token(client, "registrar")  # a token lives hours, not weeks
    r = client.post(f"/api/v1/diners/{diner['id']}/life-event", headers=registrar,
                    json={"kind": "deceased", "date": DAY10.isoformat(), "note": "家属告知"})
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["left"], r.get_json()["left_on"]) == ("deceased", DAY10.isoformat())
    with db.engine.connect() as conn:
        row = conn.execute(text("SELECT left_kind, left_on, left_by, left_note FROM diners WHERE id = :i"),
                           {"i": diner["id"]}).one()
        history = conn.execute(text("SELECT field, new_value FROM diner_changes WHERE diner_id = :i AND field = 'left'"),
                               {"i": diner["id"]}).all()
        audited = conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE action = 'diner_left' AND target = :i"),
                               {"i": diner["id"]}).scalar()
    assert (row[0], str(row[1])[:10], row[2], row[3]) == ("deceased", DAY10.isoformat(), staff_id(app, "registrar"),
                                                           "家属告知")
    assert history == [("left", f"deceased {DAY10.isoformat()} (家属告知)")] and audited == 1
    again = client.post(f"/api/v1/diners/{diner['id']}/life-event", headers=registrar,
                        json={"kind": "moved_away", "date": DAY10.isoformat()})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_left"

    # The 11th: nothing at the till, with the reason.
    at(monkeypatch, DAY10 + timedelta(days=1))
    cashier = api_token(client, "cashier2")
    lookup = client.post("/api/v1/credentials/lookup", json={"scan": code}, headers=cashier).get_json()
    assert lookup["benefit"]["code"] == "deceased" and lookup["quote"]["subsidy_fen"] == 0
    assert DAY10.isoformat() in lookup["benefit"]["reason"] and "身故" in lookup["benefit"]["reason"]
    eleventh = sell(client, cashier, code)
    assert eleventh["subsidy"]["code"] == "deceased" and eleventh["subsidy_fen"] == 0
    assert eleventh["due_fen"] == eleventh["gross_fen"] > 0

    # The 12th: a grant forced past the rules.
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE diners SET left_kind = NULL, left_on = NULL WHERE id = :i"), {"i": diner["id"]})
    at(monkeypatch, DAY10 + timedelta(days=2))
    twelfth = sell(client, api_token(client, "supervisor"), code)
    assert twelfth["subsidy"]["code"] == "free_meal"
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE diners SET left_kind = 'deceased', left_on = :d WHERE id = :i"),
                     {"d": DAY10, "i": diner["id"]})

    # Past grants stay: the 9th's is live and in the claim; the 12th's is flagged, the 9th's not.
    with db.engine.connect() as conn:
        live = dict(conn.execute(text("SELECT sale_id, voided FROM subsidy_grants WHERE sale_id IN (:a, :b)"),
                                 {"a": ninth["id"], "b": twelfth["id"]}).all())
    assert {k: bool(v) for k, v in live.items()} == {ninth["id"]: False, twelfth["id"]: False}
    with db.session() as s:
        claim = service.build_claim(session=s, settings=app.config["CANTEEN"], canteen_ids=["YLW01"],
                                    month=DAY10.replace(day=1), now=now_utc())
    check = next(c for c in claim.data.checks if c.code == "grant_after_life_event")
    assert not check.ok
    assert check.label_zh == "身故或迁出的就餐者在该日及以后没有补贴"
    assert f"#{twelfth['receipt_no']}（就餐者 {DAY10.isoformat()} 身故）" in check.detail_zh
    assert f"#{twelfth['receipt_no']} (diner deceased on {DAY10.isoformat()})" in check.detail_en
    assert f"#{ninth['receipt_no']}（" not in check.detail_zh


def test_a_month_without_life_events_passes_the_check(app):
    with app.extensions["canteen_db"].session() as s:
        claim = service.build_claim(session=s, settings=app.config["CANTEEN"], canteen_ids=["YLW01"],
                                    month=DAY10.replace(day=1), now=now_utc())
    check = next(c for c in claim.data.checks if c.code == "grant_after_life_event")
    assert check.ok and check.detail_zh == "0 例" and check.detail_en == "0 case(s)"


@pytest.fixture
def bo_app(sqlite_url, tmp_path):
    app = build_app(sqlite_url, tmp_path, WTF_CSRF_ENABLED=False)
    yield app
    app.extensions["canteen_db"].dispose()


def test_moving_away_is_recorded_from_the_diners_back_office_page(bo_app):
    client = bo_app.test_client()
    registrar = api_token(client, "registrar")
    today = business_date("Asia/Shanghai")
    diner = register_worker(client, registrar, 62, name="卫小宝")
    browser = signed_in(bo_app, "registrar")
    page = browser.get(f"/backoffice/diners/{diner['id']}").get_data(as_text=True)
    assert "登记身故或迁出" in page and "工作证明" in page

    future = browser.post(f"/backoffice/diners/{diner['id']}/life-event",
                          data={"kind": "moved_away", "date": (today + timedelta(days=1)).isoformat()})
    assert future.status_code == 422
    r = browser.post(f"/backoffice/diners/{diner['id']}/life-event",
                     data={"kind": "moved_away", "date": today.isoformat(), "note": "搬到外区"})
    assert r.status_code == 302
    page = browser.get(f"/backoffice/diners/{diner['id']}").get_data(as_text=True)
    assert "迁出" in page and "搬到外区" in page and "登记身故或迁出</button>" not in page
    assert f"该就餐者已迁出本社区（{today.isoformat()}起）" in page
    # The till and the diner's own page say the same.
    lookup = client.post("/api/v1/credentials/lookup", json={"scan": diner["voucher"]["code"]},
                         headers=api_token(client, "cashier")).get_json()
    assert lookup["benefit"]["code"] == "moved_away"
    own = client.get("/v/" + diner["voucher"]["token"]).get_data(as_text=True)
    assert f"该就餐者已迁出本社区（{today.isoformat()}起）" in own
    # Other roles may not record one.
    cashier = signed_in(bo_app, "cashier")
    assert cashier.post(f"/backoffice/diners/{diner['id']}/life-event",
                        data={"kind": "deceased", "date": today.isoformat()}).status_code == 403
