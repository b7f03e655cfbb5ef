"""Staff look after their own credentials: a member of staff changes their own password
(page and API), a supervisor their void-approval PIN; an admin can require a new password
at the next sign-in, and until it is chosen nothing else answers.

The current password is checked like a sign-in (same throttle, same count), a change
signs the account out everywhere but where it was made, and the audit log records each
change without the secret.
"""
from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser

import pytest
from sqlalchemy import text
from sqlmodel import select

from pos.models import StaffUser
from pos.store.passwords import check_secret
from support import DEMO_PASSWORD_SUFFIX, api_token

OLD = "cashier" + DEMO_PASSWORD_SUFFIX
NEW = "new-cashier-pass-2026"


@pytest.fixture
def web(app):
    """The demo app on each engine, its forms posted without CSRF tokens (a test below
    checks that the real forms need them)."""
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def _db(app):
    return app.extensions["canteen_db"]


def _user(app, username: str) -> StaffUser:
    with _db(app).session() as s:
        return s.exec(select(StaffUser).where(StaffUser.username == username)).one()


def _signed_in(app, username: str, password: str | None = None):
    c = app.test_client()
    r = c.post("/login", data={"username": username, "password": password or username + DEMO_PASSWORD_SUFFIX})
    assert r.status_code == 302, r.status_code
    return c


def _token(app, username: str, password: str) -> dict:
    r = app.test_client().post("/api/v1/auth/token", json={"username": username, "password": password})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def _sign_in_status(app, username: str, password: str) -> int:
    return app.test_client().post("/api/v1/auth/token", json={"username": username, "password": password}).status_code


def _page_signed_out(client) -> bool:
    r = client.get("/till")
    return r.status_code == 302 and "/login" in r.headers["Location"]


def _change_on_page(client, old: str, new: str, again: str | None = None):
    return client.post("/account/password", data={"old_password": old, "new_password": new,
                                                  "new_password_again": new if again is None else again})


def _audit(app, action: str) -> list[dict]:
    with _db(app).session() as s:
        return [dict(r) for r in s.execute(text("SELECT * FROM audit_log WHERE action = :a"), {"a": action}).mappings()]


def _error(r) -> dict:
    return r.get_json()["error"]


# --- the current password: checked like a sign-in -------------------------------------

def test_a_wrong_current_password_is_refused_and_throttled_with_sign_in(web):
    headers = api_token(web.test_client(), "cashier")
    c = web.test_client()
    answers = [c.post("/api/v1/auth/password", headers=headers,
                      json={"old_password": f"guess-{i}", "new_password": NEW}) for i in range(7)]
    assert [r.status_code for r in answers] == [403] * 5 + [429] * 2
    assert _error(answers[0])["code"] == "wrong_password" and "当前密码不正确" in _error(answers[0])["message_zh"]
    assert _error(answers[-1])["code"] == "too_many_attempts"
    # Throttled: the right password does not get through either, on this form or at sign-in.
    r = c.post("/api/v1/auth/password", headers=headers, json={"old_password": OLD, "new_password": NEW})
    assert r.status_code == 429
    assert _sign_in_status(web, "cashier", OLD) == 429
    assert check_secret(_user(web, "cashier").password_hash, OLD), "the password did not change"
    # Wrong guesses at sign-in count against the form as well: the count is one.
    page = _signed_in(web, "cashier2")
    assert _sign_in_status(web, "cashier2", "wrong") == 401
    for i in range(4):
        assert _change_on_page(page, f"guess-{i}", NEW).status_code == 403
    r = _change_on_page(page, "cashier2" + DEMO_PASSWORD_SUFFIX, NEW)
    assert r.status_code == 429 and "登录失败次数过多" in r.get_data(as_text=True)


def test_the_page_says_the_current_password_is_wrong(web):
    page = _signed_in(web, "cashier")
    r = _change_on_page(page, "not-my-password", NEW)
    assert r.status_code == 403
    html = r.get_data(as_text=True)
    assert 'id="password-error"' in html and "当前密码不正确" in html
    page.set_cookie("lang", "en")
    assert "the current password is wrong" in _change_on_page(page, "still-not-it", NEW).get_data(as_text=True)


@pytest.mark.parametrize("new, code, zh", [
    ("short", "weak_password", "密码至少 8 位"),
    ("1234567", "weak_password", "密码至少 8 位"),
    (OLD, "same_password", "新密码不能与当前密码相同"),
])
def test_a_weak_or_unchanged_new_password_is_refused_with_the_reason(web, new, code, zh):
    headers = api_token(web.test_client(), "cashier")
    r = web.test_client().post("/api/v1/auth/password", headers=headers, json={"old_password": OLD, "new_password": new})
    assert r.status_code == 422 and _error(r)["code"] == code and _error(r)["message_zh"] == zh
    page = _signed_in(web, "cashier")
    r = _change_on_page(page, OLD, new)
    assert r.status_code == 422 and zh in r.get_data(as_text=True)
    # Nothing changed: the old password signs in, every session still works.
    assert check_secret(_user(web, "cashier").password_hash, OLD)
    assert web.test_client().get("/api/v1/menu", headers=headers).status_code == 200
    assert not _page_signed_out(page)


def test_the_new_password_typed_twice_must_agree(web):
    page = _signed_in(web, "cashier")
    r = _change_on_page(page, OLD, NEW, again=NEW + "x")
    assert r.status_code == 422 and "两次输入的新密码不一致" in r.get_data(as_text=True)
    assert check_secret(_user(web, "cashier").password_hash, OLD)


# --- a change signs the account out everywhere else ----------------------------------------

def test_a_change_on_the_page_ends_every_other_session_and_token(web):
    here = _signed_in(web, "cashier")
    elsewhere = _signed_in(web, "cashier")
    token = api_token(web.test_client(), "cashier")
    other_user = api_token(web.test_client(), "cashier2")
    assert web.test_client().get("/api/v1/menu", headers=token).status_code == 200

    r = _change_on_page(here, OLD, NEW)
    assert r.status_code == 302 and r.headers["Location"].endswith("/account/password")
    assert "其他设备上的登录已退出" in here.get("/account/password").get_data(as_text=True)

    old_token = web.test_client().get("/api/v1/menu", headers=token)
    assert old_token.status_code == 401 and _error(old_token)["code"] == "not_signed_in"
    assert _page_signed_out(elsewhere)
    assert here.get("/till").status_code == 200, "the browser the change was made in stays signed in"
    assert web.test_client().get("/api/v1/menu", headers=other_user).status_code == 200, "other accounts untouched"
    assert _sign_in_status(web, "cashier", OLD) == 401
    assert web.test_client().get("/api/v1/menu", headers=_token(web, "cashier", NEW)).status_code == 200
    assert _audit(web, "password_changed")[0]["detail"] == '{"sessions_ended": 2}'


def test_a_change_through_the_api_keeps_the_token_it_was_made_with(web):
    browser = _signed_in(web, "cashier")
    mine, other = api_token(web.test_client(), "cashier"), api_token(web.test_client(), "cashier")
    r = web.test_client().post("/api/v1/auth/password", headers=mine, json={"old_password": OLD, "new_password": NEW})
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"changed": True, "other_sessions_ended": 2}
    assert web.test_client().get("/api/v1/menu", headers=mine).status_code == 200
    assert web.test_client().get("/api/v1/menu", headers=other).status_code == 401
    assert _page_signed_out(browser)
    assert _sign_in_status(web, "cashier", NEW) == 200 and _sign_in_status(web, "cashier", OLD) == 401


def test_the_operation_is_in_the_openapi_document(sqlite_client):
    doc = sqlite_client.get("/api/v1/openapi.json").get_json()
    op = doc["paths"]["/api/v1/auth/password"]["post"]
    assert {"200", "403", "422", "429"} <= set(op["responses"])
    body = op["requestBody"]["content"]["application/json"]["schema"]
    schema = doc["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]] if "$ref" in body else body
    assert set(schema["required"]) == {"old_password", "new_password"}


def test_the_forms_need_the_csrf_token(csrf_app):
    c = csrf_app.test_client()
    page = c.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert c.post("/login", data={"username": "cashier", "password": OLD, "csrf_token": csrf}).status_code == 302
    assert _change_on_page(c, OLD, NEW).status_code == 400
    r = c.post("/api/v1/auth/password", json={"old_password": OLD, "new_password": NEW})
    assert r.status_code == 400 and _error(r)["code"] == "csrf_failed"
    assert check_secret(_user(csrf_app, "cashier").password_hash, OLD)
    form = c.get("/account/password").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    r = c.post("/account/password", data={"old_password": OLD, "new_password": NEW, "new_password_again": NEW,
                                          "csrf_token": token})
    assert r.status_code == 302 and check_secret(_user(csrf_app, "cashier").password_hash, NEW)


# --- the supervisor's void-approval PIN -------------------------------------------------------

def _sale_to_void(client) -> str:
    headers = api_token(client, "cashier")
    assert client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=headers).status_code == 201
    dish = next(i for i in client.get("/api/v1/menu", headers=headers).get_json()["items"] if not i["welfare_meal"])
    r = client.post("/api/v1/sales", headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
                    json={"lines": [{"item_id": dish["id"], "qty": 1}], "due_fen": dish["price_fen"],
                          "tender": {"method": "cash", "tendered_fen": dish["price_fen"]}})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_a_supervisor_changes_their_pin_and_only_the_new_one_approves_a_void(web):
    supervisor = _signed_in(web, "supervisor")
    assert 'id="pin-card"' in supervisor.get("/account/password").get_data(as_text=True)
    r = supervisor.post("/account/pin", data={"password": "supervisor" + DEMO_PASSWORD_SUFFIX, "pin": "5678",
                                              "pin_again": "5678"})
    assert r.status_code == 302
    assert "主管授权码已修改" in supervisor.get("/account/password").get_data(as_text=True)

    client = web.test_client()
    sale_id = _sale_to_void(client)
    cashier = api_token(client, "cashier")
    url = f"/api/v1/sales/{sale_id}/void"
    old = client.post(url, headers=cashier, json={"reason": "点错了", "supervisor": "supervisor", "pin": "1234"})
    assert old.status_code == 403 and _error(old)["code"] == "bad_pin"
    new = client.post(url, headers=cashier, json={"reason": "点错了", "supervisor": "supervisor", "pin": "5678"})
    assert new.status_code == 200 and new.get_json()["status"] == "voided", new.get_json()
    # A PIN change ends no session: the supervisor is still signed in.
    assert supervisor.get("/till").status_code == 200


@pytest.mark.parametrize("form, status, words", [
    ({"password": "wrong-password", "pin": "5678", "pin_again": "5678"}, 403, "当前密码不正确"),
    ({"password": "supervisor" + DEMO_PASSWORD_SUFFIX, "pin": "123", "pin_again": "123"}, 422, "4–8 位数字"),
    ({"password": "supervisor" + DEMO_PASSWORD_SUFFIX, "pin": "123456789", "pin_again": "123456789"}, 422, "4–8 位数字"),
    ({"password": "supervisor" + DEMO_PASSWORD_SUFFIX, "pin": "12a4", "pin_again": "12a4"}, 422, "4–8 位数字"),
    ({"password": "supervisor" + DEMO_PASSWORD_SUFFIX, "pin": "١٢٣٤", "pin_again": "١٢٣٤"}, 422, "4–8 位数字"),
    ({"password": "supervisor" + DEMO_PASSWORD_SUFFIX, "pin": "5678", "pin_again": "5679"}, 422, "两次输入的授权码不一致"),
    ({"password": "", "pin": "5678", "pin_again": "5678"}, 422, "请输入当前密码"),
])
def test_a_pin_change_is_refused_with_the_reason(nocsrf_app, form, status, words):
    before = _user(nocsrf_app, "supervisor").pin_hash
    r = _signed_in(nocsrf_app, "supervisor").post("/account/pin", data=form)
    assert r.status_code == status
    html = r.get_data(as_text=True)
    assert 'id="pin-error"' in html and words in html
    assert _user(nocsrf_app, "supervisor").pin_hash == before


def test_a_cashier_has_no_pin_to_set(web):
    cashier = _signed_in(web, "cashier")
    page = cashier.get("/account/password").get_data(as_text=True)
    assert 'id="pin-card"' not in page and "/account/pin" not in page
    r = cashier.post("/account/pin", data={"password": OLD, "pin": "5678", "pin_again": "5678"})
    assert r.status_code == 403
    assert _user(web, "cashier").pin_hash is None


def test_the_store_gives_no_pin_to_a_role_that_approves_no_voids(nocsrf_app):
    from pos.refusal import Refusal
    from pos.store.staff import change_own_pin

    cashier = _user(nocsrf_app, "cashier")
    with pytest.raises(Refusal) as refused:
        with _db(nocsrf_app).transaction() as s:
            change_own_pin(session=s, user_id=cashier.id, password=OLD, new_pin="5678", address="t",
                           max_failures=5, window_minutes=15)
    assert refused.value.code == "pin_not_for_role"
    assert _user(nocsrf_app, "cashier").pin_hash is None


# --- a new password at the next sign-in ------------------------------------------------------

def test_an_admin_requires_a_new_password_and_nothing_else_answers_until_it_is_chosen(web):
    admin = _signed_in(web, "admin")
    cashier_id = _user(web, "cashier").id
    open_session = _signed_in(web, "cashier")
    r = admin.post(f"/backoffice/staff/{cashier_id}/must-change", data={"required": "1"})
    assert r.status_code == 302 and _user(web, "cashier").must_change_password
    assert 'class="tag bad"' in admin.get("/backoffice/staff").get_data(as_text=True)

    # An open session is held at the change page at once; a new sign-in is sent there.
    r = open_session.get("/till")
    assert r.status_code == 302 and r.headers["Location"].endswith("/account/password")
    c = web.test_client()
    r = c.post("/login", data={"username": "cashier", "password": OLD}, follow_redirects=True)
    assert r.status_code == 200 and r.request.path == "/account/password"
    page = r.get_data(as_text=True)
    assert 'id="forced-note"' in page and 'id="account-back"' not in page
    for path in ("/till", "/backoffice/", "/till/receipt/no-such-sale"):
        r = c.get(path)
        assert r.status_code == 302 and r.headers["Location"].endswith("/account/password"), path
    assert c.get("/", follow_redirects=True).request.path == "/account/password"
    token = _token(web, "cashier", OLD)
    for method, path in (("GET", "/api/v1/menu"), ("GET", "/api/v1/quota/today"), ("POST", "/api/v1/shifts")):
        r = web.test_client().open(path, method=method, headers=token, json={"opening_float_fen": 0})
        assert r.status_code == 403, (path, r.status_code)
        err = _error(r)
        assert err["code"] == "password_change_required" and err["message_zh"] == "请先修改密码，才能继续使用"
        assert err["message_en"] == "choose a new password before going on"

    # Choosing it lifts the hold; signing out stays possible meanwhile.
    assert _change_on_page(c, OLD, NEW).status_code == 302
    assert not _user(web, "cashier").must_change_password
    assert c.get("/till").status_code == 200
    assert c.get("/account/password").status_code == 200
    assert web.test_client().get("/api/v1/menu", headers=token).status_code == 401  # another session: ended
    assert web.test_client().get("/api/v1/menu", headers=_token(web, "cashier", NEW)).status_code == 200
    assert c.post("/logout").status_code == 302


def test_a_held_api_client_changes_its_password_with_its_token(web):
    with _db(web).transaction() as s:
        s.execute(text("UPDATE staff_users SET must_change_password = :yes WHERE username = 'cashier'"),
                  {"yes": True})
    signed_in = web.test_client().post("/api/v1/auth/token", json={"username": "cashier", "password": OLD})
    assert signed_in.status_code == 200 and signed_in.get_json()["must_change_password"] is True
    token = {"Authorization": f"Bearer {signed_in.get_json()['token']}"}
    assert _error(web.test_client().get("/api/v1/menu", headers=token))["code"] == "password_change_required"
    r = web.test_client().post("/api/v1/auth/password", headers=token, json={"old_password": OLD, "new_password": NEW})
    assert r.status_code == 200, r.get_json()
    assert web.test_client().get("/api/v1/menu", headers=token).status_code == 200


def test_a_held_user_may_sign_out(nocsrf_app):
    with _db(nocsrf_app).transaction() as s:
        s.execute(text("UPDATE staff_users SET must_change_password = :yes WHERE username = 'cashier'"),
                  {"yes": True})
    c = _signed_in(nocsrf_app, "cashier")
    assert c.post("/logout").headers["Location"].endswith("/login")
    assert _page_signed_out(c)


def test_an_admin_reset_requires_a_new_password_unless_the_box_is_unticked(nocsrf_app):
    admin = _signed_in(nocsrf_app, "admin")
    staff_page = admin.get("/backoffice/staff").get_data(as_text=True)
    assert re.search(r'<input type="checkbox" name="must_change" checked>', staff_page)
    uid = _user(nocsrf_app, "cashier").id
    assert admin.post(f"/backoffice/staff/{uid}/password",
                      data={"password": "admin-typed-123", "must_change": "on"}).status_code == 302
    assert _user(nocsrf_app, "cashier").must_change_password
    c = nocsrf_app.test_client()
    r = c.post("/login", data={"username": "cashier", "password": "admin-typed-123"})
    assert r.status_code == 302 and c.get("/till").headers["Location"].endswith("/account/password")
    # Choosing the admin's password again is not a change.
    r = _change_on_page(c, "admin-typed-123", "admin-typed-123")
    assert r.status_code == 422 and "新密码不能与当前密码相同" in r.get_data(as_text=True)
    assert admin.post(f"/backoffice/staff/{uid}/password", data={"password": "admin-typed-456"}).status_code == 302
    assert not _user(nocsrf_app, "cashier").must_change_password
    assert admin.post(f"/backoffice/staff/{uid}/must-change", data={"required": "1"}).status_code == 302
    assert admin.post(f"/backoffice/staff/{uid}/must-change", data={"required": "0"}).status_code == 302
    assert not _user(nocsrf_app, "cashier").must_change_password
    assert [r["detail"] for r in _audit(nocsrf_app, "staff_password_change_required")] in (
        ['{"must_change_password": true}', '{"must_change_password": false}'],
        ['{"must_change_password": false}', '{"must_change_password": true}'])


# --- the audit log -------------------------------------------------------------------------

def test_each_change_is_audited_without_the_secret(web):
    supervisor_pass = "supervisor" + DEMO_PASSWORD_SUFFIX
    new_supervisor_pass = "supervisor-new-pass-77"
    admin = _signed_in(web, "admin")
    assert admin.post(f"/backoffice/staff/{_user(web, 'cashier2').id}/password",
                      data={"password": "reset-by-admin-1", "must_change": "on"}).status_code == 302
    assert _change_on_page(_signed_in(web, "cashier2", "reset-by-admin-1"), "reset-by-admin-1",
                           "cashier2-own-pass-9").status_code == 302
    supervisor = _signed_in(web, "supervisor")
    assert supervisor.post("/account/pin", data={"password": supervisor_pass, "pin": "86420",
                                                 "pin_again": "86420"}).status_code == 302
    assert _change_on_page(supervisor, supervisor_pass, new_supervisor_pass).status_code == 302
    headers = api_token(web.test_client(), "cashier")
    assert web.test_client().post("/api/v1/auth/password", headers=headers,
                                  json={"old_password": OLD, "new_password": NEW}).status_code == 200

    changed = _audit(web, "password_changed")
    assert sorted(r["actor"] for r in changed) == ["cashier", "cashier2", "supervisor"]
    assert [r["actor"] for r in _audit(web, "pin_changed")] == ["supervisor"]
    assert all(r["actor_id"] and r["address"] for r in changed)
    with _db(web).session() as s:
        everything = " ".join(str(v) for row in s.execute(text("SELECT * FROM audit_log")).all() for v in row)
        users = " ".join(str(v) for row in s.execute(text("SELECT * FROM staff_users")).all() for v in row)
    for secret in (supervisor_pass, new_supervisor_pass, "86420", "reset-by-admin-1", "cashier2-own-pass-9", OLD, NEW):
        assert secret not in everything, secret
        assert secret not in users, secret  # stored as scrypt hashes only


# --- the page in each language ------------------------------------------------------------

class _Shown(HTMLParser):
    """The text a reader sees: text outside script and style, and shown attributes."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in ("script", "style")
        self.parts += [v for k, v in attrs if k in ("alt", "title", "placeholder", "aria-label") and v]

    def handle_endtag(self, tag):
        self.hidden -= tag in ("script", "style")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def _shown(html: str) -> str:
    parser = _Shown()
    parser.feed(html)
    return " ".join(parser.parts)


def test_the_account_page_speaks_one_language_at_a_time(nocsrf_app):
    supervisor = _signed_in(nocsrf_app, "supervisor")
    supervisor.post("/account/pin", data={"password": "x", "pin": "5678", "pin_again": "5678"})  # an error shown too
    zh = _shown(supervisor.post("/account/pin", data={"password": "x", "pin": "56", "pin_again": "56"})
                .get_data(as_text=True))
    # "English" is the language switch, written for its reader; "PIN" is the till's own word
    # for the supervisor's code (主管授权码), the same on every page.
    assert re.findall(r"[A-Za-z]{3,}", zh.replace("English", "").replace("PIN", "")) == [], zh
    assert "主管授权码" in zh and "修改密码" in zh
    supervisor.set_cookie("lang", "en")
    en = _shown(supervisor.get("/account/password").get_data(as_text=True))
    name = _user(nocsrf_app, "supervisor").display_name
    assert not re.search(r"[\u4e00-\u9fff]", en.replace("中文", "").replace(name, "")), en
    assert "Supervisor PIN" in en and "Change password" in en
