"""Day close: who may close, which dates, what is stored, and that the sale path refuses
sales and voids of a closed date with a clear message."""
from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

from sqlalchemy import select

from pos.clock import business_date
from pos.models import AuditEntry, Canteen, DayClose
from report_data import sample_day
from support import api_token

PAST = date(2026, 3, 2)


def _today(app) -> date:
    return business_date(app.config["CANTEEN"].default_canteen.timezone)


def _close(client, headers, day, **extra):
    return client.post("/api/v1/day-close", json={"business_date": day.isoformat(), **extra}, headers=headers)


def test_supervisor_closes_a_day_and_the_close_stores_the_report_hash_and_chain_head(app, client):
    with app.extensions["canteen_db"].transaction() as s:
        sample_day(s, PAST)
    r = _close(client, api_token(client, "supervisor"), PAST)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["totals"] == {"sales": 5, "gross_fen": 7200, "subsidy_fen": 2500, "due_fen": 4700, "voided_sales": 2}
    assert all(c["ok"] for c in body["checks"])
    with app.extensions["canteen_db"].session() as s:
        row = s.get(DayClose, ("YLW01", PAST))
        from reports.queries import sha256_text

        assert row.report_sha256 == body["report_sha256"] == sha256_text(row.report_json)
        assert json.loads(row.report_json)["summary"]["subsidy_fen"] == 2500
        canteen = s.get(Canteen, "YLW01")  # nothing was sold since: the head at close is the head now
        assert (row.chain_seq, row.chain_head) == (body["chain_seq"], body["chain_head"])
        assert (row.chain_seq, row.chain_head) == (canteen.chain_seq, canteen.chain_head)
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "day_closed",
                                                   AuditEntry.target == PAST.isoformat())).scalars().one()
        assert entry.actor == "supervisor" and json.loads(entry.detail)["report_sha256"] == row.report_sha256


def test_a_closed_date_cannot_be_closed_again(app, client):
    headers = api_token(client, "supervisor")
    assert _close(client, headers, PAST).status_code == 201
    again = _close(client, headers, PAST)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "day_already_closed"
    assert "已经日结" in again.get_json()["error"]["message_zh"]


def test_a_future_date_cannot_be_closed(app, client):
    r = _close(client, api_token(client, "supervisor"), _today(app) + timedelta(days=1))
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "future_date"
    with app.extensions["canteen_db"].session() as s:
        assert s.get(DayClose, ("YLW01", _today(app) + timedelta(days=1))) is None


def test_open_shifts_must_be_handed_over_first(app, client):
    with app.extensions["canteen_db"].transaction() as s:
        sample_day(s, PAST, close_shifts=False)
    r = _close(client, api_token(client, "supervisor"), PAST)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "shifts_open"
    assert r.get_json()["open_shifts"] == 1


def test_only_supervisors_of_the_canteen_and_admins_close_days(app, client):
    assert _close(client, api_token(client, "cashier"), PAST).status_code == 403
    assert _close(client, api_token(client, "accountant"), PAST).status_code == 403
    other = _close(client, api_token(client, "jm-supervisor"), PAST, canteen="YLW01")
    assert other.status_code == 403 and other.get_json()["error"]["code"] == "other_canteen"
    assert _close(client, api_token(client, "admin"), PAST, canteen="JM01").status_code == 201
    bad = _close(client, api_token(client, "admin"), PAST, canteen="NOPE")
    assert bad.status_code == 404
    assert client.post("/api/v1/day-close", json={"business_date": "2026-02-30"},
                       headers=api_token(client, "supervisor")).status_code == 422
    assert client.post("/api/v1/day-close", json={"business_date": "yesterday"},
                       headers=api_token(client, "supervisor")).status_code == 422


def test_after_day_close_a_sale_and_a_void_for_that_date_are_refused(app, client):
    """Through the till's API: sell today, hand over, close today, then try to sell and void."""
    cashier = api_token(client, "cashier")
    supervisor = api_token(client, "supervisor")
    shift = client.post("/api/v1/shifts", json={"opening_float_fen": 10000}, headers=cashier)
    assert shift.status_code == 201, shift.get_json()
    item = next(i for i in client.get("/api/v1/menu", headers=cashier).get_json()["items"] if not i["welfare_meal"])
    body = {"lines": [{"item_id": item["id"], "qty": 1}], "due_fen": item["price_fen"],
            "tender": {"method": "cash", "tendered_fen": item["price_fen"]}}
    sold = client.post("/api/v1/sales", json=body, headers={**cashier, "Idempotency-Key": str(uuid.uuid4())})
    assert sold.status_code == 201, sold.get_json()
    closed_shift = client.post(f"/api/v1/shifts/{shift.get_json()['id']}/close",
                               json={"counted_cash_fen": 10000 + item["price_fen"]}, headers=cashier)
    assert closed_shift.status_code == 200, closed_shift.get_json()
    today = _today(app)
    assert _close(client, supervisor, today).status_code == 201

    again = client.post("/api/v1/sales", json=body, headers={**cashier, "Idempotency-Key": str(uuid.uuid4())})
    assert again.status_code == 409
    error = again.get_json()["error"]
    assert error["code"] == "day_closed" and today.isoformat() in error["message_zh"] and "已日结" in error["message_zh"]
    void = client.post(f"/api/v1/sales/{sold.get_json()['id']}/void", json={"reason": "顾客退餐"}, headers=supervisor)
    assert void.status_code == 409
    assert void.get_json()["error"]["code"] == "day_closed" and "correction" in void.get_json()["error"]["message_en"]
