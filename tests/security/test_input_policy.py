"""The input policy at the edge (pos.web.input_policy): control characters refused in every
string the API documents and in forms, query strings and path segments, on SQLite and
PostgreSQL (PostgreSQL cannot store a NUL; SQLite would keep it), with nothing changed; names
that hold a visible character and no bidirectional control; text stored as NFC; JSON bodies
too deep or too big refused before they are parsed; dates and months out of range refused by
the API, the pages, the downloads and the CLI."""
from __future__ import annotations

import json
import logging
import re
import unicodedata
from datetime import date, timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import inspect, select, text

from backoffice.bo_helpers import make_id_number, signed_in
from pos.access import ROLES, ROUTE_ROLES, allowed
from pos.web.cli import cli
from pos.web.input_policy import (LINE, NAME, SECRET, TEXT, TextProblem, check_day, clean, json_too_deep,
                                  last_day)
from security.helpers import ROLE_USERS
from support import api_token

NUL, ESC = "\x00", "\x1b"
BIRTH = date(1946, 4, 5)


def row_counts(app) -> dict[str, int]:
    """Rows in every table of the database."""
    engine = app.extensions["canteen_db"].engine
    names = sorted(inspect(engine).get_table_names())
    with engine.connect() as conn:
        return {name: conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one() for name in names}


def answer_text(response) -> str:
    return json.dumps(response.get_json(), ensure_ascii=False)


# -- the rules themselves -----------------------------------------------------------------------

@pytest.mark.parametrize("value, kind, expected", [
    ("张三", NAME, "张三"),
    ("Zoe\u0308", NAME, "Zo\u00eb"),  # NFD in, NFC out
    ("Zoe\u0308", SECRET, "Zoe\u0308"),  # a password is compared as typed
    ("第一行\r\n第二行\t完", TEXT, "第一行\n第二行\t完"),
    ("", NAME, ""),  # empty: whether it is required is the field's own rule
    ("ㄱ\u200b", NAME, "ㄱ\u200b"),
    ("A", LINE, "A"),
])
def test_text_is_kept_as_nfc(value, kind, expected):
    assert clean(value, kind) == expected


@pytest.mark.parametrize("value, kind, code", [
    ("a\x00b", LINE, "control_character"),
    ("a\x00b", TEXT, "control_character"),
    ("a\x00b", SECRET, "control_character"),
    ("a\x1bb", NAME, "control_character"),
    ("a\tb", LINE, "control_character"),  # tab and newline only where a multi-line text is allowed
    ("a\nb", NAME, "control_character"),
    ("a\x85b", LINE, "control_character"),  # C1 controls too
    ("a\ud800b", LINE, "not_unicode"),
    ("\u200b", NAME, "name_not_visible"),
    ("\u200b\u200c\ufeff \u3000", NAME, "name_not_visible"),
    ("\u3164", NAME, "name_not_visible"),  # a Hangul filler draws nothing
    ("   ", NAME, "name_not_visible"),
    ("张\u202e三", NAME, "name_bidi_control"),
    ("\u2066李四\u2069", NAME, "name_bidi_control"),
    ("王\u200f五", NAME, "name_bidi_control"),
    ("x\u061cy", NAME, "name_bidi_control"),
])
def test_text_the_policy_refuses(value, kind, code):
    with pytest.raises(TextProblem) as refused:
        clean(value, kind)
    assert refused.value.code == code
    assert "\x00" not in refused.value.en and not re.search(r"[A-Za-z]", refused.value.zh)


def test_json_depth_is_counted_on_the_bytes_outside_strings():
    assert not json_too_deep(b"[" * 32 + b"]" * 32)
    assert json_too_deep(b"[" * 33 + b"]" * 33)
    assert json_too_deep(b'{"a":' * 40 + b"1" + b"}" * 40)
    assert not json_too_deep(b'{"a": "' + b"[" * 5000 + b'"}')  # brackets inside a string
    assert not json_too_deep(b'{"a": "\\"' + b"[" * 5000 + b'"}')  # after an escaped quote, still inside
    assert json_too_deep(b"[" * 990)  # unterminated: still refused before any parser recurses


def test_business_dates_are_bounded():
    last = last_day()
    assert check_day(last) == last and check_day(date(2000, 1, 1)) == date(2000, 1, 1)
    for day in (date(1, 1, 1), date(1999, 12, 31), last + timedelta(days=1), date(9999, 12, 31)):
        with pytest.raises(Exception) as refused:
            check_day(day, "business_date")
        assert refused.value.code == "date_out_of_range" and "business_date" in refused.value.en


# -- every string the API documents --------------------------------------------------------------

def _resolve(schema: dict, doc: dict) -> dict:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def string_fields(schema: dict, doc: dict, path: tuple = ()) -> list[tuple]:
    """Paths to every string in a request body's schema (list items as index 0, a mapping's
    values under the key "key")."""
    schema = _resolve(schema, doc)
    found: list[tuple] = []
    for option in schema.get("anyOf", []):
        found += string_fields(option, doc, path)
    kind = schema.get("type")
    if kind == "string":
        found.append(path)
    elif kind == "object":
        for name, sub in schema.get("properties", {}).items():
            found += string_fields(sub, doc, path + (name,))
        if isinstance(schema.get("additionalProperties"), dict):
            found += string_fields(schema["additionalProperties"], doc, path + ("key",))
    elif kind == "array":
        found += string_fields(schema["items"], doc, path + (0,))
    return list(dict.fromkeys(found))


def nested(path: tuple, value):
    """The smallest body holding ``value`` at ``path``."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    return [nested(rest, value)] if isinstance(head, int) else {head: nested(rest, value)}


def api_cases(app) -> list[tuple[str, str, dict, str]]:
    """(method, url, json body or None, the field as an answer names it) with a NUL in one
    documented string field each: request bodies, query and path parameters."""
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    cases = []
    for template, operations in doc["paths"].items():
        for method, op in operations.items():
            params = op.get("parameters", [])
            path_params = [p["name"] for p in params if p["in"] == "path"]
            base = re.sub(r"\{[^}]+\}", "x", template)
            for p in params:
                if p["in"] == "path":
                    url = template
                    for name in path_params:
                        url = url.replace("{%s}" % name, quote("a{bad}b") if name == p["name"] else "x")
                    cases.append((method, url, None, f"path.{p['name']}"))
                elif p["in"] == "query" and string_fields(p["schema"], doc):
                    cases.append((method, f"{base}?{p['name']}=" + quote("a{bad}b"), None, f"query.{p['name']}"))
            schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            for path in string_fields(schema, doc) if schema else []:
                # A mapping's value is named by the mapping (``explanations``).
                named = path[:path.index("key")] if "key" in path else path
                cases.append((method, base, nested(path, "a{bad}b"), ".".join(str(p) for p in named)))
    return cases


def role_for(app, method: str, url: str) -> str | None:
    """A role the route table lets call the URL (None: anyone may)."""
    endpoint, _ = app.url_map.bind("localhost").match(url.split("?")[0], method=method.upper())
    if "anonymous" in ROUTE_ROLES[endpoint]:
        return None
    return next(r for r in ("admin", *ROLES) if allowed(endpoint, r))


@pytest.mark.parametrize("bad", [NUL, ESC], ids=["NUL", "ESC"])
def test_every_documented_string_refuses_control_characters_and_changes_nothing(app, bad):
    client = app.test_client()
    cases = api_cases(app)
    fields = {field for _, _, _, field in cases}
    # The inputs the hostile-input trial answered with a 500 on PostgreSQL are all among them.
    assert {"username", "tender.reference", "name", "lines.0.item_id", "path.sale_id",
            "query.diner"} <= fields, sorted(fields)
    assert len(cases) > 50
    roles = {role_for(app, method, url) for method, url, _, _ in cases} - {None}
    tokens = {None: {}, **{role: api_token(client, ROLE_USERS[role]) for role in roles}}
    before = row_counts(app)
    failures = []
    for method, url, body, field in cases:
        url = url.replace(quote("a{bad}b"), quote(f"a{bad}b"))
        if body is not None:
            body = json.loads(json.dumps(body).replace("a{bad}b", json.dumps(f"a{bad}b")[1:-1]))
        headers = tokens[role_for(app, method, url)]
        r = client.open(url, method=method.upper(), json=body, headers=headers)
        said = answer_text(r) if r.is_json else ""
        named = re.search(rf"{re.escape(field)}:? holds the control character U\+{ord(bad):04X}", said)
        if r.status_code != 422 or not named:
            failures.append(f"{method.upper()} {url} {field}: {r.status_code} {said[:300]}")
    assert not failures, "\n".join(failures)
    assert row_counts(app) == before


def test_pages_refuse_control_characters_in_forms_queries_and_paths(app):
    from pos.models import MenuItem

    with app.extensions["canteen_db"].engine.connect() as conn:
        item_id = conn.execute(select(MenuItem.id).order_by(MenuItem.id)).scalars().first()
    anonymous = app.test_client()
    r = anonymous.post("/login", data={"username": f"admin{NUL}", "password": "admin-demo-pass"})
    assert r.status_code == 422 and "form.username" not in r.get_data(as_text=True)  # a zh page: no field codes
    assert "用户名含有不允许的控制字符" in r.get_data(as_text=True)
    # Signed in by bearer token (the pages accept one): the policy answers before the CSRF check.
    registrar, admin = api_token(anonymous, "registrar"), api_token(anonymous, "admin")
    before = row_counts(app)
    for token, method, url, data in [
        (registrar, "GET", f"/backoffice/cards.pdf?diner=d1{quote(NUL)}x", None),
        (registrar, "GET", f"/backoffice/diners/d{quote(NUL)}1", None),
        (registrar, "POST", "/backoffice/diners/new",
         {"name": f"赵{ESC}大伯", "id_number": make_id_number(7, BIRTH),
          "resident": "on"}),
        (admin, "POST", f"/backoffice/menu/{item_id}", {"name": f"红烧{NUL}肉", "price": "12.00", "category": "荤菜"}),
        (admin, "GET", f"/reports/daily.pdf?canteen=YLW01{quote(NUL)}&date=2026-03-02", None),
    ]:
        r = anonymous.open(url, method=method, data=data, headers=token)
        assert r.status_code == 422, (url, r.status_code, r.get_data(as_text=True)[:300])
        assert "含有不允许的控制字符" in r.get_data(as_text=True), url
        r = anonymous.open(url, method=method, data=data, headers={**token, "Accept": "application/json"})
        assert r.status_code == 422 and "holds the control character" in r.get_json()["error"]["message_en"], url
    assert row_counts(app) == before


# -- names ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["\u200b", "张\u202e三"], ids=["zero-width-space", "right-to-left-override"])
def test_a_name_needs_a_visible_character_and_no_bidi_control(nocsrf_app, name):
    from pos.models import MenuItem

    client = nocsrf_app.test_client()
    registrar, admin = api_token(client, "registrar"), api_token(client, "admin")
    with nocsrf_app.extensions["canteen_db"].engine.connect() as conn:
        item_id = conn.execute(select(MenuItem.id).order_by(MenuItem.id)).scalars().first()
    before = row_counts(nocsrf_app)
    r = client.post("/api/v1/diners", json={"name": name, "id_number": make_id_number(8, BIRTH), "resident": True},
                    headers=registrar)
    assert r.status_code == 422 and "name: holds" in r.get_json()["error"]["message_en"], r.get_json()
    r = client.patch(f"/api/v1/menu/items/{item_id}", json={"name": name}, headers=admin)
    assert r.status_code == 422 and "name: holds" in r.get_json()["error"]["message_en"], r.get_json()
    pages_registrar, pages_admin = signed_in(nocsrf_app, "registrar"), signed_in(nocsrf_app, "admin")
    before = row_counts(nocsrf_app)
    r = pages_registrar.post("/backoffice/diners/new", data={"name": name, "id_number": make_id_number(9, BIRTH),
                                                             "resident": "on"})
    assert r.status_code == 422 and "名称" in r.get_data(as_text=True)
    r = pages_admin.post(f"/backoffice/menu/{item_id}", data={"name": name, "price": "12.00", "category": "荤菜"})
    assert r.status_code == 422
    r = pages_admin.post("/backoffice/staff", data={"username": "cook9", "display_name": name, "role": "cashier",
                                                    "password": "long-enough-pass", "canteen": "YLW01"})
    assert r.status_code == 422
    assert row_counts(nocsrf_app) == before


def test_a_name_typed_decomposed_is_stored_composed(app):
    client = app.test_client()
    registrar, admin = api_token(client, "registrar"), api_token(client, "admin")
    decomposed = "Zoe\u0308 Le\u0301a"
    assert not unicodedata.is_normalized("NFC", decomposed)
    r = client.post("/api/v1/diners", json={"name": decomposed, "id_number": make_id_number(11, BIRTH),
                                            "resident": True}, headers=registrar)
    assert r.status_code == 201, r.get_json()
    diner_id = r.get_json()["id"]
    r = client.post("/api/v1/menu/items", json={"name": "Cre\u0300me bru\u0302le\u0301e", "price_fen": 800,
                                                "category": "甜点"}, headers=admin)
    assert r.status_code == 201, r.get_json()
    item = r.get_json()
    r = client.patch(f"/api/v1/menu/items/{item['id']}", json={"name_en": "Cafe\u0301"}, headers=admin)
    assert r.status_code == 200, r.get_json()
    with app.extensions["canteen_db"].engine.connect() as conn:
        diner = conn.execute(text("SELECT name FROM diners WHERE id = :id"), {"id": diner_id}).scalar_one()
        dish = conn.execute(text("SELECT name, name_en FROM menu_items WHERE id = :id"), {"id": item["id"]}).one()
    assert diner == "Zo\u00eb L\u00e9a"
    assert tuple(dish) == ("Cr\u00e8me br\u00fbl\u00e9e", "Caf\u00e9")


def test_a_form_keeps_text_as_nfc(nocsrf_app):
    from pos.models import MenuItem

    with nocsrf_app.extensions["canteen_db"].engine.connect() as conn:
        item_id = conn.execute(select(MenuItem.id).order_by(MenuItem.id)).scalars().first()
    admin = signed_in(nocsrf_app, "admin")
    r = admin.post(f"/backoffice/menu/{item_id}", data={"name": "Cre\u0300me", "name_en": "Cafe\u0301",
                                                         "price": "12.00", "category": "甜点"})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    with nocsrf_app.extensions["canteen_db"].engine.connect() as conn:
        dish = conn.execute(select(MenuItem.name, MenuItem.name_en).where(MenuItem.id == item_id)).one()
    assert tuple(dish) == ("Cr\u00e8me", "Caf\u00e9")


# -- JSON nesting and size -----------------------------------------------------------------------

@pytest.mark.parametrize("url, role", [
    ("/api/v1/auth/token", None),
    ("/api/v1/sales/quote", "cashier"),
    ("/api/v1/diners", "registrar"),
    ("/api/v1/day-close", "supervisor"),
])
def test_json_nested_a_thousand_deep_is_refused_without_a_traceback(nocsrf_app_on_both, caplog, url, role):
    client = nocsrf_app_on_both.test_client()
    headers = api_token(client, role) if role else {}
    caplog.set_level(logging.INFO)
    for body in ("[" * 1000 + "]" * 1000, '{"lines":' * 1000 + "1" + "}" * 1000, "[" * 990):
        r = client.post(url, data=body, content_type="application/json", headers=headers)
        assert r.status_code == 422, (url, r.status_code, r.get_data(as_text=True)[:300])
        assert r.get_json()["error"]["code"] == "json_too_deep"
    # Deep brackets inside a JSON string are text, not nesting: refused by the model, not the guard.
    r = client.post(url, data=json.dumps("[" * 1000 + "]" * 1000), content_type="application/json", headers=headers)
    assert 400 <= r.status_code < 500 and r.get_json()["error"]["code"] != "json_too_deep"
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR or rec.exc_info]
    assert "Traceback" not in caplog.text and "RecursionError" not in caplog.text


def test_a_body_over_the_size_limit_is_413(nocsrf_app):
    client = nocsrf_app.test_client()
    limit = nocsrf_app.config["MAX_CONTENT_LENGTH"]
    big = json.dumps({"username": "admin", "password": "x" * limit})
    r = client.post("/api/v1/auth/token", data=big, content_type="application/json")
    assert r.status_code == 413 and r.get_json()["error"]["message_zh"] == "请求太大"
    r = client.post("/login", data={"username": "admin", "password": "x" * limit})
    assert r.status_code == 413


# -- dates and months ----------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "/reports?month=9999-12",
    "/reports/monthly.pdf?month=9999-12",
    "/reports/monthly-summary.csv?month=9999-12",
    "/reports/monthly-grants.csv?month=9999-12",
    "/reports/monthly.xlsx?month=0001-01",
    "/reports/chart.svg?month=9999-12",
    "/reports/daily.pdf?canteen=YLW01&date=9999-12-31",
    "/reports/daily.pdf?canteen=YLW01&date=0001-01-01",
    "/backoffice/tickets/YLW01/9999-12-31.pdf",
    "/backoffice/audit?since=0001-01-01",
    "/api/v1/claims?month=9999-12",
    "/api/v1/tickets/sheet.pdf?business_date=9999-12-31",
    "/reports/claims/new?month=9999-12",
])
def test_far_months_and_dates_are_refused_on_pages_downloads_and_the_api(nocsrf_app_on_both, url):
    client = signed_in(nocsrf_app_on_both, "admin")
    r = client.get(url)
    assert 400 <= r.status_code < 500, (url, r.status_code, r.get_data(as_text=True)[:300])
    page = r.get_data(as_text=True)
    assert re.search(r"(日期|月份)须在 2000-01(-01)? 至 \d{4}-\d{2}(-\d{2})? 之间", page) or "must be between" in page


def test_far_dates_are_refused_when_closing_a_day_or_making_tickets(nocsrf_app_on_both):
    app = nocsrf_app_on_both
    client = app.test_client()
    supervisor, registrar = api_token(client, "supervisor"), api_token(client, "registrar")
    pages = signed_in(app, "supervisor")
    before = row_counts(app)
    for day in ("0001-01-01", "1999-12-31", "9999-12-31"):
        r = client.post("/api/v1/day-close", json={"business_date": day}, headers=supervisor)
        assert r.status_code == 422 and r.get_json()["error"]["code"] == "date_out_of_range", r.get_json()
        assert "business_date must be between 2000-01-01" in r.get_json()["error"]["message_en"]
        r = client.post("/api/v1/tickets", json={"business_date": day}, headers=registrar)
        assert r.status_code == 422 and "business_date: must be between" in r.get_json()["error"]["message_en"]
        r = pages.post("/reports/day-close", data={"business_date": day})
        assert r.status_code == 422 and "日期须在 2000-01-01 至" in r.get_data(as_text=True)
    assert row_counts(app) == before
    # The range's own ends are business dates like any other.
    r = client.get("/api/v1/claims?month=2000-01", headers=api_token(client, "accountant"))
    assert r.status_code == 200, r.get_json()


@pytest.mark.parametrize("args", [
    ["report", "monthly", "--month", "9999-12", "--out", "m.pdf"],
    ["report", "monthly", "--month", "0001-01", "--out", "m.pdf"],
    ["report", "daily", "--date", "9999-12-31", "--out", "d.pdf"],
    ["close-day", "--date", "0001-01-01"],
    ["close-day", "--date", "9999-12-31"],
    ["correction", "list", "--month", "9999-12"],
    ["audit", "--since", "0001-01-01"],
])
def test_the_cli_refuses_far_dates_in_one_line_with_status_2(nocsrf_app, args, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)
    before = row_counts(nocsrf_app)
    r = nocsrf_app.test_cli_runner().invoke(cli, args=args)
    assert r.exit_code == 2, (args, r.output)
    assert "must be between 2000-01" in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1, r.output
    assert list(out.iterdir()) == [] and row_counts(nocsrf_app) == before


def test_the_cli_refuses_control_characters_in_names_and_reasons(nocsrf_app, monkeypatch):
    monkeypatch.setenv("CANTEEN_PASSWORD", "long-enough-pass")
    before = row_counts(nocsrf_app)
    runner = nocsrf_app.test_cli_runner()
    for args in (["user", "add", "cook9", "--role", "cashier", "--canteen", "YLW01", "--name", "\u200b"],
                 ["user", "add", f"cook{NUL}9", "--role", "cashier", "--canteen", "YLW01"],
                 ["correction", "book", "--date", "2026-03-02", "--receipt", "1", "--reason", f"错{NUL}了",
                  "--by", "supervisor", "--approver", "admin"]):
        r = runner.invoke(cli, args=args)
        assert r.exit_code == 2, (args, r.output)
        assert "holds" in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert row_counts(nocsrf_app) == before


def test_a_masked_name_leaves_out_format_characters():
    """A name stored before bidirectional controls were refused still shows plainly: the
    masked name the till and voucher page show leaves out format characters."""
    from pos.store.diners import mask_name

    assert mask_name("张\u202e金娴") == "张*娴"
    assert mask_name("\u200b王五\u2066") == "王*"
    assert mask_name("李\u200d阿婆") == "李*婆"
