"""A closed business date takes nothing more — no shift, sale, void or ticket spend — and
its daily report keeps the data SHA-256 the close recorded, with every check passing.
Through the API, on SQLite and PostgreSQL."""
from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import text

from pos.clock import business_date, now_utc
from pos.ids import new_id
from pos.clock import naive_utc
from reports import service
from reports.anomaly_rules import anomaly_rules
from reports.queries import daily_data, daily_json, sha256_text
from support import api_token


def _sell(client, headers, item, **extra):
    body = {"lines": [{"item_id": item["id"], "qty": 1}], "due_fen": item["price_fen"],
            "tender": {"method": "cash", "tendered_fen": item["price_fen"]}, **extra}
    return client.post("/api/v1/sales", json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())})


def _refused_as_closed(r) -> None:
    assert r.status_code == 409, r.get_json()
    error = r.get_json()["error"]
    assert error["code"] == "day_closed" and "已日结" in error["message_zh"], error


def test_nothing_is_written_to_a_closed_day_and_its_report_stays_the_same(app, client):
    settings = app.config["CANTEEN"]
    today = business_date(settings.default_canteen.timezone)
    cashier, cashier2 = api_token(client, "cashier"), api_token(client, "cashier2")
    supervisor, registrar = api_token(client, "supervisor"), api_token(client, "registrar")

    # A normal morning: a shift, a sale, the shift handed over.
    shift = client.post("/api/v1/shifts", json={"opening_float_fen": 10000}, headers=cashier).get_json()
    dishes = client.get("/api/v1/menu", headers=cashier).get_json()["items"]
    dish = next(i for i in dishes if not i["welfare_meal"])
    welfare = next(i for i in dishes if i["welfare_meal"])
    sale = _sell(client, cashier, dish)
    assert sale.status_code == 201, sale.get_json()
    r = client.post(f"/api/v1/shifts/{shift['id']}/close", json={"counted_cash_fen": 10000 + dish["price_fen"]},
                    headers=cashier)
    assert r.status_code == 200, r.get_json()
    ticket = client.post("/api/v1/tickets", json={"business_date": today.isoformat(), "count": 1},
                         headers=registrar).get_json()["tickets"][0]
    # cashier2 left yesterday's shift open: they can still reach the sale path today.
    with app.extensions["canteen_db"].transaction() as s:
        s.connection().execute(text(
            "INSERT INTO shifts (id, canteen_id, cashier_id, business_date, opened_at, opening_float_fen) "
            "SELECT :i, 'YLW01', id, :d, :at, 0 FROM staff_users WHERE username = 'cashier2'"),
            {"i": new_id(), "d": today - timedelta(days=1), "at": naive_utc(now_utc() - timedelta(days=1))})

    r = client.post("/api/v1/day-close", json={"business_date": today.isoformat()}, headers=supervisor)
    assert r.status_code == 201, r.get_json()
    closed_sha = r.get_json()["report_sha256"]
    failed_at_close = [c["code"] for c in r.get_json()["checks"] if not c["ok"]]
    # The sales are made at the real time of day: only the opening-hours rule may flag them.
    assert set(failed_at_close) <= {"sales_outside_hours"}, failed_at_close

    # Every write that belongs to the date is refused, with a clear 409.
    _refused_as_closed(client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=cashier))
    _refused_as_closed(_sell(client, cashier2, dish))
    _refused_as_closed(client.post(
        "/api/v1/sales", headers={**cashier2, "Idempotency-Key": str(uuid.uuid4())},
        json={"lines": [{"item_id": welfare["id"], "qty": 1}], "credential": {"scan": ticket["code_display"]},
              "due_fen": 0, "tender": {"method": "free"}}))
    _refused_as_closed(client.post(f"/api/v1/sales/{sale.get_json()['id']}/void", headers=supervisor,
                                   json={"reason": "顾客退餐", "supervisor": "supervisor", "pin": "1234"}))

    # The report is what the close froze, the books still say so, and every check passes.
    with app.extensions["canteen_db"].session() as s:
        report = service.build_daily(session=s, settings=settings, canteen_id="YLW01", business_date=today,
                                     now=now_utc())
        live = daily_data(session=s, canteen_id="YLW01", business_date=today,
                          default_cap=settings.policy.free_meal_cap(today), rules=anomaly_rules(settings))
        tickets_used = s.connection().execute(text(
            "SELECT COUNT(*) FROM subsidy_grants WHERE diner_key = :k"), {"k": f"ticket:{ticket['id']}"}).scalar()
    assert report.sha256 == closed_sha == sha256_text(daily_json(report.data))
    assert [c.code for c in report.checks if not c.ok] == failed_at_close  # no check started failing
    assert sha256_text(daily_json(live)) == closed_sha  # recomputed from the rows: unchanged
    assert tickets_used == 0
    assert report.data.summary.sales == 1 and len(report.data.shifts) == 1
