"""Canteen scope: staff of one canteen cannot see or change another's sales, and an
accountant sees only their own community (pos.access.Scope, applied by pos.web.signin.require_canteen)."""
from __future__ import annotations

import uuid

import pytest
from flask_login import login_user
from sqlmodel import select

from pos.refusal import Refusal
from pos.web.refusals import status_of
from pos.models import StaffUser
from support import api_token, browser_login


def sell_one(client, headers: dict) -> dict:
    """Open a shift for the token's cashier and sell one paid dish; returns the sale."""
    assert client.post("/api/v1/shifts", json={"opening_float_fen": 10000}, headers=headers).status_code == 201
    items = client.get("/api/v1/menu", headers=headers).get_json()["items"]
    dish = next(i for i in items if not i["welfare_meal"])
    lines = [{"item_id": dish["id"], "qty": 1}]
    r = client.post("/api/v1/sales", headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
                    json={"lines": lines, "due_fen": dish["price_fen"],
                          "tender": {"method": "cash", "tendered_fen": dish["price_fen"]}})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


@pytest.fixture
def ylw_sale(client):
    return sell_one(client, api_token(client, "cashier"))


def test_cashier_of_another_canteen_cannot_read_the_sale(client, ylw_sale):
    jm = api_token(client, "jm-cashier")
    r = client.get(f"/api/v1/sales/{ylw_sale['id']}", headers=jm)
    assert r.status_code == 403
    assert r.get_json()["error"]["code"] == "other_canteen"
    assert str(ylw_sale["gross_fen"]) not in r.get_data(as_text=True)


def test_cashier_of_another_canteen_cannot_void_the_sale(client, ylw_sale):
    jm = api_token(client, "jm-cashier")
    body = {"reason": "测试", "supervisor": "jm-supervisor", "pin": "4321"}
    r = client.post(f"/api/v1/sales/{ylw_sale['id']}/void", json=body, headers=jm)
    assert r.status_code == 403
    # Nor with the other canteen's supervisor token (which approves voids on its own).
    r = client.post(f"/api/v1/sales/{ylw_sale['id']}/void", json={"reason": "测试"},
                    headers=api_token(client, "jm-supervisor"))
    assert r.status_code == 403
    # The sale is untouched.
    own = client.get(f"/api/v1/sales/{ylw_sale['id']}", headers=api_token(client, "cashier")).get_json()
    assert own["status"] == "completed"


def test_other_canteen_in_the_browser_session_too(app, ylw_sale):
    app.config["WTF_CSRF_ENABLED"] = False
    c = app.test_client()
    assert browser_login(c, "jm-cashier").status_code == 302
    assert c.get(f"/api/v1/sales/{ylw_sale['id']}").status_code == 403
    r = c.post(f"/api/v1/sales/{ylw_sale['id']}/void", json={"reason": "x", "supervisor": "jm-supervisor",
                                                              "pin": "4321"})
    assert r.status_code == 403


def test_own_canteen_and_district_admin_may_read(client, ylw_sale):
    for username in ("cashier2", "supervisor", "admin"):
        r = client.get(f"/api/v1/sales/{ylw_sale['id']}", headers=api_token(client, username))
        assert r.status_code == 200, username


def test_another_canteens_shift_cannot_be_closed(client):
    ylw = api_token(client, "cashier")
    shift = client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=ylw).get_json()
    r = client.post(f"/api/v1/shifts/{shift['id']}/close", json={"counted_cash_fen": 0},
                    headers=api_token(client, "jm-supervisor"))
    assert r.status_code == 403


def test_a_cashier_sells_only_at_their_own_canteen(client):
    menu = client.get("/api/v1/menu", headers=api_token(client, "jm-cashier")).get_json()
    assert menu["canteen"] == "JM01"


def _as(app, username: str):
    with app.extensions["canteen_db"].session() as s:
        return s.exec(select(StaffUser).where(StaffUser.username == username)).one()


@pytest.mark.parametrize("username, canteen, allowed", [
    ("accountant", "YLW01", True),   # 云鹭湾社区's accountant
    ("accountant", "JM01", False),   # another community
    ("registrar", "YLW01", True),
    ("registrar", "JM01", False),
    ("cashier", "JM01", False),
    ("jm-supervisor", "JM01", True),
    ("jm-supervisor", "YLW01", False),
    ("admin", "JM01", True),         # district admin, no canteen
    ("admin", "YLW01", True),
])
def test_require_canteen(sqlite_app, username, canteen, allowed):
    from pos.web.signin import Staff, require_canteen

    row = _as(sqlite_app, username)
    with sqlite_app.test_request_context("/"):
        login_user(Staff(row))
        if allowed:
            require_canteen(canteen)
        else:
            with pytest.raises(Refusal) as e:
                require_canteen(canteen)
            assert status_of(e.value.code) == 403


# --- the accountant's community, on the report pages ------------------------------------

def _page(app, endpoint: str, **values) -> str:
    from flask import url_for

    assert endpoint in app.view_functions, f"{endpoint} is missing"
    with app.test_request_context():
        return url_for(endpoint, **values)


@pytest.fixture
def accountant(sqlite_app):
    sqlite_app.config["WTF_CSRF_ENABLED"] = False
    c = sqlite_app.test_client()
    assert browser_login(c, "accountant").status_code == 302
    return c


@pytest.mark.parametrize("endpoint", ["reports.index", "reports.monthly_pdf", "reports.monthly_summary_csv",
                                      "reports.monthly_grants_csv", "reports.chart_svg"])
def test_accountant_cannot_ask_for_another_community(sqlite_app, accountant, endpoint):
    r = accountant.get(_page(sqlite_app, endpoint, canteen="JM01"))
    assert r.status_code == 403, r.status_code
    r = accountant.get(_page(sqlite_app, endpoint, canteen=["YLW01", "JM01"]))
    assert r.status_code == 403


def test_accountant_daily_report_of_another_community_is_refused(sqlite_app, accountant):
    from pos.clock import business_date

    day = business_date("Asia/Shanghai").isoformat()
    assert accountant.get(_page(sqlite_app, "reports.daily_pdf", canteen="JM01", date=day)).status_code == 403


def test_accountant_sees_only_their_community_by_default(sqlite_app, accountant):
    r = accountant.get(_page(sqlite_app, "reports.index"))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "云鹭湾" in html and "景明" not in html
    csv = accountant.get(_page(sqlite_app, "reports.monthly_summary_csv")).get_data(as_text=True)
    assert "JM01" not in csv and "景明" not in csv
