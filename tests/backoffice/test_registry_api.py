"""The registry API: diners, vouchers, tickets and menu items; roles, scope and refusals.
On SQLite and PostgreSQL."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from backoffice.bo_helpers import make_id_number
from pos.clock import business_date
from support import api_token


@pytest.fixture
def registrar(client):
    return api_token(client, "registrar")


def new_diner(client, headers, n=1, **extra):
    body = {"name": "赵大伯", "id_number": make_id_number(n, date(1946, 4, 5)), "resident": True, **extra}
    return client.post("/api/v1/diners", json=body, headers=headers)


def test_register_a_diner_and_issue_and_revoke_vouchers(client, registrar):
    r = new_diner(client, registrar, worker_category="sanitation_worker", worker_proof="环卫所证明")
    assert r.status_code == 201, r.get_json()
    d = r.get_json()
    assert d["masked_id"].startswith("3302") and d["masked_id"].count("*") == 10
    assert d["birth_date"] == "1946-04-05" and d["worker_verified"] is True and d["voucher"] is None
    first = client.post(f"/api/v1/diners/{d['id']}/vouchers", headers=registrar)
    assert first.status_code == 201
    v1 = first.get_json()
    assert v1["url"].endswith("/v/" + v1["token"]) and len(v1["code"]) == 9 and v1["version"] == 1
    valid_until = date.fromisoformat(v1["valid_until"])
    assert valid_until - business_date("Asia/Shanghai") == timedelta(days=365)
    v2 = client.post(f"/api/v1/diners/{d['id']}/vouchers", headers=registrar).get_json()
    assert v2["version"] == 2 and v2["token"] != v1["token"] and v2["code"] != v1["code"]
    cashier = api_token(client, "cashier")
    old = client.post("/api/v1/credentials/lookup", json={"scan": v1["url"]}, headers=cashier)
    assert old.status_code == 422 and old.get_json()["error"]["code"] == "voucher_superseded"
    r = client.post(f"/api/v1/vouchers/{v2['id']}/revoke", headers=registrar)
    assert r.status_code == 200 and r.get_json()["status"] == "revoked"
    assert client.post(f"/api/v1/vouchers/{v2['id']}/revoke", headers=registrar).status_code == 409
    gone = client.post("/api/v1/credentials/lookup", json={"scan": v2["code"]}, headers=cashier)
    assert gone.status_code == 422 and gone.get_json()["error"]["code"] == "voucher_revoked"
    assert client.post(f"/api/v1/vouchers/{'0' * 20}/revoke", headers=registrar).status_code == 404


BAD_REGISTRATIONS = [
    ({"id_number": "330205194604050"}, "resident_id_first_generation"),
    ({"id_number": "990205194604050011"}, "resident_id_region"),
    ({"name": ""}, "invalid_request"),
    ({"resident": "yes"}, "invalid_request"),
    ({"worker_category": "chef"}, "invalid_request"),
    ({"id_hmac": "x"}, "invalid_request"),
    ({"phone": "call me"}, "invalid_phone"),
]


def test_bad_registrations_are_refused_and_change_nothing(client, registrar):
    for body, code in BAD_REGISTRATIONS:
        r = new_diner(client, registrar, **body)
        assert r.status_code == 422 and r.get_json()["error"]["code"] == code, (body, r.get_json())
    assert new_diner(client, registrar).status_code == 201  # nothing half-written stood in the way


def test_roles_and_community_scope(client, registrar):
    cashier = api_token(client, "cashier")
    assert new_diner(client, cashier).status_code == 403
    assert new_diner(client, registrar, community="景明社区").status_code == 403
    admin = api_token(client, "admin")
    other = new_diner(client, admin, n=2, community="景明社区")
    assert other.status_code == 201 and other.get_json()["community"] == "景明社区"
    assert client.post(f"/api/v1/diners/{other.get_json()['id']}/vouchers", headers=registrar).status_code == 404
    assert new_diner(client, registrar, n=2).status_code == 409  # one registration per ID number
    assert client.post("/api/v1/menu/items", json={"name": "x", "price_fen": 1, "category": "y"},
                       headers=registrar).status_code == 403


def test_tickets_default_to_the_days_cap_and_are_refused_beyond_it(client):
    supervisor = api_token(client, "supervisor")
    day = business_date("Asia/Shanghai") + timedelta(days=1)
    r = client.post("/api/v1/tickets", json={"business_date": day.isoformat(), "count": 15}, headers=supervisor)
    assert r.status_code == 201 and r.get_json()["count"] == 15
    rest = client.post("/api/v1/tickets", json={"business_date": day.isoformat()}, headers=supervisor)
    assert rest.status_code == 201 and rest.get_json()["count"] == 25
    codes = {t["code"] for t in r.get_json()["tickets"] + rest.get_json()["tickets"]}
    assert len(codes) == 40 and all(len(c) == 10 for c in codes)
    more = client.post("/api/v1/tickets", json={"business_date": day.isoformat(), "count": 1}, headers=supervisor)
    assert more.status_code == 409 and more.get_json()["error"]["code"] == "tickets_exceed_cap"
    for body in ({"business_date": "2020-01-01", "count": 1}, {"business_date": "soon"},
                 {"business_date": day.isoformat(), "count": 0}, {"business_date": day.isoformat(), "count": "3"},
                 {"business_date": day.isoformat(), "canteen": "JM01"}):
        r = client.post("/api/v1/tickets", json=body, headers=supervisor)
        assert r.status_code in (403, 422), (body, r.get_json())
    assert client.post("/api/v1/tickets", json={"business_date": day.isoformat()},
                       headers=api_token(client, "cashier")).status_code == 403
    sheet = client.get(r.get_json().get("sheet_pdf") or f"/api/v1/tickets/sheet.pdf?business_date={day}",
                       headers=supervisor)
    assert sheet.status_code == 200 and sheet.data.startswith(b"%PDF")


def test_menu_items_in_fen_and_a_price_change_leaves_past_sales_alone(client):
    admin = api_token(client, "admin")
    r = client.post("/api/v1/menu/items", json={"name": "红烧狮子头", "price_fen": 1800, "category": "荤菜"},
                    headers=admin)
    assert r.status_code == 201, r.get_json()
    item = r.get_json()
    for bad in ({"price_fen": -1}, {"price_fen": 12.5}, {"price_fen": "1800"}, {"price_fen": 10_000_000},
                {"name": ""}, {"colour": "red"}, {"price_fen": None}):
        r = client.patch(f"/api/v1/menu/items/{item['id']}", json=bad, headers=admin)
        assert r.status_code == 422, (bad, r.get_json())
    dup = client.post("/api/v1/menu/items", json={"name": "红烧狮子头", "price_fen": 1, "category": "荤菜"}, headers=admin)
    assert dup.status_code == 409

    cashier = api_token(client, "cashier")
    assert client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=cashier).status_code == 201
    sale = client.post("/api/v1/sales", json={"lines": [{"item_id": item["id"], "qty": 2}], "due_fen": 3600,
                                              "tender": {"method": "cash", "tendered_fen": 4000}},
                       headers={**cashier, "Idempotency-Key": str(uuid.uuid4())})
    assert sale.status_code == 201, sale.get_json()
    r = client.patch(f"/api/v1/menu/items/{item['id']}", json={"price_fen": 2000, "name": "狮子头"}, headers=admin)
    assert r.status_code == 200 and r.get_json()["price_fen"] == 2000
    past = client.get(f"/api/v1/sales/{sale.get_json()['id']}", headers=cashier).get_json()
    line = past["lines"][0]
    assert line["unit_price_fen"] == 1800 and line["name"] == "红烧狮子头" and past["gross_fen"] == 3600
    assert client.patch(f"/api/v1/menu/items/{'0' * 20}", json={"price_fen": 1}, headers=admin).status_code == 404


def test_voucher_cards_pdf_from_the_api(client, registrar):
    r = client.get("/api/v1/vouchers/cards.pdf", headers=registrar)
    assert r.status_code == 200 and r.data.startswith(b"%PDF") and r.headers["Cache-Control"] == "no-store"
    assert client.get("/api/v1/vouchers/cards.pdf", headers=api_token(client, "cashier")).status_code == 403
