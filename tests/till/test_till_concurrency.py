"""Many tills at once, over real HTTP (waitress), on SQLite and PostgreSQL: the daily
free-meal cap holds exactly, a diner never gets two subsidised meals in a day, and an
Idempotency-Key never makes two sales."""
from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Date, bindparam, text

from support import api_token

CLIENTS = 8


def _tokens(client, n: int, username: str = "cashier") -> list[dict]:
    return [api_token(client, username) for _ in range(n)]


def _count(app, sql: str, **params) -> int:
    """A count over today's rows (the demo's week of history is older): ``:today`` is bound."""
    from pos.clock import business_date

    if ":today" in sql:
        params["today"] = business_date(app.config["CANTEEN"].default_canteen.timezone)
    with app.extensions["canteen_db"].session() as s:
        return s.execute(text(sql).bindparams(*(bindparam(k, type_=Date) for k in params if k == "today")),
                         params).scalar()


def _verify(app, canteen="YLW01"):
    from pos.store.ledger import verify_chain

    with app.extensions["canteen_db"].session() as s:
        result = verify_chain(session=s, canteen_id=canteen)
    assert result.ok, result.first_broken


def test_forty_free_meals_for_sixty_workers_at_eight_tills(app, client, till, workers, http):
    """Every worker's tablet quotes a free meal; all 60 sales race in over 8 connections;
    exactly 40 are free, the other 20 are refused with the new price and its reason."""
    _forty_of_sixty(app, client, till, workers, http)


def test_forty_free_meals_with_two_server_processes(app, client, till, workers, served_http):
    """The same race against `canteen serve --processes 2` (granian, and waitress): two
    app server processes on one database (on SQLite they queue on the shared writer lock;
    on PostgreSQL on the row locks), and still exactly 40."""
    _forty_of_sixty(app, client, till, workers, served_http)


def _forty_of_sixty(app, client, till, workers, http):
    welfare = till.welfare
    lines = [{"item_id": welfare["id"], "qty": 1}]
    tokens = _tokens(client, CLIENTS)
    # Every quote happens before any sale: each tablet shows "free" to its worker.
    for number in workers:
        q = till.quote(lines, {"id_number": number}).get_json()
        assert q["due_fen"] == 0 and q["subsidy"]["kind"] == "free_meal"
    clients = [http(h) for h in tokens]
    start = threading.Barrier(CLIENTS)
    results: list[tuple[str, int, dict]] = []
    lock = threading.Lock()

    def lane(i: int):
        h = clients[i]
        start.wait()
        for number in workers[i::CLIENTS]:
            body = {"lines": lines, "credential": {"id_number": number}, "due_fen": 0, "tender": {"method": "free"}}
            status, raw = h.call("POST", "/api/v1/sales", body, {"Idempotency-Key": str(uuid.uuid4())})
            with lock:
                results.append((number, status, json.loads(raw)))

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(lane, range(CLIENTS)))

    statuses = [status for _, status, _ in results]
    assert len(results) == 60
    assert all(s < 500 for s in statuses), statuses
    granted = [r for r in results if r[1] == 201]
    refused = [r for r in results if r[1] != 201]
    assert len(granted) == 40
    assert all(b["subsidy"]["kind"] == "free_meal" and b["due_fen"] == 0 for _, _, b in granted)
    assert len(refused) == 20
    for _, status, body in refused:
        assert status == 409 and body["error"]["code"] == "price_changed"
        assert body["quote"]["due_fen"] == welfare["price_fen"]
        assert body["quote"]["subsidy"]["code"] == "free_meals_gone"
        assert "已发完" in body["quote"]["subsidy"]["reason"]
    # The re-quoted diners pay the new price; nothing about them changed before.
    for number, _, body in refused:
        h = clients[0]
        status, raw = h.call("POST", "/api/v1/sales", {
            "lines": lines, "credential": {"id_number": number}, "due_fen": body["quote"]["due_fen"],
            "tender": {"method": "cash", "tendered_fen": 2000}}, {"Idempotency-Key": str(uuid.uuid4())})
        assert status == 201, raw
    assert _count(app, "SELECT COUNT(*) FROM subsidy_grants WHERE kind = 'free_meal' AND voided = FALSE "
                  "AND business_date = :today") == 40
    assert _count(app, "SELECT used FROM free_meal_counters WHERE canteen_id = 'YLW01' AND business_date = :today") == 40
    assert _count(app, "SELECT COUNT(*) FROM sales WHERE business_date = :today") == 60
    quota = client.get("/api/v1/quota/today", headers=till.headers).get_json()
    assert quota["free_meals"] == {"cap": 40, "used": 40, "left": 0}
    _verify(app)


def test_two_tills_cannot_give_one_diner_two_subsidised_meals(app, client, till, seniors, workers, http):
    """Two requests for the same diner arrive together (same canteen, and across two
    canteens of the district): one subsidised meal, the other refused with a reason."""
    jm = api_token(client, "jm-cashier")
    r = client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=jm)
    assert r.status_code == 201
    jm_menu = client.get("/api/v1/menu", headers=jm).get_json()["items"]
    jm_welfare = next(i for i in jm_menu if i["welfare_meal"])
    ylw = till.welfare
    pairs = []  # (diner, [(headers, item)] for the two simultaneous requests)
    for number in seniors[:5]:
        pairs.append((number, [(till.headers, ylw), (api_token(client, "cashier"), ylw)]))
    for number in seniors[5:]:
        pairs.append((number, [(till.headers, ylw), (jm, jm_welfare)]))
    for number in workers[:5]:
        pairs.append((number, [(till.headers, ylw), (jm, jm_welfare)]))
    for number, sides in pairs:
        quotes = []
        for headers, item in sides:
            q = client.post("/api/v1/sales/quote", headers=headers,
                            json={"lines": [{"item_id": item["id"], "qty": 1}], "credential": {"id_number": number}})
            quotes.append(q.get_json())
            assert quotes[-1]["subsidy_fen"] > 0
        conns = [http(headers) for headers, _ in sides]
        start = threading.Barrier(2)
        out = [None, None]

        def go(i):
            headers, item = sides[i]
            body = {"lines": [{"item_id": item["id"], "qty": 1}], "credential": {"id_number": number},
                    "due_fen": quotes[i]["due_fen"],
                    "tender": {"method": "free"} if quotes[i]["due_fen"] == 0 else
                    {"method": "cash", "tendered_fen": quotes[i]["due_fen"]}}
            start.wait()
            status, raw = conns[i].call("POST", "/api/v1/sales", body, {"Idempotency-Key": str(uuid.uuid4())})
            out[i] = (status, json.loads(raw))

        threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(s for s, _ in out)
        assert statuses == [201, 409], out
        refused = next(b for s, b in out if s == 409)
        code = refused["error"]["code"]
        assert code in ("price_changed", "limit_reached")
        reason = refused["quote"]["subsidy"]["reason"] if code == "price_changed" else refused["error"]["message_zh"]
        assert "已享受过补贴餐" in reason
    assert _count(app, "SELECT COUNT(*) FROM subsidy_grants WHERE voided = FALSE AND business_date = :today") == len(pairs)
    assert _count(app, "SELECT COUNT(DISTINCT diner_key) FROM subsidy_grants WHERE business_date = :today") == len(pairs)
    _verify(app, "YLW01")
    _verify(app, "JM01")


def test_one_hundred_retries_of_one_sale_make_one_sale(app, client, till, seniors, voucher_for, http):
    """The same Idempotency-Key and body, 100 times, 10 at a time: one sale, and every
    answer is the first answer, byte for byte."""
    url = voucher_for(seniors[0])
    lines = [{"item_id": till.welfare["id"], "qty": 1}, {"item_id": till.item(name="米饭")["id"], "qty": 2}]
    q = till.quote(lines, {"scan": url}).get_json()
    assert q["subsidy_fen"] == 300
    body = {"lines": lines, "credential": {"scan": url}, "due_fen": q["due_fen"],
            "tender": {"method": "cash", "tendered_fen": 5000}}
    key = str(uuid.uuid4())
    conns = [http(till.headers) for _ in range(10)]

    def burst(i):
        return [conns[i].call("POST", "/api/v1/sales", body, {"Idempotency-Key": key}) for _ in range(10)]

    with ThreadPoolExecutor(10) as pool:
        answers = [a for batch in pool.map(burst, range(10)) for a in batch]
    assert len(answers) == 100
    assert {status for status, _ in answers} == {201}
    assert len({raw for _, raw in answers}) == 1
    sale = json.loads(answers[0][1])
    assert sale["change_fen"] == 5000 - q["due_fen"] and sale["subsidy"]["amount_fen"] == 300
    assert _count(app, "SELECT COUNT(*) FROM sales WHERE id = :i", i=sale["id"]) == 1
    assert _count(app, "SELECT COUNT(*) FROM sales WHERE business_date = :today") == 1
    assert _count(app, "SELECT COUNT(*) FROM audit_log WHERE action = 'sale_recorded' AND target = :i", i=sale["id"]) == 1
    # The same key with another body is refused, and records nothing.
    other = dict(body, tender={"method": "cash", "tendered_fen": 10000})
    status, raw = conns[0].call("POST", "/api/v1/sales", other, {"Idempotency-Key": key})
    assert status == 422 and json.loads(raw)["error"]["code"] == "idempotency_key_reused"
    _verify(app)
