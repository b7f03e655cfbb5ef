"""The till pages: the cashier's start page, the language switch, and a receipt that
never says who the diner is."""
from __future__ import annotations

import json
import re

import pytest

from support import browser_login


@pytest.fixture
def app(app):
    app.config["WTF_CSRF_ENABLED"] = False  # the login form is posted by the test client
    return app


def test_cashier_lands_on_the_till_with_menu_quota_and_scan_field(app):
    client = app.test_client()
    assert browser_login(client, "cashier").status_code == 302
    home = client.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/till")
    page = client.get("/till")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="scan"' in html and 'class="dish welfare"' in html and "今日公益餐剩余" in html
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None  # no inline script (CSP)
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html)  # no inline event handlers
    strings = re.search(r"data-strings='([^']*)'", html).group(1)
    assert "100% 补贴" in json.loads(strings.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")).values()


def test_till_speaks_english_on_request(app):
    client = app.test_client()
    browser_login(client, "cashier")
    html = client.get("/till?lang=en").get_data(as_text=True)
    assert "Free welfare meals left today" in html and "Welfare set meal" in html and "Set meals" in html


def test_registrar_and_accountant_may_not_open_the_till(app):
    for user in ("registrar", "accountant"):
        client = app.test_client()
        browser_login(client, user)
        assert client.get("/till").status_code == 403


def test_receipt_shows_the_subsidy_amount_but_not_the_diner(app, till, workers):
    sale = till.sell([{"item_id": till.welfare["id"], "qty": 1}], {"id_number": workers[0]}).get_json()
    client = app.test_client()
    browser_login(client, "cashier")
    html = client.get(f"/till/receipt/{sale['id']}").get_data(as_text=True)
    assert "100% 补贴" in html and "−¥15.00" in html
    for word in ("环卫", "保洁", "外卖", "rider", "测试", workers[0][-4:]):
        assert word not in html
    narrow = client.get(f"/till/receipt/{sale['id']}?paper=58").get_data(as_text=True)
    assert 'class="paper w58"' in narrow


def test_another_canteen_cannot_print_a_receipt(app, till):
    sale = till.sell([{"item_id": till.welfare["id"], "qty": 1}]).get_json()
    client = app.test_client()
    browser_login(client, "jm-cashier")
    assert client.get(f"/till/receipt/{sale['id']}").status_code == 403


def test_openapi_document_describes_the_till_api(sqlite_app):
    doc = sqlite_app.test_client().get("/api/v1/openapi.json").get_json()
    paths = doc["paths"]
    for path, method in [("/api/v1/menu", "get"), ("/api/v1/credentials/lookup", "post"),
                         ("/api/v1/sales/quote", "post"), ("/api/v1/sales", "post"), ("/api/v1/sales/{sale_id}", "get"),
                         ("/api/v1/sales/{sale_id}/void", "post"), ("/api/v1/quota/today", "get"),
                         ("/api/v1/shifts", "post"), ("/api/v1/shifts/{shift_id}/close", "post"),
                         ("/api/v1/shifts/current", "get")]:
        assert method in paths[path], path
    sale_in = doc["components"]["schemas"]["SaleIn"]
    assert {"lines", "due_fen", "tender"} <= set(sale_in["required"])
