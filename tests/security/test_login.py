"""Sign-in hardening: throttling (password and supervisor PIN, each its own), cookie flags,
a new session on sign-in, sign-out that really ends the session, hashed revocable tokens."""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import text, update
from sqlmodel import select

from pos.models import ApiToken, LoginAttempt, StaffUser
from security.helpers import app_from_template
from support import DEMO_PASSWORD_SUFFIX, api_token, browser_login, make_settings

TOO_MANY_ZH = "登录失败次数过多"


def _db(app):
    return app.extensions["canteen_db"]


def _age_attempts(app, minutes: int) -> None:
    """Move every recorded sign-in attempt ``minutes`` into the past."""
    from pos.clock import naive_utc

    with _db(app).transaction() as s:
        s.exec(update(LoginAttempt).values(at=naive_utc() - timedelta(minutes=minutes)))


# --- throttling ---------------------------------------------------------------------

def test_ten_wrong_passwords_on_the_login_page_are_throttled(nocsrf_app):
    c = nocsrf_app.test_client()
    statuses = [c.post("/login", data={"username": "cashier", "password": f"wrong-{i}"}).status_code
                for i in range(10)]
    assert statuses == [401] * 5 + [429] * 5
    page = c.post("/login", data={"username": "cashier", "password": "cashier" + DEMO_PASSWORD_SUFFIX})
    assert page.status_code == 429, "the right password does not get through while throttled"
    html = page.get_data(as_text=True)
    assert TOO_MANY_ZH in html and "15" in html  # a clear message with the wait
    c.set_cookie("lang", "en")
    en = c.post("/login", data={"username": "cashier", "password": "x"})
    assert "too many failed sign-ins" in en.get_data(as_text=True)


def test_ten_wrong_passwords_on_the_api_are_throttled(client):
    statuses = []
    for i in range(10):
        r = client.post("/api/v1/auth/token", json={"username": "cashier", "password": f"wrong-{i}"})
        statuses.append(r.status_code)
    assert statuses == [401] * 5 + [429] * 5
    r = client.post("/api/v1/auth/token", json={"username": "cashier", "password": "cashier" + DEMO_PASSWORD_SUFFIX})
    assert r.status_code == 429
    err = r.get_json()["error"]
    assert err["code"] == "too_many_attempts" and TOO_MANY_ZH in err["message"]


def test_throttle_is_per_account_and_address(nocsrf_app):
    c = nocsrf_app.test_client()
    for i in range(5):
        c.post("/login", data={"username": "cashier", "password": f"wrong-{i}"})
    assert c.post("/login", data={"username": "cashier", "password": "x"}).status_code == 429
    # Another account from the same tablet, and the same account from another tablet, still sign in.
    assert browser_login(nocsrf_app.test_client(), "cashier2").status_code == 302
    other = nocsrf_app.test_client()
    r = other.post("/login", data={"username": "cashier", "password": "cashier" + DEMO_PASSWORD_SUFFIX},
                   environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert r.status_code == 302


def test_throttle_ends_after_the_window(nocsrf_app):
    c = nocsrf_app.test_client()
    for i in range(5):
        c.post("/login", data={"username": "cashier", "password": f"wrong-{i}"})
    assert browser_login(c, "cashier").status_code == 429
    _age_attempts(nocsrf_app, 16)
    assert browser_login(c, "cashier").status_code == 302


def test_a_success_resets_the_count(nocsrf_app):
    c = nocsrf_app.test_client()
    for i in range(4):
        assert c.post("/login", data={"username": "cashier", "password": f"wrong-{i}"}).status_code == 401
    assert browser_login(nocsrf_app.test_client(), "cashier").status_code == 302
    for i in range(4):
        assert c.post("/login", data={"username": "cashier", "password": f"again-{i}"}).status_code == 401


def test_unknown_username_is_the_same_refusal(nocsrf_app):
    r = nocsrf_app.test_client().post("/login", data={"username": "nobody-here", "password": "whatever-pass"})
    assert r.status_code == 401 and "用户名或密码错误" in r.get_data(as_text=True)


def _sale_to_void(client) -> str:
    headers = api_token(client, "cashier")
    assert client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=headers).status_code == 201
    dish = next(i for i in client.get("/api/v1/menu", headers=headers).get_json()["items"] if not i["welfare_meal"])
    r = client.post("/api/v1/sales", headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
                    json={"lines": [{"item_id": dish["id"], "qty": 1}], "due_fen": dish["price_fen"],
                          "tender": {"method": "cash", "tendered_fen": dish["price_fen"]}})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_supervisor_pin_has_its_own_throttle(client):
    sale_id = _sale_to_void(client)
    cashier = api_token(client, "cashier")
    url = f"/api/v1/sales/{sale_id}/void"
    statuses = [client.post(url, headers=cashier, json={"reason": "点错了", "supervisor": "supervisor",
                                                        "pin": f"{i:04d}"}).status_code for i in range(5)]
    assert statuses == [403, 403, 403, 429, 429]  # pin_max_failures = 3
    r = client.post(url, headers=cashier, json={"reason": "点错了", "supervisor": "supervisor", "pin": "1234"})
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "too_many_pin_attempts"
    # The password throttle is a separate count: the supervisor still signs in.
    assert client.post("/api/v1/auth/token", json={"username": "supervisor",
                                                   "password": "supervisor" + DEMO_PASSWORD_SUFFIX}).status_code == 200


# --- cookies and sessions -------------------------------------------------------------

def _session_cookie_header(response) -> str:
    found = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert found, "no session cookie set"
    return found[-1]


def test_session_cookie_flags_over_http(nocsrf_app):
    header = _session_cookie_header(browser_login(nocsrf_app.test_client(), "cashier"))
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert "Secure" not in header  # base_url is http:// in the demo config


def test_session_cookie_is_secure_behind_https(demo_template, sqlite_url, tmp_path):
    settings = replace(make_settings(sqlite_url, tmp_path), base_url="https://canteen.example")
    app = app_from_template(demo_template, tmp_path, settings=settings, WTF_CSRF_ENABLED=False)
    header = _session_cookie_header(browser_login(app.test_client(), "cashier"))
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header
    _db(app).dispose()


def test_sign_in_makes_a_new_session(nocsrf_app):
    c = nocsrf_app.test_client()
    c.get("/login")  # an anonymous session (the CSRF token) exists before sign-in
    c.post("/login", data={"username": "cashier", "password": "wrong"})
    before = c.get_cookie("session")
    assert browser_login(c, "cashier").status_code == 302
    after = c.get_cookie("session")
    assert after is not None and (before is None or before.value != after.value)
    # The pre-sign-in cookie does not carry the sign-in.
    if before is not None:
        old = nocsrf_app.test_client()
        old.set_cookie("session", before.value)
        assert "/login" in old.get("/").headers["Location"]


def test_sign_out_ends_the_session_even_for_a_copied_cookie(nocsrf_app):
    c = nocsrf_app.test_client()
    browser_login(c, "cashier")
    stolen = c.get_cookie("session").value
    copy = nocsrf_app.test_client()
    copy.set_cookie("session", stolen)
    assert "/login" not in copy.get("/").headers["Location"], "the copied cookie works while signed in"
    assert c.post("/logout").status_code == 302
    assert "/login" in c.get("/").headers["Location"]
    replay = nocsrf_app.test_client()
    replay.set_cookie("session", stolen)
    assert "/login" in replay.get("/").headers["Location"], "the old cookie no longer signs in after sign-out"
    assert replay.get("/api/v1/menu").status_code == 401


def test_signing_in_again_ends_the_previous_session(nocsrf_app):
    c = nocsrf_app.test_client()
    browser_login(c, "cashier")
    first = c.get_cookie("session").value
    browser_login(c, "cashier2")
    replay = nocsrf_app.test_client()
    replay.set_cookie("session", first)
    assert "/login" in replay.get("/").headers["Location"]


def test_disabled_account_loses_its_session_and_tokens(nocsrf_app):
    c = nocsrf_app.test_client()
    browser_login(c, "cashier")
    token = api_token(nocsrf_app.test_client(), "cashier")
    with _db(nocsrf_app).transaction() as s:
        s.exec(update(StaffUser).where(StaffUser.username == "cashier").values(active=False))
    assert "/login" in c.get("/").headers["Location"]
    assert nocsrf_app.test_client().get("/api/v1/menu", headers=token).status_code == 401


def test_session_is_stored_hashed_and_expires(nocsrf_app):
    from pos.clock import naive_utc

    c = nocsrf_app.test_client()
    browser_login(c, "cashier")
    with c.session_transaction() as sess:
        sid = sess["sid"]
    with _db(nocsrf_app).transaction() as s:
        row = s.exec(select(ApiToken).where(ApiToken.token_hash == hashlib.sha256(sid.encode()).hexdigest())).one()
        row.expires_at = naive_utc() - timedelta(seconds=1)
        s.add(row)
    assert "/login" in c.get("/").headers["Location"]


# --- API tokens -----------------------------------------------------------------------

def test_api_tokens_are_stored_hashed(client, app):
    token = api_token(client, "cashier")["Authorization"][7:]
    with _db(app).session() as s:
        hashes = [row.token_hash for row in s.exec(select(ApiToken)).all()]
        dump = " ".join(str(v) for r in s.execute(text("SELECT * FROM api_tokens")).all() for v in r)
    assert hashlib.sha256(token.encode()).hexdigest() in hashes
    assert token not in dump


def test_api_token_is_revocable(client):
    headers = api_token(client, "cashier")
    assert client.get("/api/v1/menu", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/token/revoke", headers=headers).status_code == 200
    r = client.get("/api/v1/menu", headers=headers)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "not_signed_in"
    # Another token of the same user is unaffected.
    assert client.get("/api/v1/menu", headers=api_token(client, "cashier")).status_code == 200


def test_expired_and_made_up_tokens_are_refused(client, app):
    from pos.clock import naive_utc

    headers = api_token(client, "cashier")
    with _db(app).transaction() as s:
        s.exec(update(ApiToken).values(expires_at=naive_utc() - timedelta(seconds=1)))
    assert client.get("/api/v1/menu", headers=headers).status_code == 401
    assert client.get("/api/v1/menu", headers={"Authorization": "Bearer made-up"}).status_code == 401


# --- redirects after sign-in ----------------------------------------------------------

@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example", "https://evil.example/", "/\\/evil"])
def test_sign_in_never_redirects_to_another_site(nocsrf_app, target):
    c = nocsrf_app.test_client()
    r = c.post("/login", query_string={"next": target},
               data={"username": "cashier", "password": "cashier" + DEMO_PASSWORD_SUFFIX})
    assert r.status_code == 302
    assert "evil" not in r.headers["Location"]
    assert "evil" not in c.get("/lang/en", query_string={"next": target}).headers["Location"]


@pytest.mark.parametrize("proxies,seen", [(0, "127.0.0.1"), (1, "192.168.1.50")])
def test_the_address_behind_a_reverse_proxy(demo_template, sqlite_url, tmp_path, proxies, seen):
    """With app.trusted_proxies = 1 (Caddy or nginx in front), a failed sign-in is counted
    against the tablet's own address from X-Forwarded-For, so one tablet's mistakes do not
    throttle the others; without it the header is ignored (anyone could send one)."""
    settings = replace(make_settings(sqlite_url, tmp_path), trusted_proxies=proxies)
    app = app_from_template(demo_template, tmp_path, settings=settings, WTF_CSRF_ENABLED=False)
    r = app.test_client().post("/api/v1/auth/token", json={"username": "cashier", "password": "wrong"},
                               headers={"X-Forwarded-For": "192.168.1.50"}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert r.status_code == 401
    with _db(app).session() as s:
        assert [a.address for a in s.exec(select(LoginAttempt))] == [seen]
    _db(app).dispose()


def test_trusted_proxies_is_bounded(tmp_path):
    from pos.config import ConfigError, load_settings
    from support import ROOT

    config = (ROOT / "config.toml").read_text(encoding="utf-8").replace("[app]\n", "[app]\ntrusted_proxies = 9\n", 1)
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")
    with pytest.raises(ConfigError, match="app.trusted_proxies"):
        load_settings(tmp_path / "config.toml", env={"CANTEEN_ENV": "development"}, instance_path=tmp_path)
