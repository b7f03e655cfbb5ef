"""Every way a till request can be wrong answers a 4xx JSON error a cashier can act on,
and changes nothing.  A 500 is a bug."""
from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import text

from support import api_token, build_app

WATCHED = ("sales", "sale_lines", "subsidy_grants", "voids", "idempotency_keys", "shifts", "free_meal_counters")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """One SQLite app for the whole table of cases (each case must leave it unchanged)."""
    tmp = tmp_path_factory.mktemp("till-errors")
    app = build_app(f"sqlite:///{tmp / 'canteen.db'}", tmp)
    client = app.test_client()
    h = api_token(client, "cashier")
    assert client.post("/api/v1/shifts", json={"opening_float_fen": 10000}, headers=h).status_code == 201
    menu = client.get("/api/v1/menu", headers=h).get_json()["items"]
    jm_item = client.get("/api/v1/menu", headers=api_token(client, "jm-cashier")).get_json()["items"][0]
    with app.extensions["canteen_db"].transaction() as s:
        s.execute(text("UPDATE menu_items SET available = FALSE WHERE canteen_id = 'YLW01' AND name = '馒头'"))
    unavailable = next(i for i in menu if i["name"] == "馒头")
    welfare = next(i for i in menu if i["welfare_meal"])
    sale = client.post("/api/v1/sales", headers={**h, "Idempotency-Key": str(uuid.uuid4())},
                       json={"lines": [{"item_id": welfare["id"], "qty": 1}], "due_fen": 1500,
                             "tender": {"method": "cash", "tendered_fen": 1500}}).get_json()
    yield {"app": app, "client": client, "h": h, "welfare": welfare, "jm_item": jm_item,
           "unavailable": unavailable, "sale": sale, "registrar": api_token(client, "registrar")}
    app.extensions["canteen_db"].dispose()


def _sale(env, **changes):
    body = {"lines": [{"item_id": env["welfare"]["id"], "qty": 1}], "due_fen": 1500,
            "tender": {"method": "cash", "tendered_fen": 2000}}
    body.update(changes)
    return body


def _line(env, **changes):
    return _sale(env, lines=[{"item_id": env["welfare"]["id"], "qty": 1, **changes}])


KEY = "Idempotency-Key"

# (case, method, path, body builder or raw bytes, extra headers, status, error code or None)
CASES = [
    ("malformed JSON", "POST", "/api/v1/sales", b'{"lines": [', {KEY: "k-malformed-1"}, 422, None),
    ("empty body", "POST", "/api/v1/sales", b"", {KEY: "k-empty-body"}, 422, None),
    ("a list, not an object", "POST", "/api/v1/sales", [1, 2], {KEY: "k-list-body"}, 422, "invalid_request"),
    ("not JSON at all", "POST", "/api/v1/sales", b"lines=1", {KEY: "k-form", "Content-Type": "text/plain"}, 422, None),
    ("unknown item", "POST", "/api/v1/sales", lambda e: _sale(e, lines=[{"item_id": "nope", "qty": 1}]),
     {KEY: "k-unknown"}, 422, "unknown_item"),
    ("another canteen's item", "POST", "/api/v1/sales",
     lambda e: _sale(e, lines=[{"item_id": e["jm_item"]["id"], "qty": 1}]), {KEY: "k-jm-item"}, 422, "unknown_item"),
    ("unavailable item", "POST", "/api/v1/sales",
     lambda e: _sale(e, lines=[{"item_id": e["unavailable"]["id"], "qty": 1}], due_fen=100), {KEY: "k-unavail"},
     422, "item_unavailable"),
    ("zero quantity", "POST", "/api/v1/sales", lambda e: _line(e, qty=0), {KEY: "k-qty-0"}, 422, "invalid_request"),
    ("negative quantity", "POST", "/api/v1/sales", lambda e: _line(e, qty=-1), {KEY: "k-qty-neg"}, 422, "invalid_request"),
    ("quantity 100", "POST", "/api/v1/sales", lambda e: _line(e, qty=100), {KEY: "k-qty-100"}, 422, "invalid_request"),
    ("huge quantity", "POST", "/api/v1/sales", lambda e: _line(e, qty=10**30), {KEY: "k-qty-huge"}, 422, "invalid_request"),
    ("quantity as text", "POST", "/api/v1/sales", lambda e: _line(e, qty="1"), {KEY: "k-qty-str"}, 422, "invalid_request"),
    ("fractional quantity", "POST", "/api/v1/sales", lambda e: _line(e, qty=1.5), {KEY: "k-qty-frac"}, 422, "invalid_request"),
    ("boolean quantity", "POST", "/api/v1/sales", lambda e: _line(e, qty=True), {KEY: "k-qty-bool"}, 422, "invalid_request"),
    ("missing quantity", "POST", "/api/v1/sales", lambda e: _sale(e, lines=[{"item_id": e["welfare"]["id"]}]),
     {KEY: "k-qty-missing"}, 422, "invalid_request"),
    ("no lines", "POST", "/api/v1/sales", lambda e: _sale(e, lines=[]), {KEY: "k-no-lines"}, 422, "invalid_request"),
    ("51 lines", "POST", "/api/v1/sales", lambda e: _sale(e, lines=[{"item_id": e["welfare"]["id"], "qty": 1}] * 51),
     {KEY: "k-51-lines"}, 422, "invalid_request"),
    ("due as text", "POST", "/api/v1/sales", lambda e: _sale(e, due_fen="1500"), {KEY: "k-due-str"}, 422, "invalid_request"),
    ("due in yuan", "POST", "/api/v1/sales", lambda e: _sale(e, due_fen=15.0), {KEY: "k-due-float"}, 422, "invalid_request"),
    ("negative due", "POST", "/api/v1/sales", lambda e: _sale(e, due_fen=-1), {KEY: "k-due-neg"}, 422, "invalid_request"),
    ("missing due", "POST", "/api/v1/sales", lambda e: {k: v for k, v in _sale(e).items() if k != "due_fen"},
     {KEY: "k-due-missing"}, 422, "invalid_request"),
    ("unknown field", "POST", "/api/v1/sales", lambda e: _sale(e, price_fen=1), {KEY: "k-extra"}, 422, "invalid_request"),
    ("unknown tender", "POST", "/api/v1/sales", lambda e: _sale(e, tender={"method": "card"}), {KEY: "k-card-tender"},
     422, "invalid_request"),
    ("negative cash", "POST", "/api/v1/sales", lambda e: _sale(e, tender={"method": "cash", "tendered_fen": -5}),
     {KEY: "k-cash-neg"}, 422, "invalid_request"),
    ("not enough cash", "POST", "/api/v1/sales", lambda e: _sale(e, tender={"method": "cash", "tendered_fen": 100}),
     {KEY: "k-cash-short"}, 422, "insufficient_cash"),
    ("free with money due", "POST", "/api/v1/sales", lambda e: _sale(e, tender={"method": "free"}), {KEY: "k-free-due"},
     422, "not_free"),
    ("empty credential", "POST", "/api/v1/sales", lambda e: _sale(e, credential={}), {KEY: "k-cred-empty"},
     422, "invalid_request"),
    ("two credentials", "POST", "/api/v1/sales",
     lambda e: _sale(e, credential={"scan": "x", "id_number": "330205194001011234"}), {KEY: "k-cred-two"},
     422, "invalid_request"),
    ("mistyped resident ID", "POST", "/api/v1/sales", lambda e: _sale(e, credential={"id_number": "330205194001011230"}),
     {KEY: "k-id-bad"}, 422, None),
    ("first-generation ID", "POST", "/api/v1/sales", lambda e: _sale(e, credential={"id_number": "330205400101123"}),
     {KEY: "k-id-first-gen"}, 422, "resident_id_first_generation"),
    ("unreadable scan", "POST", "/api/v1/sales", lambda e: _sale(e, credential={"scan": "hello"}), {KEY: "k-scan-text"},
     404, "unknown_code"),
    ("damaged voucher QR", "POST", "/api/v1/sales", lambda e: _sale(e, credential={"scan": "http://x/v/abc"}),
     {KEY: "k-scan-cut"}, 422, None),
    ("stale price", "POST", "/api/v1/sales", lambda e: _sale(e, due_fen=1400), {KEY: "k-stale-price"}, 409, "price_changed"),
    ("no Idempotency-Key", "POST", "/api/v1/sales", lambda e: _sale(e), {}, 428, "idempotency_key_required"),
    ("blank Idempotency-Key", "POST", "/api/v1/sales", lambda e: _sale(e), {KEY: "  "}, 428, "idempotency_key_required"),
    ("bad Idempotency-Key", "POST", "/api/v1/sales", lambda e: _sale(e), {KEY: "a b c d e f g"}, 400,
     "invalid_idempotency_key"),
    ("quote: malformed JSON", "POST", "/api/v1/sales/quote", b"{", {}, 422, None),
    ("quote: unknown item", "POST", "/api/v1/sales/quote", {"lines": [{"item_id": "zz", "qty": 1}]}, {}, 422,
     "unknown_item"),
    ("quote: qty as text", "POST", "/api/v1/sales/quote", lambda e: {"lines": [{"item_id": e["welfare"]["id"], "qty": "2"}]},
     {}, 422, "invalid_request"),
    ("lookup: nothing to look up", "POST", "/api/v1/credentials/lookup", {}, {}, 422, "invalid_request"),
    ("lookup: bad ID", "POST", "/api/v1/credentials/lookup", {"id_number": "12345"}, {}, 422, "resident_id_length"),
    ("sale: unknown id", "GET", "/api/v1/sales/nope", None, {}, 404, "unknown_sale"),
    ("void: unknown sale", "POST", "/api/v1/sales/nope/void", {"reason": "x", "supervisor": "supervisor", "pin": "1234"},
     {}, 404, "unknown_sale"),
    ("void: no reason", "POST", lambda e: f"/api/v1/sales/{e['sale']['id']}/void",
     {"supervisor": "supervisor", "pin": "1234"}, {}, 422, "invalid_request"),
    ("void: reason too long", "POST", lambda e: f"/api/v1/sales/{e['sale']['id']}/void",
     {"reason": "x" * 201, "supervisor": "supervisor", "pin": "1234"}, {}, 422, "invalid_request"),
    ("void: PIN as a number", "POST", lambda e: f"/api/v1/sales/{e['sale']['id']}/void",
     {"reason": "x", "supervisor": "supervisor", "pin": 1234}, {}, 422, "invalid_request"),
    ("void: PIN without supervisor", "POST", lambda e: f"/api/v1/sales/{e['sale']['id']}/void",
     {"reason": "x", "pin": "1234"}, {}, 422, "supervisor_required"),
    ("void: cashier's PIN is no approval", "POST", lambda e: f"/api/v1/sales/{e['sale']['id']}/void",
     {"reason": "x", "supervisor": "cashier", "pin": "1234"}, {}, 403, "bad_pin"),
    ("shift: float as text", "POST", "/api/v1/shifts", {"opening_float_fen": "100"}, {}, 422, "invalid_request"),
    ("shift: negative float", "POST", "/api/v1/shifts", {"opening_float_fen": -1}, {}, 422, "invalid_request"),
    ("shift: already open", "POST", "/api/v1/shifts", {"opening_float_fen": 0}, {}, 409, "shift_already_open"),
    ("shift: close unknown", "POST", "/api/v1/shifts/nope/close", {"counted_cash_fen": 0}, {}, 404, "unknown_shift"),
    ("shift: count missing", "POST", "/api/v1/shifts/nope/close", {}, {}, 422, "invalid_request"),
    ("not signed in", "POST", "/api/v1/sales", lambda e: _sale(e), {KEY: "k-anonymous", "Authorization": ""}, 401,
     "not_signed_in"),
    ("registrar may not sell", "POST", "/api/v1/sales", lambda e: _sale(e), {KEY: "k-registrar", "as": "registrar"},
     403, "forbidden"),
    ("body over 1 MB", "POST", "/api/v1/sales", b'{"lines": "' + b"x" * (1024 * 1024 + 10) + b'"}', {KEY: "k-big-body"},
     413, None),
]


def _counts(app) -> dict:
    with app.extensions["canteen_db"].session() as s:
        return {t: s.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in WATCHED} | {
            "free_used": s.execute(text("SELECT COALESCE(SUM(used), 0) FROM free_meal_counters")).scalar()}


@pytest.mark.parametrize("case,method,path,body,headers,status,code", CASES, ids=[c[0] for c in CASES])
def test_bad_request_gets_a_4xx_json_error_and_changes_nothing(env, case, method, path, body, headers, status, code):
    app, client = env["app"], env["client"]
    before = _counts(app)
    h = dict(env["h"])
    headers = dict(headers)
    if headers.pop("as", None) == "registrar":
        h = dict(env["registrar"])
    if headers.get("Authorization") == "":
        h.pop("Authorization")
        headers.pop("Authorization")
    h.update(headers)
    path = path(env) if callable(path) else path
    body = body(env) if callable(body) else body
    kwargs = {}
    if isinstance(body, (bytes, bytearray)):
        kwargs["data"] = body
        h.setdefault("Content-Type", "application/json")
    elif body is not None:
        kwargs["json"] = body
    r = client.open(path, method=method, headers=h, **kwargs)
    assert r.status_code == status, (case, r.status_code, r.get_data(as_text=True)[:300])
    assert r.mimetype == "application/json", case
    err = r.get_json()["error"]
    assert err["message"] and err["message_zh"] and err["message_en"]
    if code:
        assert err["code"] == code, (case, err)
    after = _counts(app)
    if case == "void: cashier's PIN is no approval":
        assert before == after  # the refused PIN is recorded in login_attempts, nothing else
    else:
        assert before == after, case


def test_a_void_of_a_sale_that_does_not_exist_never_asks_for_the_pin(env):
    """Unknown sale and other canteen are refused before a PIN attempt is spent."""
    with env["app"].extensions["canteen_db"].session() as s:
        before = s.execute(text("SELECT COUNT(*) FROM login_attempts WHERE kind = 'pin'")).scalar()
    r = env["client"].post("/api/v1/sales/missing/void", headers=env["h"],
                           json={"reason": "x", "supervisor": "supervisor", "pin": "0000"})
    assert r.status_code == 404
    with env["app"].extensions["canteen_db"].session() as s:
        assert s.execute(text("SELECT COUNT(*) FROM login_attempts WHERE kind = 'pin'")).scalar() == before
    assert json.loads(r.get_data())["error"]["code"] == "unknown_sale"
