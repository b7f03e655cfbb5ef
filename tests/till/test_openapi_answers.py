"""The OpenAPI document tells the truth about the till's answers: every till endpoint
declares the JSON schema of its answer, and a real answer of each, made here by a scripted
cashier, validates against the schema found in the document served at
/api/v1/openapi.json (not against the pydantic models themselves: the document is what a
tablet or a client generator reads).  Refusals validate against the declared error schema.

Beyond the till, every operation of the document must declare each status it really
answers: the errors any operation may give (400, 401, 403, 413, 422, 503) with the one error
schema, and real refusals of every operation (not signed in, a role that may not, a field
it does not know, a body over the limit, no such record, an unknown canteen, too many
wrong passwords) answer a status the operation declares, in the declared content type,
valid against the declared schema.

The validator is jsonschema_rs (in the test extras); ``$ref``s resolve against the whole
document.
"""
from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

import jsonschema_rs
import pytest

from pos.access import ROLES, allowed
from security.helpers import ROLE_USERS
from support import api_token
from till.device_helpers import device_headers, register_device

DOC_URL = "/api/v1/openapi.json"
DOC_URI = "urn:canteen:openapi"  # the name the document goes by in the validator's registry

#: Each till endpoint (Flask endpoint name) and the answer it must declare: method, the
#: OpenAPI path (``{sale_id}`` where Flask writes ``<sale_id>``) and the success status.
#: A till endpoint missing here fails test_every_till_endpoint_has_a_checked_answer.
ANSWERS: dict[str, tuple[str, str, int]] = {
    "api.till_menu": ("GET", "/api/v1/menu", 200),
    "api.till_credentials_lookup": ("POST", "/api/v1/credentials/lookup", 200),
    "api.till_quote": ("POST", "/api/v1/sales/quote", 200),
    "api.till_sale_create": ("POST", "/api/v1/sales", 201),
    "api.till_sales_list": ("GET", "/api/v1/sales", 200),
    "api.till_sale_get": ("GET", "/api/v1/sales/{sale_id}", 200),
    "api.till_sale_void": ("POST", "/api/v1/sales/{sale_id}/void", 200),
    "api.till_quota_today": ("GET", "/api/v1/quota/today", 200),
    "api.till_shift_open": ("POST", "/api/v1/shifts", 201),
    "api.till_shift_close": ("POST", "/api/v1/shifts/{shift_id}/close", 200),
    "api.till_shift_current": ("GET", "/api/v1/shifts/current", 200),
    "api.till_offline_kit": ("GET", "/api/v1/till/offline-kit", 200),
}

#: The parts of an answer that may hold members the document does not list: the offline kit's
#: policy and diner facts are subsidies/wire.py's JSON (checked by the wire and the till's rules
#: port, not restated here), and its counts by meal period are keyed by the period's name.
WIRE_PARTS: dict[str, set[str]] = {
    "api.till_offline_kit": {"OfflineKitOut.policy", "KitEntitlementOut.facts", "KitCountersOut.periods"},
}

SUPERVISOR_PIN = {"supervisor": "supervisor", "pin": "1234"}


def openapi_path(flask_rule: str) -> str:
    """``/sales/<sale_id>`` (or ``<string:sale_id>``) as OpenAPI writes it: ``/sales/{sale_id}``."""
    return re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", flask_rule)


def json_pointer(*parts: str) -> str:
    """An RFC 6901 pointer, percent-encoded for use as a URI fragment (``{`` is not
    allowed in a URI as it is)."""
    pointer = "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)
    return quote(pointer, safe="/~")


class Document:
    """The served OpenAPI document and a validator for the answers it declares."""

    def __init__(self, doc: dict):
        self.doc = doc
        version = str(doc.get("openapi", ""))
        # OpenAPI 3.1 schemas are JSON Schema 2020-12; 3.0 has its own dialect (nullable,
        # no type arrays) that a JSON Schema validator would misread.
        if not version.startswith("3.1."):
            pytest.fail(f"the document is OpenAPI {version!r}: its schemas are not JSON Schema 2020-12, "
                        "so this test cannot validate against them as they are")
        self.registry = jsonschema_rs.Registry([(DOC_URI, doc)], draft=jsonschema_rs.Draft202012)

    def declared(self, method: str, path: str, status: int) -> tuple[dict, str]:
        """The schema an operation declares for a status, and a pointer to it; fails when the
        operation, the status or its JSON schema is missing (``responses={200: None}``)."""
        operation = self.doc.get("paths", {}).get(path, {}).get(method.lower())
        assert operation is not None, f"{method} {path} is not in the OpenAPI document"
        response = operation.get("responses", {}).get(str(status))
        assert response is not None, f"{method} {path} declares no {status} answer"
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        assert schema, (f"{method} {path} declares its {status} answer without a JSON schema "
                        f"(a route with responses={{{status}: None}}?): {response}")
        return schema, json_pointer("paths", path, method.lower(), "responses", str(status), "content",
                                    "application/json", "schema")

    def validator(self, pointer: str):
        # The schema is named by its place in the document, so its "#/components/..." refs
        # resolve against the whole document.
        return jsonschema_rs.Draft202012Validator({"$ref": f"{DOC_URI}#{pointer}"}, registry=self.registry)

    def problems(self, method: str, path: str, status: int, answer) -> list[str]:
        """What is wrong with ``answer`` against the declared schema, one line each."""
        _, pointer = self.declared(method, path, status)
        return [f"{method} {path} {status}: at /{'/'.join(map(str, e.instance_path))}: {e.message}"
                for e in self.validator(pointer).iter_errors(answer)]

    def answer_problems(self, method: str, path: str, response) -> list[str]:
        """What is wrong with a real answer, whatever its status: a status the operation does
        not declare, a content type other than the one declared for that status, a body the
        declared schema refuses."""
        operation = self.doc["paths"][path][method.lower()]
        status = str(response.status_code)
        declared = operation.get("responses", {}).get(status)
        if declared is None:
            return [f"{method} {path} answered {status}, which it does not declare "
                    f"(it declares {', '.join(sorted(operation.get('responses', {})))}): {response.get_data()[:200]!r}"]
        content = declared.get("content", {})
        if response.mimetype not in content:
            return [f"{method} {path} answered {status} as {response.mimetype}; it declares {sorted(content)}"]
        if response.mimetype != "application/json":
            return []
        return self.problems(method, path, int(status), response.get_json())

    def component_problems(self, name: str, value) -> list[str]:
        validator = self.validator(json_pointer("components", "schemas", name))
        return [f"{name}: at /{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(value)]

    def resolve(self, schema: dict) -> tuple[str | None, dict]:
        ref = schema.get("$ref")
        if ref is None:
            return None, schema
        prefix = "#/components/schemas/"
        assert ref.startswith(prefix), f"unexpected $ref {ref!r} (this test resolves only {prefix}...)"
        name = ref[len(prefix):]
        return name, self.doc["components"]["schemas"][name]

    def open_objects(self, schema: dict) -> list[str]:
        """Every object schema reachable from ``schema`` that does not forbid undeclared
        members (``additionalProperties: false``), by component name or place."""
        seen: set[str] = set()
        found: list[str] = []

        def walk(node: dict, where: str) -> None:
            name, node = self.resolve(node)
            if name is not None:
                if name in seen:
                    return
                seen.add(name)
                where = name
            if node.get("type") == "object" or "properties" in node:
                if node.get("additionalProperties") is not False:
                    found.append(where)
            for key, child in node.get("properties", {}).items():
                walk(child, f"{where}.{key}")
            if isinstance(node.get("items"), dict):
                walk(node["items"], f"{where}[]")
            for combinator in ("anyOf", "oneOf", "allOf"):
                for i, child in enumerate(node.get(combinator, [])):
                    walk(child, f"{where}<{combinator}{i}>")

        walk(schema, "(answer)")
        return found


@pytest.fixture
def document(client) -> Document:
    r = client.get(DOC_URL)
    assert r.status_code == 200, r.status_code
    return Document(r.get_json())


class Checked:
    """Real answers checked against the document as a scenario makes them.  A wrong status
    stops the scenario at once (what follows depends on it); schema problems are gathered
    so one run lists them all."""

    def __init__(self, document: Document):
        self.document = document
        self.problems: list[str] = []
        self.endpoints: set[str] = set()

    def __call__(self, endpoint: str, response) -> dict:
        method, path, status = ANSWERS[endpoint]
        body = response.get_json()
        assert response.status_code == status, f"{endpoint}: {response.status_code} {body}"
        self.problems += self.document.problems(method, path, status, body)
        self.endpoints.add(endpoint)
        return body


def test_every_till_endpoint_has_a_checked_answer(app):
    """A new till route (or a moved one) must come with a row in ANSWERS, so its answer is
    checked against the document too."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.till_"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((rule.endpoint, method, openapi_path(rule.rule)))
    table = {(endpoint, method, path) for endpoint, (method, path, _) in ANSWERS.items()}
    assert routes, "no api.till_* endpoints found: were the till routes renamed?"
    assert routes - table == set(), "till routes without a checked answer in ANSWERS"
    assert table - routes == set(), "rows of ANSWERS that match no till route"


def test_every_till_answer_forbids_members_it_does_not_declare(document):
    """The answer models set extra="forbid"; the document must say so (additionalProperties:
    false) at every level, or a member the schema does not know would pass unnoticed."""
    open_objects = {}
    for endpoint, (method, path, status) in ANSWERS.items():
        schema, _ = document.declared(method, path, status)
        found = set(document.open_objects(schema))
        assert found >= WIRE_PARTS.get(endpoint, set()), f"{endpoint}: WIRE_PARTS names parts that are not open"
        if found := sorted(found - WIRE_PARTS.get(endpoint, set())):
            open_objects[endpoint] = found
    assert open_objects == {}, "answer schemas that allow undeclared members (additionalProperties is not false):\n" + \
        "\n".join(f"{endpoint}: {', '.join(found)}" for endpoint, found in open_objects.items())


def test_an_undeclared_member_fails_the_check(client, till, document):
    """The check has teeth: a real answer with one member more, or one less, does not pass."""
    method, path, status = ANSWERS["api.till_menu"]
    menu = client.get("/api/v1/menu", headers=till.headers).get_json()
    assert document.problems(method, path, status, menu) == []
    assert document.problems(method, path, status, {**menu, "surprise": 1}) != []
    assert document.problems(method, path, status, {**menu, "items": [{**menu["items"][0], "surprise": 1}]}) != []
    assert document.problems(method, path, status, {"canteen": menu["canteen"]}) != []


def test_every_till_answer_validates_against_the_schema_the_document_declares(client, till, seniors, voucher_for,
                                                                              document):
    """A cashier's day through every till endpoint, with the nullable parts both empty and
    filled (a sale with a credential and a void, a shift open and closed, none current)."""
    check = Checked(document)
    h = till.headers
    senior = seniors[0]

    check("api.till_menu", client.get("/api/v1/menu", headers=h))
    current = check("api.till_shift_current", client.get("/api/v1/shifts/current", headers=h))
    assert current["shift"] is not None

    # A voucher scan and a bare ID number: the credential member filled, two ways.
    scan = {"scan": voucher_for(senior)}
    check("api.till_credentials_lookup", client.post("/api/v1/credentials/lookup", json=scan, headers=h))
    check("api.till_credentials_lookup",
          client.post("/api/v1/credentials/lookup", json={"id_number": seniors[1]}, headers=h))

    welfare = [{"item_id": till.welfare["id"], "qty": 1}]
    quote_ = check("api.till_quote", till.quote(welfare, scan))
    assert quote_["credential"] is not None and quote_["subsidy_fen"] > 0
    check("api.till_quote", till.quote(welfare))  # no credential: null credential and benefit

    subsidised = check("api.till_sale_create", till.sell(welfare, scan, due_fen=quote_["due_fen"]))
    plain = check("api.till_sale_create", till.sell([{"item_id": till.item(welfare=False)["id"], "qty": 2}]))

    check("api.till_sale_get", client.get(f"/api/v1/sales/{plain['id']}", headers=h))
    voided = check("api.till_sale_void", client.post(f"/api/v1/sales/{subsidised['id']}/void", headers=h,
                                                     json={"reason": "顾客退餐", **SUPERVISOR_PIN}))
    assert voided["void"] is not None
    check("api.till_sale_get", client.get(f"/api/v1/sales/{subsidised['id']}", headers=h))
    listed = check("api.till_sales_list", client.get("/api/v1/sales?limit=5", headers=h))
    assert {s["id"] for s in listed["sales"]} >= {plain["id"], subsidised["id"]}

    check("api.till_quota_today", client.get("/api/v1/quota/today", headers=h))

    closed = check("api.till_shift_close", client.post(f"/api/v1/shifts/{current['shift']['id']}/close",
                                                       json={"counted_cash_fen": 20000}, headers=h))
    assert closed["summary"] is not None
    nothing = check("api.till_shift_current", client.get("/api/v1/shifts/current", headers=h))
    assert nothing["shift"] is None
    check("api.till_shift_open", client.post("/api/v1/shifts", json={"opening_float_fen": 5000}, headers=h))

    # The offline kit of a registered till, before its lease (null) and with it.
    on_device = device_headers(h, register_device(client))
    kit = check("api.till_offline_kit", client.get("/api/v1/till/offline-kit", headers=on_device))
    assert kit["lease"] is None and kit["entitlements"] and kit["menu"]
    assert client.post("/api/v1/devices/lease", headers=on_device).status_code == 200
    assert check("api.till_offline_kit", client.get("/api/v1/till/offline-kit", headers=on_device))["lease"]

    assert check.endpoints == set(ANSWERS), "endpoints in ANSWERS that the scenario did not call"
    assert check.problems == [], "real answers that the OpenAPI document does not describe:\n" + "\n".join(
        check.problems)


def _refusal(document: Document, method: str, path: str, response, status: int, code: str) -> dict:
    body = response.get_json()
    assert (response.status_code, body["error"]["code"]) == (status, code), body
    assert document.problems(method, path, status, body) == []
    return body


def test_refusals_validate_against_the_declared_error_schema(client, till, document):
    """A refusal answers the declared error schema, with its extra members (the new quote of
    price_changed, the open shift of shift_already_open) in the shape of their own answers."""
    welfare = [{"item_id": till.welfare["id"], "qty": 1}]
    due = till.quote(welfare).get_json()["due_fen"]
    sales = ("POST", "/api/v1/sales")

    stale = _refusal(document, *sales, till.sell(welfare, due_fen=due + 100), 409, "price_changed")
    assert document.component_problems("QuoteOut", stale["quote"]) == []

    _refusal(document, *sales, till.sell(welfare, due_fen=due, tender={"method": "cash", "tendered_fen": due - 1}),
             422, "insufficient_cash")
    # Pydantic's refusal, answered by the app's own validation callback, not the store.
    unknown_field = client.post("/api/v1/sales", headers={**till.headers, "Idempotency-Key": str(uuid.uuid4())},
                                json={"lines": welfare, "due_fen": due, "tender": {"method": "free"}, "price_fen": 1})
    _refusal(document, *sales, unknown_field, 422, "invalid_request")
    no_key = client.post("/api/v1/sales", headers=till.headers,
                         json={"lines": welfare, "due_fen": due, "tender": {"method": "cash", "tendered_fen": due}})
    _refusal(document, *sales, no_key, 428, "idempotency_key_required")

    open_again = client.post("/api/v1/shifts", json={"opening_float_fen": 100}, headers=till.headers)
    already = _refusal(document, "POST", "/api/v1/shifts", open_again, 409, "shift_already_open")
    assert document.component_problems("ShiftOut", already["shift"]) == []


# -- every operation: the statuses it really answers are the ones it declares ---------------------

#: The errors any operation may give, declared once for all (pos/web/api/blueprint.py).
COMMON_STATUSES = ("400", "401", "403", "413", "422", "503")
ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorOut"}


def operations(doc: dict) -> list[tuple[str, str, dict]]:
    """(method, path, operation) of every operation in the document."""
    return [(method.upper(), path, op) for path, ops in doc["paths"].items() for method, op in ops.items()]


@pytest.fixture
def sqlite_document(sqlite_app) -> Document:
    r = sqlite_app.test_client().get(DOC_URL)
    assert r.status_code == 200, r.status_code
    return Document(r.get_json())


def test_every_operation_declares_the_common_errors_with_the_error_schema(sqlite_document):
    """Every operation declares the errors any operation may give; every error it declares
    is the one error shape (``{"error": {...}}``, never a list of validation errors) and
    every answer it declares has a body."""
    doc = sqlite_document.doc
    wrong = []
    for method, path, op in operations(doc):
        responses = op.get("responses", {})
        if missing := [status for status in COMMON_STATUSES if status not in responses]:
            wrong.append(f"{method} {path}: declares no {', '.join(missing)}")
        for status, response in responses.items():
            content = response.get("content")
            if not content:
                wrong.append(f"{method} {path} {status}: declared without a body (responses={{{status}: None}}?)")
            elif int(status) >= 400 and content != {"application/json": {"schema": ERROR_SCHEMA}}:
                wrong.append(f"{method} {path} {status}: not the error schema: {content}")
    assert "ValidationErrorModel" not in doc["components"]["schemas"]
    assert wrong == [], "\n".join(wrong)


def test_an_undeclared_status_fails_the_check(sqlite_document):
    """The check has teeth: a status the operation does not declare, a declared status in
    another content type, or a 422 in another shape, does not pass; a declared refusal does."""
    from flask import Response

    error = '{"error": {"code": "unknown_sale", "message": "没有这笔销售 / no such sale", ' \
            '"message_zh": "没有这笔销售", "message_en": "no such sale"}}'
    sale = ("GET", "/api/v1/sales/{sale_id}")
    assert sqlite_document.answer_problems(*sale, Response(error, status=404, mimetype="application/json")) == []
    assert sqlite_document.answer_problems(*sale, Response(error, status=418, mimetype="application/json")) != []
    assert sqlite_document.answer_problems(*sale, Response(error, status=429, mimetype="application/json")) != []
    assert sqlite_document.answer_problems(*sale, Response("<p>no</p>", status=404, mimetype="text/html")) != []
    assert sqlite_document.answer_problems(*sale, Response('[{"loc": ["body"], "msg": "x", "type": "y"}]',
                                                           status=422, mimetype="application/json")) != []


class Answers:
    """Real answers of any operation checked against the document: each must be declared
    (status, content type, schema), and each probe must get the status it is after (or it
    proves nothing)."""

    def __init__(self, document: Document):
        self.document = document
        self.problems: list[str] = []
        self.statuses: set[int] = set()

    def __call__(self, method: str, path: str, response, expect: int) -> None:
        self.statuses.add(response.status_code)
        if response.status_code != expect:
            self.problems.append(f"{method} {path}: expected {expect}, answered {response.status_code} "
                                 f"{response.get_data()[:200]!r}")
        self.problems += self.document.answer_problems(method, path, response)


def endpoint_of(app, method: str, path: str) -> str:
    endpoint, _ = app.url_map.bind("localhost").match(re.sub(r"\{[^}]+\}", "nope", path), method=method)
    return endpoint


def test_every_operation_declares_the_refusals_it_really_gives(sqlite_app, sqlite_document):
    """Each operation called anonymously (401), by a role that may not (403), with a member
    it does not know or a body that is not JSON (422: there is no 415), with a body over the
    limit (413), for a record that does not exist (404); the operations naming a canteen,
    with one that does not exist (404); the sign-in with wrong passwords until it is
    throttled (401, then 429); a signed-in page's API call without its CSRF token (400); a
    day close and the PDFs (201, 200).  Every answer is one its operation declares."""
    from pos.clock import business_date

    app = sqlite_app
    client = app.test_client()
    tokens = {role: api_token(client, ROLE_USERS[role]) for role in ROLES}
    check = Answers(sqlite_document)

    for method, path, op in operations(sqlite_document.doc):
        url = re.sub(r"\{[^}]+\}", "nope", path)
        endpoint = endpoint_of(app, method, path)
        may = [role for role in ROLES if allowed(endpoint, role)]
        may_not = [role for role in ROLES if not allowed(endpoint, role)]
        takes_body = "requestBody" in op

        def call(role: str | None, **kw):
            headers = {**(tokens[role] if role else {}), "Idempotency-Key": str(uuid.uuid4())}
            if takes_body and "data" not in kw:
                kw.setdefault("json", {})
            return client.open(url, method=method, headers=headers, **kw)

        if {} not in op.get("security", [{}]):  # {}: no credentials needed (the sign-in)
            check(method, path, call(None), 401)
        if may_not:
            check(method, path, call(may_not[0]), 403)
        if takes_body:
            check(method, path, call(may[0], json={"unexpected": 1}), 422)
            check(method, path, call(may[0], data="opening_float_fen=1", content_type="text/plain"), 422)  # not JSON
            check(method, path, call(may[0], data=b'"' + b"x" * (1024 * 1024) + b'"', content_type="application/json"),
                  413)
        elif "{" in path:
            check(method, path, call(may[0]), 404)

    # A canteen that does not exist, named by an admin.
    admin = tokens["admin"]
    today = business_date(app.config["CANTEEN"].default_canteen.timezone).isoformat()
    check("GET", "/api/v1/claims", client.get("/api/v1/claims?canteen=NOPE", headers=admin), 404)
    check("GET", "/api/v1/tickets/sheet.pdf",
          client.get(f"/api/v1/tickets/sheet.pdf?business_date={today}&canteen=NOPE", headers=admin), 404)
    for path, body in (("/api/v1/day-close", {"business_date": today, "canteen": "NOPE"}),
                       ("/api/v1/tickets", {"business_date": today, "canteen": "NOPE"}),
                       ("/api/v1/menu/items", {"name": "例汤", "price_fen": 300, "category": "汤", "canteen": "NOPE"})):
        check("POST", path, client.post(path, json=body, headers=admin), 404)

    # Wrong passwords from one address until the sign-in is throttled.
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "10.99.0.1"
    limit = app.config["CANTEEN"].security.login_max_failures
    for attempt in range(limit + 1):
        r = guesser.post("/api/v1/auth/token", json={"username": "cashier", "password": f"wrong-{attempt}"})
        check("POST", "/api/v1/auth/token", r, 401 if attempt < limit else 429)

    # A browser signed in with its session cookie calls the API without the page's CSRF token.
    browser = app.test_client()
    form = browser.get("/login").get_data(as_text=True)
    csrf_token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    assert csrf_token, "no CSRF token on the sign-in page"
    signed_in = browser.post("/login", data={"username": "cashier", "password": "cashier-demo-pass",
                                             "csrf_token": csrf_token.group(1)})
    assert signed_in.status_code == 302, signed_in.status_code
    check("POST", "/api/v1/shifts", browser.post("/api/v1/shifts", json={"opening_float_fen": 0}), 400)

    # Answers beyond the till's: a day close, the PDFs.
    yesterday = (date.fromisoformat(today) - timedelta(days=1)).isoformat()
    check("POST", "/api/v1/day-close",
          client.post("/api/v1/day-close", json={"business_date": yesterday}, headers=tokens["supervisor"]), 201)
    check("GET", "/api/v1/vouchers/cards.pdf", client.get("/api/v1/vouchers/cards.pdf", headers=admin), 200)
    check("GET", "/api/v1/tickets/sheet.pdf",
          client.get(f"/api/v1/tickets/sheet.pdf?business_date={today}", headers=admin), 200)

    assert check.problems == [], "answers the OpenAPI document does not describe (or probes that missed):\n" + \
        "\n".join(check.problems)
    assert check.statuses >= {400, 401, 403, 404, 413, 422, 429}


def test_a_database_that_cannot_be_written_answers_a_declared_503(sqlite_app, sqlite_document, tmp_path):
    """On a database opened read-only, the sign-in and a shift's opening answer 503, as the
    document declares (the storage refusal, with the error schema)."""
    from support import app_on, copy_sqlite

    token = api_token(sqlite_app.test_client(), ROLE_USERS["cashier"])
    source = sqlite_app.config["CANTEEN"].database_url.removeprefix("sqlite:///")
    copy_sqlite(Path(source), tmp_path / "read-only.db")
    read_only = app_on(f"sqlite:///file:{tmp_path / 'read-only.db'}?mode=ro&uri=true", tmp_path / "read-only")
    try:
        client = read_only.test_client()
        check = Answers(sqlite_document)
        check("POST", "/api/v1/auth/token",
              client.post("/api/v1/auth/token", json={"username": "cashier", "password": "cashier-demo-pass"}), 503)
        check("POST", "/api/v1/shifts", client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=token), 503)
        assert check.problems == [], "\n".join(check.problems)
    finally:
        read_only.extensions["canteen_db"].dispose()
