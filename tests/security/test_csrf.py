"""CSRF: every state-changing browser request needs the token — form posts and the
till's fetch() calls to the JSON API with the session cookie.  Bearer-token clients send
no cookies, so they need none."""
from __future__ import annotations

import re

import pytest

from pos.access import PUBLIC, ROLES, ROUTE_ROLES
from security.helpers import ROLE_USERS
from support import DEMO_PASSWORD_SUFFIX, api_token

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def csrf_token(client) -> str:
    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, username: str) -> str:
    """Sign in through the form with its token; returns a token for the new session."""
    r = client.post("/login", data={"username": username, "password": username + DEMO_PASSWORD_SUFFIX,
                                    "csrf_token": csrf_token(client)})
    assert r.status_code == 302, r.status_code
    return csrf_token(client)


def test_login_form_without_token_is_refused(csrf_app):
    c = csrf_app.test_client()
    r = c.post("/login", data={"username": "cashier", "password": "cashier" + DEMO_PASSWORD_SUFFIX})
    assert r.status_code == 400
    assert "请刷新页面后重试" in r.get_data(as_text=True)
    assert "/login" in c.get("/").headers["Location"], "not signed in"
    r = c.post("/login", data={"username": "cashier", "password": "cashier" + DEMO_PASSWORD_SUFFIX,
                               "csrf_token": "forged"})
    assert r.status_code == 400


def test_login_form_with_token_signs_in(csrf_app):
    c = csrf_app.test_client()
    sign_in(c, "cashier")
    assert "/login" not in c.get("/").headers["Location"]


def test_logout_form_without_token_is_refused(csrf_app):
    c = csrf_app.test_client()
    token = sign_in(c, "cashier")
    assert c.post("/logout").status_code == 400
    assert "/login" not in c.get("/").headers["Location"], "still signed in"
    assert c.post("/logout", data={"csrf_token": token}).status_code == 302


def test_cookie_api_write_without_token_is_refused(csrf_app):
    c = csrf_app.test_client()
    token = sign_in(c, "cashier")
    r = c.post("/api/v1/shifts", json={"opening_float_fen": 0})
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "csrf_failed"
    assert c.get("/api/v1/shifts/current").get_json()["shift"] is None, "nothing was opened"
    r = c.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers={"X-CSRFToken": "forged"})
    assert r.status_code == 400
    r = c.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers={"X-CSRFToken": token})
    assert r.status_code == 201


def test_bearer_api_write_needs_no_csrf_token(csrf_app):
    c = csrf_app.test_client()
    r = c.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=api_token(c, "cashier"))
    assert r.status_code == 201
    r = c.post("/api/v1/auth/token/revoke", headers=api_token(c, "cashier"))
    assert r.status_code == 200


def _write_rules(app, *, api: bool):
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") != api:
            continue
        for method in sorted(rule.methods & WRITES):
            values = {arg: "dummy-0000" for arg in rule.arguments}
            yield rule.endpoint, method, adapter.build(rule.endpoint, values)


def _role_for(endpoint: str) -> str:
    roles = ROUTE_ROLES.get(endpoint, PUBLIC)
    return next((r for r in ("admin", *ROLES) if roles is PUBLIC or r in roles), "admin")


def test_every_form_post_needs_the_token(csrf_app):
    """Every page route that changes state, signed in as a role that may use it."""
    clients: dict[str, object] = {}
    walked = []
    for endpoint, method, url in _write_rules(csrf_app, api=False):
        role = _role_for(endpoint)
        if role not in clients:
            clients[role] = csrf_app.test_client()
            sign_in(clients[role], ROLE_USERS[role])
        r = clients[role].open(url, method=method, data={"anything": "1"})
        assert r.status_code == 400, f"{role} {method} {url} ({endpoint}) without a CSRF token: {r.status_code}"
        walked.append(endpoint)
    assert "auth.logout" in walked and "auth.login" in walked


def test_every_cookie_api_write_needs_the_token(csrf_app):
    """Every API route that changes state, with the session cookie and no token."""
    clients: dict[str, object] = {}
    for endpoint, method, url in _write_rules(csrf_app, api=True):
        role = _role_for(endpoint)
        if role not in clients:
            clients[role] = csrf_app.test_client()
            sign_in(clients[role], ROLE_USERS[role])
        r = clients[role].open(url, method=method, json={})
        assert r.status_code == 400, f"{role} {method} {url} ({endpoint}) without a CSRF token: {r.status_code}"


@pytest.mark.parametrize("origin_header", [{"Origin": "https://evil.example"}, {}])
def test_cross_site_form_without_token_changes_nothing(csrf_app, origin_header):
    c = csrf_app.test_client()
    sign_in(c, "cashier")
    r = c.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=origin_header)
    assert r.status_code == 400
