"""Syncing sales a till made offline, on SQLite and PostgreSQL: each is recorded once,
through the same path as any sale, at the tablet's time with the clock difference; the
money the diner paid is a fact; a subsidy the server would not grant becomes a serving
exception (recorded, never claimed); a time in the future or on another date is refused
with a reason; a sale of a closed day is kept, not lost; day close waits for the tills."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from till.offline_helpers import offline_sale, send
from till.conftest import register
from till.device_helpers import books, device_headers, register_device, scalar, today
from support import api_token


@pytest.fixture
def device(client):
    return register_device(client)


@pytest.fixture
def on_device(till, device):
    return device_headers(till.headers, device)


@pytest.fixture
def eighty(app):
    """3 registered residents aged 85 (the 80+ tier: ¥7.00 off)."""
    return register(app, n=3, years=85, worker_category=None, seq_base=900)


def lease_of(client, headers) -> dict:
    r = client.post("/api/v1/devices/lease", headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


#: The anomaly checks of opening hours: the sales of these tests are a few minutes before
#: the run, whatever the hour; the reconciliation's own checks must all pass.
HOURS = {"free_meal_before_opening", "sales_outside_hours"}


def failed_checks(data) -> list:
    return [(c.code, c.detail_en) for c in data.checks if not c.ok and c.code not in HOURS]


def daily(app):
    from reports.queries import daily_data

    settings = app.config["CANTEEN"]
    with app.extensions["canteen_db"].session() as s:
        return daily_data(session=s, canteen_id="YLW01", business_date=today(app),
                          default_cap=settings.policy.free_meal_cap(today(app)))


def twenty_sales(till, on_device, device, lease, seniors, eighty, workers, voucher_for):
    """The 20 sales of a lunch rush with the network gone, as the till queued them."""
    paid, welfare = till.item(welfare=False), till.welfare
    start = datetime.now(timezone.utc) - timedelta(minutes=30)
    queue = []

    def add(lines, credential=None, subsidy=(None, 0), lease_id=None):
        queue.append(dict(lines=lines, credential=credential, subsidy=subsidy, lease_id=lease_id,
                          no=len(queue) + 1, sold_at=start + timedelta(minutes=len(queue))))

    for _ in range(5):
        add([(paid, 1), (welfare, 1)])
    for number in seniors[:4]:
        add([(paid, 1)], {"scan": voucher_for(number)}, ("age_tier", 300))
    for number in eighty:
        add([(paid, 2)], {"id_number": number}, ("age_tier", 700))
    for number in workers[:5]:
        add([(welfare, 1)], {"id_number": number}, ("free_meal", welfare["price_fen"]), lease["lease_id"])
    for number in seniors[:3]:  # a second meal: the till refused the subsidy, the diner paid in full
        add([(paid, 1)], {"id_number": number})
    return queue


def test_twenty_offline_sales_sync_once_at_the_tablets_times_and_the_daily_report_is_right(
        app, client, till, device, on_device, seniors, eighty, workers, voucher_for):
    lease = lease_of(client, on_device)
    queue = twenty_sales(till, on_device, device, lease, seniors, eighty, workers, voucher_for)
    answers = []
    for sale in queue:
        r, body, key = offline_sale(till, on_device, device, clock_behind_s=90, **sale)
        assert r.status_code == 201, r.get_json()
        answers.append((body, key, r.get_json()))
    assert scalar(app, "SELECT COUNT(*) FROM offline_sales") == 20
    recorded = dict(scalar_rows(app, "SELECT o.offline_no, s.sold_at FROM offline_sales o "
                                     "JOIN sales s ON s.id = o.sale_id"))
    for sale in queue:  # the tablet's time, as stored (naive UTC)
        assert datetime.fromisoformat(str(recorded[sale["no"]])) == sale["sold_at"].replace(tzinfo=None)
    offsets = [row[0] for row in scalar_rows(app, "SELECT clock_offset_ms FROM offline_sales")]
    assert all(85_000 <= offset <= 120_000 for offset in offsets), offsets  # the tablet is 90 s behind

    # The same batch again (the answers were lost): the first answers, nothing recorded twice.
    for body, key, first in answers:
        again = send(client, on_device, body, key)
        assert again.status_code == 201 and again.get_json() == first
    assert scalar(app, "SELECT COUNT(*) FROM sales WHERE business_date = :today") == 20
    assert scalar(app, "SELECT COUNT(*) FROM serving_exceptions") == 0

    welfare_fen = till.welfare["price_fen"]
    close_shift(client, till)
    data = daily(app)
    assert data.summary.sales == 20
    assert data.summary.subsidy_fen == 4 * 300 + 3 * 700 + 5 * welfare_fen
    assert failed_checks(data) == []
    # The five free meals came out of the till's lease, not the counter again.
    assert books(app)[2:] == (5, 5, 0)


def scalar_rows(app, sql: str):
    from sqlalchemy import text

    with app.extensions["canteen_db"].session() as s:
        return [tuple(r) for r in s.execute(text(sql))]


def test_the_same_diner_served_at_two_offline_tills_is_one_grant_and_one_serving_exception(
        app, client, till, device, on_device, eighty, voucher_for):
    second = register_device(client, "2号收银台")
    on_second = device_headers(till.headers, second)
    voucher = {"scan": voucher_for(eighty[0])}
    paid = till.item(welfare=False)
    first, _, _ = offline_sale(till, on_device, device, lines=[(paid, 1)], credential=voucher,
                               subsidy=("age_tier", 700))
    other, _, _ = offline_sale(till, on_second, second, lines=[(paid, 1)], credential=voucher,
                               subsidy=("age_tier", 700))
    assert first.status_code == 201 and other.status_code == 201, other.get_json()
    assert other.get_json()["subsidy_fen"] == 700  # what the diner was charged stands
    assert scalar(app, "SELECT COUNT(*) FROM subsidy_grants WHERE business_date = :today") == 1
    code, amount, sale_id = scalar_rows(app, "SELECT code, amount_fen, sale_id FROM serving_exceptions")[0]
    assert (code, amount, sale_id) == ("limit_reached", 700, other.get_json()["id"])
    close_shift(client, till)
    data = daily(app)
    assert [(x.receipt_no, x.amount_fen) for x in data.exceptions] == [(other.get_json()["receipt_no"], 700)]
    assert failed_checks(data) == []


@pytest.mark.parametrize("shift, code, status", [
    (timedelta(hours=1), "offline_time_future", 422),
    (timedelta(days=-30), "offline_other_date", 409),  # before the demo's closed week
])
def test_a_tablet_time_in_the_future_or_on_another_date_is_refused_with_both_times(
        app, till, device, on_device, shift, code, status):
    sold_at = datetime.now(timezone.utc) + shift
    r, _, _ = offline_sale(till, on_device, device, lines=[(till.item(welfare=False), 1)], sold_at=sold_at)
    assert r.status_code == status and r.get_json()["error"]["code"] == code
    if code == "offline_other_date":
        message = r.get_json()["error"]["message_zh"]
        assert (today(app) + timedelta(days=-30)).isoformat() in message and today(app).isoformat() in message
    assert scalar(app, "SELECT COUNT(*) FROM offline_sales") == 0


def test_an_offline_sale_needs_the_device_header_of_the_till_it_names(app, client, till, device):
    r, _, _ = offline_sale(till, till.headers, device, lines=[(till.item(welfare=False), 1)])
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "device_required"
    other = register_device(client, "2号收银台")
    r, _, _ = offline_sale(till, device_headers(till.headers, other), device, lines=[(till.item(welfare=False), 1)])
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "offline_device_mismatch"


def test_the_price_the_till_charged_is_recorded_even_when_the_menu_changed_since(app, till, device, on_device):
    paid = dict(till.item(welfare=False))
    charged = {**paid, "price_fen": paid["price_fen"] - 100}  # the price in the till's kit, before a rise
    r, _, _ = offline_sale(till, on_device, device, lines=[(charged, 2)])
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["gross_fen"] == 2 * charged["price_fen"]


def close_shift(client, till):
    shift = client.get("/api/v1/shifts/current", headers=till.headers).get_json()["shift"]
    r = client.post(f"/api/v1/shifts/{shift['id']}/close", json={"counted_cash_fen": shift["opening_float_fen"]},
                    headers=till.headers)
    assert r.status_code == 200, r.get_json()


def test_a_sale_for_a_closed_day_is_kept_for_a_correction_and_answered_202(app, client, till, device, on_device):
    yesterday = today(app) - timedelta(days=1)
    boss = api_token(client, "supervisor")
    closed = client.post("/api/v1/day-close", json={"business_date": yesterday.isoformat()}, headers=boss)
    assert closed.status_code in (201, 409), closed.get_json()  # the demo's history may have closed it
    noon = datetime.fromisoformat(f"{yesterday.isoformat()}T12:00:00+08:00")
    r, body, key = offline_sale(till, on_device, device, lines=[(till.item(welfare=False), 1)], sold_at=noon)
    assert r.status_code == 202, r.get_json()
    assert r.get_json()["code"] == "day_closed_offline_sale_kept"
    again = send(client, on_device, body, key)
    assert again.status_code == 202 and again.get_json() == r.get_json()
    assert scalar_rows(app, "SELECT business_date, idempotency_key FROM late_offline_sales") == [
        (scalar_rows(app, "SELECT business_date FROM late_offline_sales")[0][0], key)]
    assert scalar(app, "SELECT COUNT(*) FROM offline_sales") == 0


def test_day_close_waits_for_a_till_with_queued_sales_unless_a_supervisor_gives_a_reason(
        app, client, till, device, on_device):
    beat = client.post("/api/v1/devices/heartbeat", json={"queued": 3}, headers=on_device)
    assert beat.status_code == 200, beat.get_json()
    close_shift(client, till)
    boss = api_token(client, "supervisor")
    day = today(app).isoformat()
    refused = client.post("/api/v1/day-close", json={"business_date": day}, headers=boss)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "tills_unsynced"
    assert "1号收银台" in refused.get_json()["error"]["message_zh"] and "3" in refused.get_json()["error"]["message_zh"]
    closed = client.post("/api/v1/day-close", json={"business_date": day, "override_unsynced_reason": "平板摔坏，无法联网"},
                         headers=boss)
    assert closed.status_code == 201, closed.get_json()
    assert scalar(app, "SELECT COUNT(*) FROM audit_log WHERE action = 'day_close_unsynced_override'") == 1
    assert "平板摔坏" in scalar(app, "SELECT detail FROM audit_log WHERE action = 'day_close_unsynced_override'")
