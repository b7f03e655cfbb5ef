"""The till API, sale by sale: prices from the menu, the subsidy and its reason, tenders,
voids with a supervisor's approval, shifts with a cash count, and the ledger."""
from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import text

from support import api_token


def _scalar(app, sql: str, **params):
    with app.extensions["canteen_db"].session() as s:
        return s.execute(text(sql), params).scalar()


def _verify(app, canteen="YLW01"):
    from pos.store.ledger import verify_chain

    with app.extensions["canteen_db"].session() as s:
        return verify_chain(session=s, canteen_id=canteen)


def test_menu_lists_dishes_in_fen_with_the_welfare_meal_marked(client):
    h = api_token(client, "cashier")
    body = client.get("/api/v1/menu", headers=h).get_json()
    assert body["canteen"] == "YLW01"
    item = body["items"][0]
    assert set(item) >= {"id", "name", "price_fen", "category", "welfare_meal"}
    assert all(isinstance(i["price_fen"], int) for i in body["items"])
    assert sum(i["welfare_meal"] for i in body["items"]) == 1


def test_paid_meal_answers_the_documented_shape(app, till):
    lines = [{"item_id": till.item(name="红烧肉")["id"], "qty": 1}, {"item_id": till.item(name="米饭")["id"], "qty": 2}]
    r = till.sell(lines, due_fen=1400, tender={"method": "cash", "tendered_fen": 2000})
    assert r.status_code == 201, r.get_json()
    sale = r.get_json()
    assert {"id", "business_date", "gross_fen", "subsidy_fen", "due_fen", "change_fen", "subsidy", "lines"} <= set(sale)
    assert (sale["gross_fen"], sale["subsidy_fen"], sale["due_fen"], sale["change_fen"]) == (1400, 0, 1400, 600)
    assert set(sale["subsidy"]) >= {"kind", "amount_fen", "rule", "policy_version", "reason"}
    assert sale["subsidy"]["kind"] is None and sale["subsidy"]["policy_version"] == "2026-01"
    assert [(ln["qty"], ln["line_total_fen"]) for ln in sale["lines"]] == [(1, 1200), (2, 200)]
    assert _verify(app).ok


def test_senior_voucher_takes_three_yuan_off_with_its_reason(app, till, seniors, voucher_for):
    url = voucher_for(seniors[0])
    lines = [{"item_id": till.item(name="荤素套餐")["id"], "qty": 1}]
    q = till.quote(lines, {"scan": url}).get_json()
    assert (q["gross_fen"], q["subsidy_fen"], q["due_fen"]) == (1600, 300, 1300)
    assert q["subsidy"]["kind"] == "age_tier" and q["subsidy"]["rule"] == "age_tier:60"
    assert "立减 ¥3.00" in q["subsidy"]["reason"]
    assert q["credential"]["kind"] == "voucher" and "*" in q["credential"]["masked_name"]
    r = till.sell(lines, {"scan": url}, due_fen=1300, tender={"method": "wechat", "reference": "WX123"})
    assert r.status_code == 201
    sale = r.get_json()
    assert sale["subsidy"]["amount_fen"] == 300 and sale["tender"] == {
        "method": "wechat", "tendered_fen": 1300, "change_fen": 0, "reference": "WX123"}
    grant = None
    with app.extensions["canteen_db"].session() as s:
        grant = s.execute(text("SELECT * FROM subsidy_grants WHERE sale_id = :i"), {"i": sale["id"]}).mappings().one()
    assert grant["kind"] == "age_tier" and grant["amount_fen"] == 300 and grant["rule_id"] == "age_tier:60"
    assert grant["policy_version"] == "2026-01" and len(grant["diner_key"]) == 64


def test_worker_gets_the_welfare_meal_free_and_the_quota_counts_it(client, till, workers):
    lines = [{"item_id": till.welfare["id"], "qty": 1}, {"item_id": till.item(name="绿豆汤")["id"], "qty": 1}]
    before = client.get("/api/v1/quota/today", headers=till.headers).get_json()
    assert before["free_meals"] == {"cap": 40, "used": 0, "left": 40}
    r = till.sell(lines, {"id_number": workers[0]})
    sale = r.get_json()
    assert r.status_code == 201
    assert (sale["gross_fen"], sale["subsidy_fen"], sale["due_fen"]) == (1800, 1500, 300)
    assert sale["subsidy"]["kind"] == "free_meal" and sale["lines"][0]["subsidy_fen"] == 1500
    after = client.get("/api/v1/quota/today", headers=till.headers).get_json()
    assert after["free_meals"] == {"cap": 40, "used": 1, "left": 39}
    assert after["business_date"] == before["business_date"]


@pytest.mark.parametrize("category_word", ["环卫", "保洁", "外卖", "sanitation", "cleaner", "rider", "delivery"])
def test_a_free_meal_never_names_the_worker_category(till, workers, category_word):
    r = till.sell([{"item_id": till.welfare["id"], "qty": 1}], {"id_number": workers[1]})
    assert r.status_code == 201
    sale = r.get_json()
    words = json.dumps({"subsidy": sale["subsidy"], "lines": sale["lines"]}, ensure_ascii=False)
    assert category_word not in words


def test_second_subsidised_meal_is_refused_with_the_reason(till, seniors):
    lines = [{"item_id": till.welfare["id"], "qty": 1}]
    cred = {"id_number": seniors[2]}
    assert till.sell(lines, cred).status_code == 201
    q = till.quote(lines, cred).get_json()
    assert q["subsidy_fen"] == 0 and q["subsidy"]["code"] == "limit_reached"
    assert "今日已享受过补贴餐" in q["subsidy"]["reason"]
    # A till still showing the old price is told the new one, and nothing is recorded.
    r = till.sell(lines, cred, due_fen=1200, tender={"method": "cash", "tendered_fen": 1200})
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "price_changed" and r.get_json()["quote"]["due_fen"] == 1500


def test_walk_in_with_a_resident_id_pays_menu_price_and_the_number_is_never_stored(app, till):
    from subsidies.resident_id import check_character

    first17 = "33020519400101123"
    number = first17 + check_character(first17)
    q = till.quote([{"item_id": till.welfare["id"], "qty": 1}], {"id_number": number}).get_json()
    assert q["credential"]["diner_kind"] == "walk_in"
    assert q["subsidy"]["code"] == "not_resident" and q["due_fen"] == 1500
    r = till.sell([{"item_id": till.welfare["id"], "qty": 1}], {"id_number": number})
    assert r.status_code == 201
    with app.extensions["canteen_db"].session() as s:
        for table in ("sales", "idempotency_keys", "audit_log", "subsidy_grants"):
            rows = s.execute(text(f"SELECT * FROM {table}")).all()
            assert number not in repr(rows) and number[:14] not in repr(rows), table


def test_sale_needs_an_open_shift(client):
    h = api_token(client, "cashier2")
    item = client.get("/api/v1/menu", headers=h).get_json()["items"][0]
    r = client.post("/api/v1/sales", headers={**h, "Idempotency-Key": str(uuid.uuid4())},
                    json={"lines": [{"item_id": item["id"], "qty": 1}], "due_fen": item["price_fen"],
                          "tender": {"method": "cash", "tendered_fen": item["price_fen"]}})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "no_open_shift"


@pytest.mark.parametrize("tender,status,code", [
    ({"method": "cash", "tendered_fen": 1000}, 422, "insufficient_cash"),
    ({"method": "cash"}, 422, "tendered_required"),
    ({"method": "free"}, 422, "not_free"),
    ({"method": "alipay", "tendered_fen": 2000}, 422, "invalid_tender"),
])
def test_tenders_that_do_not_pay_the_bill_are_refused(app, till, tender, status, code):
    r = till.sell([{"item_id": till.welfare["id"], "qty": 1}], due_fen=1500, tender=tender)
    assert r.status_code == status and r.get_json()["error"]["code"] == code
    assert _scalar(app, "SELECT COUNT(*) FROM sales WHERE business_date = :d", d=_today(app)) == 0


def _today(app):
    from pos.clock import business_date

    return business_date(app.config["CANTEEN"].default_canteen.timezone)


def test_void_with_the_supervisor_pin_gives_the_free_meal_back(app, client, till, workers):
    r = till.sell([{"item_id": till.welfare["id"], "qty": 1}], {"id_number": workers[3]})
    sale = r.get_json()
    bad = client.post(f"/api/v1/sales/{sale['id']}/void", headers=till.headers,
                      json={"reason": "点错了", "supervisor": "supervisor", "pin": "0000"})
    assert bad.status_code == 403 and bad.get_json()["error"]["code"] == "bad_pin"
    assert _scalar(app, "SELECT COUNT(*) FROM login_attempts WHERE kind = 'pin' AND succeeded = FALSE") == 1
    ok = client.post(f"/api/v1/sales/{sale['id']}/void", headers=till.headers,
                     json={"reason": "点错了", "supervisor": "supervisor", "pin": "1234"})
    assert ok.status_code == 200, ok.get_json()
    voided = ok.get_json()
    assert voided["status"] == "voided" and voided["void"]["reversed_subsidy_fen"] == 1500
    assert voided["subsidy"]["voided"] is True
    quota = client.get("/api/v1/quota/today", headers=till.headers).get_json()
    assert quota["free_meals"]["used"] == 0
    again = client.post(f"/api/v1/sales/{sale['id']}/void", headers=till.headers,
                        json={"reason": "again", "supervisor": "supervisor", "pin": "1234"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_voided"
    # The slot is free again: the same worker may have their meal.
    assert till.sell([{"item_id": till.welfare["id"], "qty": 1}], {"id_number": workers[3]}).get_json()["due_fen"] == 0
    assert client.get(f"/api/v1/sales/{sale['id']}", headers=till.headers).get_json()["status"] == "voided"
    assert _verify(app).ok


def test_void_by_supervisor_token_needs_no_pin_but_a_cashier_token_does(client, till):
    sale = till.sell([{"item_id": till.welfare["id"], "qty": 1}]).get_json()
    r = client.post(f"/api/v1/sales/{sale['id']}/void", headers=till.headers, json={"reason": "x"})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "pin_required"
    sup = api_token(client, "supervisor")
    r = client.post(f"/api/v1/sales/{sale['id']}/void", headers=sup, json={"reason": "顾客退餐"})
    assert r.status_code == 200 and r.get_json()["void"]["refund_fen"] == 1500


def test_another_canteen_cannot_see_or_void_a_sale(client, till):
    sale = till.sell([{"item_id": till.welfare["id"], "qty": 1}]).get_json()
    jm = api_token(client, "jm-supervisor")
    assert client.get(f"/api/v1/sales/{sale['id']}", headers=jm).status_code == 403
    r = client.post(f"/api/v1/sales/{sale['id']}/void", headers=jm,
                    json={"reason": "x", "supervisor": "jm-supervisor", "pin": "4321"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "other_canteen"
    # Nor may JM01's supervisor approve a YLW01 void with their PIN.
    r = client.post(f"/api/v1/sales/{sale['id']}/void", headers=till.headers,
                    json={"reason": "x", "supervisor": "jm-supervisor", "pin": "4321"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "approver_other_canteen"


def test_no_sale_or_void_after_day_close(app, client, till):
    from pos.clock import naive_utc
    from pos.models import DayClose, StaffUser
    from sqlmodel import select

    sale = till.sell([{"item_id": till.welfare["id"], "qty": 1}]).get_json()
    with app.extensions["canteen_db"].transaction() as s:
        admin = s.exec(select(StaffUser.id).where(StaffUser.username == "admin")).one()
        s.add(DayClose(canteen_id="YLW01", business_date=_today(app), closed_at=naive_utc(), closed_by=admin,
                       chain_seq=0, chain_head="", report_json="{}", report_sha256=""))
    r = client.post(f"/api/v1/sales/{sale['id']}/void", headers=till.headers,
                    json={"reason": "x", "supervisor": "supervisor", "pin": "1234"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "day_closed"
    r = till.sell([{"item_id": till.welfare["id"], "qty": 1}], due_fen=1500)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "day_closed"


def test_shift_close_counts_cash_in_change_out_and_refunds(client, till):
    current = client.get("/api/v1/shifts/current", headers=till.headers).get_json()["shift"]
    assert current["opening_float_fen"] == 20000
    again = client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=till.headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "shift_already_open"
    welfare = [{"item_id": till.welfare["id"], "qty": 1}]
    till.sell(welfare, due_fen=1500, tender={"method": "cash", "tendered_fen": 5000})  # +5000 −3500
    till.sell(welfare, due_fen=1500, tender={"method": "wechat"})  # no cash
    voided = till.sell(welfare, due_fen=1500, tender={"method": "cash", "tendered_fen": 1500}).get_json()
    sup = api_token(client, "supervisor")
    assert client.post(f"/api/v1/sales/{voided['id']}/void", headers=sup, json={"reason": "退"}).status_code == 200
    other = api_token(client, "cashier2")
    r = client.post(f"/api/v1/shifts/{current['id']}/close", json={"counted_cash_fen": 0}, headers=other)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_your_shift"
    r = client.post(f"/api/v1/shifts/{current['id']}/close", json={"counted_cash_fen": 21400}, headers=till.headers)
    assert r.status_code == 200, r.get_json()
    closed = r.get_json()
    assert closed["expected_cash_fen"] == 20000 + 5000 - 3500 + 1500 - 1500 == 21500
    assert closed["difference_fen"] == -100 and closed["status"] == "closed"
    assert closed["summary"]["sales"] == 3 and closed["summary"]["cash_refunds_fen"] == 1500
    r = client.post(f"/api/v1/shifts/{current['id']}/close", json={"counted_cash_fen": 1}, headers=till.headers)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "shift_closed"
    assert client.get("/api/v1/shifts/current", headers=till.headers).get_json() == {"shift": None}
    r = till.sell(welfare, due_fen=1500)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "no_open_shift"


def test_credential_lookup_shows_the_benefit_that_would_apply(client, till, seniors, workers, voucher_for):
    r = client.post("/api/v1/credentials/lookup", json={"scan": voucher_for(seniors[4])}, headers=till.headers)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["credential"]["kind"] == "voucher" and body["benefit"]["amount_fen"] == 300
    r = client.post("/api/v1/credentials/lookup", json={"id_number": workers[9]}, headers=till.headers)
    assert r.get_json()["benefit"]["kind"] == "free_meal" and r.get_json()["quote"]["due_fen"] == 0
    r = client.post("/api/v1/credentials/lookup", json={"scan": "https://x/v/garbage.zz"}, headers=till.headers)
    assert 400 <= r.status_code < 500 and "error" in r.get_json()


def test_every_write_is_audited_without_personal_data(app, till, seniors):
    sale = till.sell([{"item_id": till.welfare["id"], "qty": 1}], {"id_number": seniors[5]}).get_json()
    with app.extensions["canteen_db"].session() as s:
        rows = s.execute(text("SELECT action, target, detail FROM audit_log WHERE action IN "
                              "('sale_recorded', 'shift_opened')")).all()
    actions = {r[0] for r in rows}
    assert actions == {"sale_recorded", "shift_opened"}
    detail = next(r[2] for r in rows if r[1] == sale["id"])
    assert seniors[5] not in detail and "测试" not in detail


def test_receipt_numbers_run_one_two_three_and_the_chain_verifies(app, till):
    welfare = [{"item_id": till.welfare["id"], "qty": 1}]
    nos = [till.sell(welfare, due_fen=1500).get_json()["receipt_no"] for _ in range(3)]
    assert nos == sorted(nos) and nos[2] - nos[0] == 2
    result = _verify(app)
    assert result.ok and result.rows_checked >= 6


def test_idempotency_digest_cannot_be_reversed_to_the_resident_id(app, till, seniors):
    import hashlib

    lines = [{"item_id": till.welfare["id"], "qty": 1}]
    key = str(uuid.uuid4())
    r = till.sell(lines, {"id_number": seniors[7]}, key=key)
    assert r.status_code == 201
    body = {"lines": lines, "credential": {"id_number": seniors[7], "scan": None},
            "due_fen": r.get_json()["due_fen"], "tender": {"method": "cash", "tendered_fen": r.get_json()["due_fen"],
                                                            "reference": None}}
    plain = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                           .encode()).hexdigest()
    stored = _scalar(app, "SELECT request_sha256 FROM idempotency_keys WHERE key = :k", k=key)
    assert stored and stored != plain
    # ... and the same sale retried with the same key still replays.
    again = till.sell(lines, {"id_number": seniors[7]}, due_fen=r.get_json()["due_fen"],
                      tender={"method": "cash", "tendered_fen": r.get_json()["due_fen"]}, key=key)
    assert again.status_code == 201 and again.get_data() == r.get_data()


def test_a_retry_after_the_voucher_was_revoked_answers_the_recorded_sale(app, till, seniors, voucher_for):
    """The tablet's answer was lost; meanwhile the voucher was revoked.  The retry (same
    key, same body) answers the sale that was recorded, not a refusal; a new sale with
    the revoked voucher is refused."""
    from pos.store import vouchers

    url = voucher_for(seniors[1])
    lines = [{"item_id": till.item(name="荤素套餐")["id"], "qty": 1}]
    key = str(uuid.uuid4())
    first = till.sell(lines, {"scan": url}, due_fen=1300, key=key)
    assert first.status_code == 201, first.get_json()
    voucher_id = _scalar(app, "SELECT id FROM vouchers WHERE status = 'active' ORDER BY issued_at DESC LIMIT 1")
    with app.extensions["canteen_db"].transaction() as s:
        vouchers.revoke_voucher(session=s, voucher_id=voucher_id)
    retry = till.sell(lines, {"scan": url}, due_fen=1300, key=key)
    assert retry.status_code == 201 and retry.get_data() == first.get_data()
    fresh = till.sell(lines, {"scan": url}, due_fen=1300)
    assert fresh.status_code == 422 and fresh.get_json()["error"]["code"] == "voucher_revoked"
    assert _scalar(app, "SELECT COUNT(*) FROM sales WHERE id = :i", i=first.get_json()["id"]) == 1
