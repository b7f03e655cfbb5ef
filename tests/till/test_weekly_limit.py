"""A weekly limit on subsidised meals (Shenzhen Longgang: one a day, at most five a week),
through the real sale path, on SQLite and PostgreSQL.

The policy here takes effect on Wednesday 9 December 2026 with ``per_week = 5``; the
version before it has no weekly limit, so the meals of Monday and Tuesday are counted
when the first weekly claim of the week is made.  JM01 keeps its clock in Asia/Urumqi
(UTC+6): at 01:00 on Saturday in Beijing it is still Friday 23:00 there, so two tills of
the district can sell the same diner a meal on two different business dates at once —
where the one-a-day rule cannot help and only the weekly limit stands between the diner
and a sixth subsidised meal.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from support import api_token, copy_sqlite, make_settings, pg_clone, pg_drop

MONDAY = date(2026, 12, 7)
CAP = 5
WEEKLY_WORDS = "本周补贴次数已用完（每周 5 次）"


def _settings(url, tmp_path):
    settings = make_settings(url, tmp_path)
    first = settings.policy.versions[0]
    weekly = replace(first, version="2026-12-weekly", effective_from=MONDAY + timedelta(days=2), per_week=CAP)
    policy = replace(settings.policy, versions=(first, weekly))
    canteens = tuple(replace(c, timezone="Asia/Urumqi") if c.code == "JM01" else c for c in settings.canteens)
    # The clock moves through a week and more; the tills' tokens must outlive it.
    security = replace(settings.security, token_hours=24 * 10)
    return replace(settings, policy=policy, canteens=canteens, security=security)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """``clock("2026-12-07T12:00")`` sets the district's clock (Beijing time)."""
    def set_to(local: str) -> None:
        monkeypatch.setenv("CANTEEN_NOW", local + ":00+08:00")

    set_to(f"{MONDAY}T11:00")
    return set_to


@pytest.fixture(params=["sqlite", "postgres"])
def app(request, tmp_path, demo_templates, clock):
    """The demo canteen with the weekly policy (overrides the shared ``app``)."""
    from pos import create_app

    with pytest.MonkeyPatch.context() as real_time:  # the shared demo is built on today's clock
        real_time.delenv("CANTEEN_NOW", raising=False)
        template = demo_templates("sqlite" if request.param == "sqlite" else "postgres")
    if request.param == "sqlite":
        target = tmp_path / "canteen.db"
        copy_sqlite(template, target)
        url, name = f"sqlite:///{target}", None
    else:
        url, name = pg_clone(template)
    app = create_app({"CANTEEN": _settings(url, tmp_path), "TESTING": True})
    yield app
    app.extensions["canteen_db"].dispose()
    if name:
        pg_drop(name)


@pytest.fixture
def diner(seniors):
    """A registered resident aged 70 (¥3.00 off), by resident ID number."""
    return seniors[0]


def _rows(app, sql: str, **params) -> list[tuple]:
    with app.extensions["canteen_db"].session() as s:
        return [tuple(r) for r in s.execute(text(sql), params).all()]


def _week(app, monday: date = MONDAY) -> tuple[int, list[tuple]]:
    """The live grants of the week (every canteen) and the week's counter rows (used, cap)."""
    grants = [d for (d,) in _rows(app, "SELECT business_date FROM subsidy_grants WHERE voided = :no", no=False)
              if monday <= (d if isinstance(d, date) else date.fromisoformat(d)) <= monday + timedelta(days=6)]
    counters = [(used, cap) for week, used, cap in _rows(app, "SELECT week_start, used, cap FROM weekly_subsidy_counters")
                if str(week) == monday.isoformat()]
    return len(grants), counters


def _verify(app, *canteens):
    from pos.store.ledger import verify_chain

    with app.extensions["canteen_db"].session() as s:
        for canteen in canteens:
            result = verify_chain(session=s, canteen_id=canteen)
            assert result.ok, result.first_broken


def _lunch(till):
    return [{"item_id": till.item(welfare=False)["id"], "qty": 1}]


def test_the_sixth_meal_of_the_week_is_refused_and_monday_starts_a_new_week(app, client, till, diner, clock):
    lines, cred = _lunch(till), {"id_number": diner}
    jm = api_token(client, "jm-cashier")
    assert client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=jm).status_code == 201
    jm_lines = [{"item_id": next(i for i in client.get("/api/v1/menu", headers=jm).get_json()["items"]
                                 if not i["welfare_meal"])["id"], "qty": 1}]
    sales = []
    for day in range(5):  # Monday to Friday, Thursday's at the other canteen of the district
        clock(f"{MONDAY + timedelta(days=day)}T12:00")
        if day == 3:
            r = client.post("/api/v1/sales", headers={**jm, "Idempotency-Key": str(uuid.uuid4())}, json={
                "lines": jm_lines, "credential": cred, "tender": {"method": "cash", "tendered_fen": 5000},
                "due_fen": client.post("/api/v1/sales/quote", headers=jm,
                                       json={"lines": jm_lines, "credential": cred}).get_json()["due_fen"]})
        else:
            r = till.sell(lines, cred)
        assert r.status_code == 201, r.get_json()
        assert r.get_json()["subsidy"]["amount_fen"] == 300
        sales.append(r.get_json())
    # Monday and Tuesday were sold before the weekly limit took effect: they count all the same.
    assert _week(app) == (5, [(5, CAP)])

    clock(f"{MONDAY + timedelta(days=5)}T12:00")  # Saturday
    q = till.quote(lines, cred).get_json()
    assert q["subsidy_fen"] == 0 and q["subsidy"]["code"] == "weekly_limit_reached"
    assert WEEKLY_WORDS in q["subsidy"]["reason"]
    full = q["due_fen"]
    # A till still showing the discount is told the new amount and why; nothing is recorded.
    r = till.sell(lines, cred, due_fen=full - 300)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "price_changed"
    assert r.get_json()["quote"]["due_fen"] == full
    assert r.get_json()["quote"]["subsidy"]["code"] == "weekly_limit_reached"
    assert _rows(app, "SELECT COUNT(*) FROM sales WHERE business_date = :d", d=MONDAY + timedelta(days=5)) == [(0,)]
    # The cashier confirms the menu price with the diner: sold, and the sale says why.
    r = till.sell(lines, cred, due_fen=full)
    assert r.status_code == 201, r.get_json()
    sixth = r.get_json()
    assert sixth["subsidy_fen"] == 0 and sixth["subsidy"]["code"] == "weekly_limit_reached"
    assert _rows(app, "SELECT code, reason_zh FROM sale_decisions WHERE sale_id = :i", i=sixth["id"]) == [
        ("weekly_limit_reached", q["subsidy"]["reason"])]
    assert _week(app) == (5, [(5, CAP)])

    # A void of Tuesday's meal gives the week one back.
    r = client.post(f"/api/v1/sales/{sales[1]['id']}/void", headers=till.headers,
                    json={"reason": "点错了", "supervisor": "supervisor", "pin": "1234"})
    assert r.status_code == 200, r.get_json()
    assert _week(app) == (4, [(4, CAP)])
    r = till.sell(lines, cred)
    assert r.status_code == 201 and r.get_json()["subsidy"]["amount_fen"] == 300
    assert _week(app) == (5, [(5, CAP)])

    clock(f"{MONDAY + timedelta(days=6)}T23:59")  # still Sunday in Beijing
    assert till.quote(lines, cred).get_json()["subsidy"]["code"] == "weekly_limit_reached"
    clock(f"{MONDAY + timedelta(days=7)}T00:30")  # Monday: a new week
    r = till.sell(lines, cred)
    assert r.status_code == 201 and r.get_json()["subsidy"]["amount_fen"] == 300
    assert _week(app, MONDAY + timedelta(days=7)) == (1, [(1, CAP)])
    _verify(app, "YLW01", "JM01")


def test_eight_tills_at_two_canteens_race_the_diners_last_meal_of_the_week(app, client, till, diner, clock, http):
    """Four meals on Monday to Thursday; then, at 01:00 on Saturday in Beijing (23:00 on
    Friday at JM01), eight tills — four at each canteen — sell the diner a subsidised
    meal at once: one is granted, seven are refused with their reason.  Then eight more
    race the sixth: all refused, the week's reason, nothing more granted."""
    lines, cred = _lunch(till), {"id_number": diner}
    for day in range(4):
        clock(f"{MONDAY + timedelta(days=day)}T12:00")
        r = till.sell(lines, cred)
        assert r.status_code == 201 and r.get_json()["subsidy"]["amount_fen"] == 300, r.get_json()

    jm = api_token(client, "jm-cashier")
    assert client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=jm).status_code == 201
    jm_lines = [{"item_id": next(i for i in client.get("/api/v1/menu", headers=jm).get_json()["items"]
                                 if not i["welfare_meal"])["id"], "qty": 1}]
    clock(f"{MONDAY + timedelta(days=5)}T01:00")
    tills = [("YLW01", api_token(client, "cashier"), lines) for _ in range(4)]
    tills += [("JM01", api_token(client, "jm-cashier"), jm_lines) for _ in range(4)]
    quotes = []
    for _, headers, its_lines in tills:  # every tablet shows the discount before any sale
        q = client.post("/api/v1/sales/quote", headers=headers, json={"lines": its_lines, "credential": cred})
        assert q.status_code == 200 and q.get_json()["subsidy_fen"] == 300, q.get_json()
        quotes.append(q.get_json())
    assert {q["business_date"] for q in quotes} == {str(MONDAY + timedelta(days=4)), str(MONDAY + timedelta(days=5))}

    def race() -> list[tuple[str, int, dict]]:
        conns = [http(headers) for _, headers, _ in tills]
        start = threading.Barrier(len(tills))
        out: list = [None] * len(tills)

        def go(i):
            canteen, _, its_lines = tills[i]
            body = {"lines": its_lines, "credential": cred, "due_fen": quotes[i]["due_fen"],
                    "tender": {"method": "cash", "tendered_fen": 5000}}
            start.wait()
            status, raw = conns[i].call("POST", "/api/v1/sales", body, {"Idempotency-Key": str(uuid.uuid4())})
            out[i] = (canteen, status, json.loads(raw))

        threads = [threading.Thread(target=go, args=(i,)) for i in range(len(tills))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return out

    def reason_of(body: dict) -> tuple[str, str]:
        code = body["error"]["code"]
        if code == "price_changed":
            return body["quote"]["subsidy"]["code"], body["quote"]["subsidy"]["reason"]
        return code, body["error"]["message_zh"]

    first = race()
    granted = [r for r in first if r[1] == 201]
    assert len(granted) == 1, first
    winner = granted[0][0]
    assert granted[0][2]["subsidy"]["amount_fen"] == 300
    for canteen, status, body in first:
        if status == 201:
            continue
        assert status == 409, body
        code, words = reason_of(body)
        if canteen == winner:  # the same business date: the one-a-day rule may say it first
            assert code in ("weekly_limit_reached", "limit_reached"), body
        else:  # another business date: only the week stands in the way
            assert code == "weekly_limit_reached" and WEEKLY_WORDS in words, body
    assert _week(app) == (CAP, [(CAP, CAP)])

    # The diner's sixth meal of the week, raced by eight tills again: all refused.
    second = race()
    assert [status for _, status, _ in second] == [409] * len(tills), second
    for canteen, _, body in second:
        code, words = reason_of(body)
        if canteen == winner:
            assert code in ("weekly_limit_reached", "limit_reached"), body
        else:
            assert code == "weekly_limit_reached" and WEEKLY_WORDS in words, body
    assert _week(app) == (CAP, [(CAP, CAP)])
    assert _rows(app, "SELECT COUNT(*) FROM sales WHERE receipt_no > 0 AND sold_at >= :t",
                 t="2026-12-11 00:00:00") == [(1,)]
    _verify(app, "YLW01", "JM01")


def test_a_second_transaction_waits_for_the_first_and_finds_the_week_used_up(app, client, till, diner, clock):
    """The race above, one step at a time: JM01's sale of the diner's fifth meal is
    recorded but not yet committed when YLW01's, on another business date, begins.  The
    second waits (on PostgreSQL on the week's counter row, on SQLite for the writer) and,
    once the first commits, is refused with the new quote and the week's reason."""
    from pos.clock import now_utc
    from pos.refusal import Refusal
    from pos.store.credentials import CredentialRequest
    from pos.store.idempotency import Answer
    from pos.store.pricing import LineRequest
    from pos.store.sales import Actor, SaleOrder, TenderRequest, record_sale

    lines, cred = _lunch(till), {"id_number": diner}
    for day in range(4):
        clock(f"{MONDAY + timedelta(days=day)}T12:00")
        assert till.sell(lines, cred).get_json()["subsidy"]["amount_fen"] == 300
    jm = api_token(client, "jm-cashier")
    assert client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=jm).status_code == 201
    jm_item = next(i for i in client.get("/api/v1/menu", headers=jm).get_json()["items"] if not i["welfare_meal"])
    clock(f"{MONDAY + timedelta(days=5)}T01:00")
    staff = dict(_rows(app, "SELECT username, id FROM staff_users"))
    settings, db = app.config["CANTEEN"], app.extensions["canteen_db"]

    def order(canteen, username, item):
        return SaleOrder(canteen_id=canteen, cashier=Actor(staff[username], username),
                         idempotency_key=str(uuid.uuid4()), lines=(LineRequest(item["id"], 1),),
                         credential=CredentialRequest(scan=None, id_number=diner),
                         due_fen=item["price_fen"] - 300, tender=TenderRequest("cash", 5000), instant=now_utc())

    def kept(sale):
        return Answer(201, sale.id)

    outcome: dict = {}

    def second():
        try:
            with db.tx(write=True) as tx:
                outcome["sale"] = record_sale(tx, settings=settings, order=order("YLW01", "cashier", till.item(
                    welfare=False)), answer=kept)
        except Refusal as e:
            outcome["refusal"] = e

    with ExitStack() as first:
        tx = first.enter_context(db.tx(write=True))
        recorded = record_sale(tx, settings=settings, order=order("JM01", "jm-cashier", jm_item), answer=kept)
        assert recorded.sale.subsidy_fen == 300 and str(recorded.sale.business_date) == "2026-12-11"
        waiting = threading.Thread(target=second)
        waiting.start()
        time.sleep(0.5)
        assert waiting.is_alive(), outcome  # it waits for the first transaction
    waiting.join(10)
    refusal = outcome.get("refusal")
    assert refusal is not None and refusal.code == "price_changed", outcome
    again = refusal.extra["quote"]
    assert again.decision.code == "weekly_limit_reached" and WEEKLY_WORDS in again.decision.reason_zh
    assert again.due_fen == till.item(welfare=False)["price_fen"]
    assert _week(app) == (CAP, [(CAP, CAP)])
