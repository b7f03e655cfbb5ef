"""A free-meal ticket is honoured once: a second sale with it — one after the other, or
two tills at the same instant — gets no free meal.  On SQLite and PostgreSQL."""
from __future__ import annotations

import threading
import uuid

from sqlalchemy import func
from sqlmodel import select

from pos.clock import business_date
from pos.models import SubsidyGrant
from support import api_token


def _open_till(client, username: str) -> tuple[dict, dict]:
    headers = api_token(client, username)
    r = client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=headers)
    assert r.status_code == 201, r.get_json()
    items = client.get("/api/v1/menu", headers=headers).get_json()["items"]
    return headers, next(i for i in items if i["welfare_meal"])


def _ticket(app, client) -> dict:
    day = business_date(app.config["CANTEEN"].default_canteen.timezone)
    r = client.post("/api/v1/tickets", json={"business_date": day.isoformat(), "count": 1},
                    headers=api_token(client, "registrar"))
    assert r.status_code == 201, r.get_json()
    return r.get_json()["tickets"][0]


def _sell_free(client, headers, item, scan: str):
    body = {"lines": [{"item_id": item["id"], "qty": 1}], "credential": {"scan": scan}, "due_fen": 0,
            "tender": {"method": "free"}}
    return client.post("/api/v1/sales", json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())})


def _live_grants(app, ticket_id: str) -> int:
    with app.extensions["canteen_db"].session() as s:
        return s.exec(select(func.count()).select_from(SubsidyGrant).where(
            SubsidyGrant.diner_key == f"ticket:{ticket_id}", SubsidyGrant.voided == False)).one()  # noqa: E712


def test_a_ticket_used_twice_is_refused_the_second_time(app, client):
    headers, welfare = _open_till(client, "cashier")
    ticket = _ticket(app, client)
    first = _sell_free(client, headers, welfare, ticket["url"])
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["subsidy_fen"] == welfare["price_fen"]

    lookup = client.post("/api/v1/credentials/lookup", json={"scan": ticket["code_display"]}, headers=headers)
    assert lookup.status_code == 200
    benefit = lookup.get_json()["benefit"]
    assert benefit["amount_fen"] == 0 and benefit["code"] == "limit_reached" and "已使用" in benefit["reason"]

    again = _sell_free(client, headers, welfare, ticket["code"])
    assert again.status_code == 409, again.get_json()  # the price is no longer 0: nothing recorded
    assert again.get_json()["quote"]["subsidy_fen"] == 0
    assert _live_grants(app, ticket["id"]) == 1


def test_a_ticket_presented_at_two_tills_at_once_gives_one_free_meal(app):
    clients = [app.test_client(), app.test_client()]
    tills = [_open_till(c, name) for c, name in zip(clients, ("cashier", "cashier2"))]
    ticket = _ticket(app, clients[0])
    start = threading.Barrier(2)
    answers: list = [None, None]

    def sell(i: int) -> None:
        headers, welfare = tills[i]
        start.wait()
        answers[i] = _sell_free(clients[i], headers, welfare, ticket["url"])

    threads = [threading.Thread(target=sell, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = sorted(a.status_code for a in answers)
    assert statuses[0] == 201 and 400 <= statuses[1] < 500, [a.get_json() for a in answers]
    assert _live_grants(app, ticket["id"]) == 1
