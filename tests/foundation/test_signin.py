"""Sign-in from the start: the login page, bearer tokens, and routes that declare roles."""
from __future__ import annotations

import pytest

from support import DEMO_PASSWORD_SUFFIX, api_token, browser_login


def test_anonymous_start_page_goes_to_login(client):
    r = client.get("/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    page = client.get("/login")
    assert page.status_code == 200 and "员工登录" in page.get_data(as_text=True)


def test_login_page_signs_in(app):
    app.config["WTF_CSRF_ENABLED"] = False
    c = app.test_client()
    r = browser_login(c, "cashier")
    assert r.status_code == 302
    assert c.get("/").status_code == 302  # to the role's start page


def test_wrong_password_is_a_clear_refusal(app):
    app.config["WTF_CSRF_ENABLED"] = False
    r = app.test_client().post("/login", data={"username": "cashier", "password": "nope"})
    assert r.status_code == 401
    assert "用户名或密码错误" in r.get_data(as_text=True)


def test_token_for_scripted_clients(client):
    headers = api_token(client, "cashier")
    assert client.post("/api/v1/auth/token/revoke", headers=headers).status_code == 200
    # the revoked token no longer signs in
    assert client.post("/api/v1/auth/token/revoke", headers=headers).status_code == 401


@pytest.mark.parametrize("body", [{}, {"username": "cashier"}, {"username": 3, "password": "x"}, "not json"])
def test_token_request_errors_are_4xx_json(client, body):
    r = client.post("/api/v1/auth/token", json=body) if not isinstance(body, str) else \
        client.post("/api/v1/auth/token", data=body, content_type="application/json")
    assert 400 <= r.status_code < 500
    assert "error" in r.get_json()


def test_wrong_password_token_is_401_json(client):
    r = client.post("/api/v1/auth/token", json={"username": "cashier", "password": "wrong-password"})
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "bad_credentials"


def test_passwords_are_hashed_with_scrypt(app):
    from sqlmodel import select

    from pos.models import StaffUser

    with app.extensions["canteen_db"].session() as s:
        for u in s.exec(select(StaffUser)).all():
            assert u.password_hash.startswith("scrypt:")
            assert u.username + DEMO_PASSWORD_SUFFIX not in u.password_hash


def test_openapi_document_is_served(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/auth/token" in doc["paths"]
