"""A resident ID number cannot be found again once it has been used: not as itself, not as
its unkeyed SHA-256, not as the SHA-256 of a request body that carried it — whether it
came through the till's scan field or its ID keypad field, a back-office search (posted,
or put into an address by hand), or a registration the database failed.  Looked for in
every column of every table (and the SQLite file's raw bytes, write-ahead log included),
in the application log at DEBUG with SQL statements logged, on stdout/stderr, in every
page and answer, and in every address asked for.  On SQLite and PostgreSQL; the till
itself in Chromium on SQLite (what it keeps in the tablet's storage while a sale waits
for its answer)."""
from __future__ import annotations

import hashlib
import json
import logging
import uuid
from datetime import date
from pathlib import Path
from urllib.parse import unquote_plus, urlencode

import pytest
from sqlalchemy import inspect, text

from backoffice.bo_helpers import make_id_number
from support import LiveServer, api_token, browser_login, need_tool

REGISTERED_NAME = "隐私甲"  # a diner registered through the API, then served by an ID scan
FAILED_NAME = "故障乙"  # a registration the database fails


def _sha(data: bytes | str) -> str:
    return hashlib.sha256(data if isinstance(data, bytes) else data.encode("utf-8")).hexdigest()


def _spaced(number: str) -> str:
    return f"{number[:6]} {number[6:14]} {number[14:]}"


class Trail:
    """Every address asked for (and redirected to), every answer, and the digests a
    brute-forcer would try of every request body that carried an ID number."""

    def __init__(self):
        self.urls: list[str] = []
        self.answers: list[str] = []
        self.body_digests: set[str] = set()

    def _saw(self, url: str, r):
        self.urls.append(url)
        if r.headers.get("Location"):
            self.urls.append(r.headers["Location"])
        self.answers.append(r.get_data(as_text=True))
        return r

    def json(self, client, method: str, url: str, body: dict, headers: dict | None = None):
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        for made in (raw, json.dumps(body).encode(),
                     json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
                     json.dumps(body, sort_keys=True, separators=(",", ":")).encode()):
            self.body_digests.add(_sha(made))
        if "tender" in body:  # a sale, also as the store once hashed it: lists in canonical JSON
            cred = body.get("credential") or {}
            tender = body["tender"]
            order = {"lines": [[line["item_id"], line["qty"]] for line in body["lines"]],
                     "credential": [cred.get("scan"), cred.get("id_number")] if cred else None,
                     "due_fen": body["due_fen"],
                     "tender": [tender["method"], tender.get("tendered_fen"), tender.get("reference")]}
            self.body_digests.add(_sha(json.dumps(order, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                                  default=str)))
        return self._saw(url, client.open(url, method=method, data=raw, content_type="application/json",
                                          headers=headers or {}))

    def form(self, client, url: str, data: dict):
        self.body_digests.add(_sha(urlencode(data)))
        return self._saw(url, client.post(url, data=data))

    def get(self, client, url: str):
        return self._saw(url, client.get(url))


def _forms(numbers: list[str]) -> set[str]:
    """The ways a number could be found: as typed, lower-case x, spaced, its first 17
    digits, and the unkeyed SHA-256 of each."""
    plain = {f for n in numbers for f in (n, n.lower(), _spaced(n), n[:17])}
    return plain | {_sha(f) for f in plain}


def _every_value(app) -> list[tuple[str, str]]:
    """(table, text) of every value of every table the database holds."""
    engine = app.extensions["canteen_db"].engine
    out = []
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                out.extend((table, str(value)) for value in row if value is not None)
    return out


def _database_files(app) -> list[Path]:
    url = app.extensions["canteen_db"].url
    if not url.startswith("sqlite:///"):
        return []
    db_file = Path(url[len("sqlite:///"):])
    return [p for p in (db_file, Path(f"{db_file}-wal"), Path(f"{db_file}-journal")) if p.exists()]


def _assert_found_nowhere(app, needles: set[str], *, urls, answers, logged: str):
    for table, value in _every_value(app):
        hits = [n for n in needles if n in value]
        assert not hits, f"{table} holds {hits[0]!r}"
    for path in _database_files(app):
        data = path.read_bytes()
        for n in needles:
            assert n.encode() not in data and n.encode("utf-16-le") not in data, f"{path.name} holds {n!r}"
    for url in urls:
        decoded = url
        while unquote_plus(decoded) != decoded:  # a next= holds an address quoted once more
            decoded = unquote_plus(decoded)
        assert not any(n in decoded for n in needles), f"the address {url} holds a number"
    for answer in answers:
        assert not any(n in answer for n in needles), "an answer holds a number"
    assert not any(n in logged for n in needles), "the log or stderr holds a number"


def _refuse_diner_rows(app) -> str:
    """Make the database fail every new diner row (a trigger), as a failing disk would;
    returns the statement that lifts it."""
    engine = app.extensions["canteen_db"].engine
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("CREATE TRIGGER refuse_diner BEFORE INSERT ON diners "
                              "BEGIN INSERT INTO storage_that_is_gone VALUES (1); END"))
            return "DROP TRIGGER refuse_diner"
        conn.execute(text("CREATE FUNCTION refuse_diner() RETURNS trigger LANGUAGE plpgsql AS "
                          "$$ BEGIN RAISE EXCEPTION 'could not write block: device full'; END $$"))
        conn.execute(text("CREATE TRIGGER refuse_diner BEFORE INSERT ON diners "
                          "FOR EACH ROW EXECUTE FUNCTION refuse_diner()"))
        return "DROP TRIGGER refuse_diner ON diners; DROP FUNCTION refuse_diner()"


def test_a_sale_request_is_digested_with_an_id_number_only_as_its_pseudonym():
    """Whichever field carries it, typed or scanned, spaced or with a lower-case x, the
    request a sale's key is kept for holds the number's keyed pseudonym, never the number."""
    from datetime import datetime, timezone

    from pos.store.credentials import CredentialRequest
    from pos.store.pricing import LineRequest
    from pos.store.sales import Actor, SaleOrder, TenderRequest
    from subsidies.resident_id import pseudonym

    key = b"an ID key of this canteen district"
    number = next(n for n in (make_id_number(i, date(1939, 12, 31), region="110101") for i in range(100))
                  if n.endswith("X"))  # typed as a lower-case x below

    def kept(credential: CredentialRequest | None) -> str:
        order = SaleOrder(canteen_id="YLW01", cashier=Actor("u1", "cashier"), idempotency_key="k" * 16,
                          lines=(LineRequest("dish", 1),), credential=credential, due_fen=1500,
                          tender=TenderRequest("cash", 2000), instant=datetime.now(timezone.utc))
        return json.dumps(order.request(key), ensure_ascii=False)

    for credential in (CredentialRequest(id_number=number), CredentialRequest(scan=number),
                       CredentialRequest(scan=_spaced(number).lower()), CredentialRequest(id_number=number[:-1])):
        request = kept(credential)
        assert not any(f in request for f in _forms([number])), request
        assert pseudonym(key, credential.id_number or credential.scan) in request
    # The same person is the same request, however the number came; a voucher stays itself.
    assert kept(CredentialRequest(id_number=number)) == kept(CredentialRequest(scan=_spaced(number)))
    assert "VOUCHER-TOKEN" in kept(CredentialRequest(scan="VOUCHER-TOKEN")) and "null" in kept(None)


def test_an_id_number_is_found_nowhere_after_sales_searches_and_a_failed_registration(app, caplog, capfd):
    app.config.update(WTF_CSRF_ENABLED=False, PROPAGATE_EXCEPTIONS=False)  # a failed request is logged, as served
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # every statement, and its parameters unless hidden
    registered, keyed, scanned, failed = (make_id_number(700 + i, date(1946 + i, 5, 2 + i), region="110101")
                                          for i in range(4))
    trail = Trail()
    api = app.test_client()

    # A diner registered through the API, served at the till by their ID card in the scan field.
    registrar = api_token(api, "registrar")
    r = trail.json(api, "POST", "/api/v1/diners", {"name": REGISTERED_NAME, "id_number": registered,
                                                    "resident": True}, registrar)
    assert r.status_code == 201, r.get_json()
    cashier = api_token(api, "cashier")
    assert trail.json(api, "POST", "/api/v1/shifts", {"opening_float_fen": 0}, cashier).status_code == 201
    welfare = next(i for i in api.get("/api/v1/menu", headers=cashier).get_json()["items"] if i["welfare_meal"])
    lines = [{"item_id": welfare["id"], "qty": 1}]

    def sell(credential: dict, key: str | None = None):
        looked = trail.json(api, "POST", "/api/v1/credentials/lookup", {**credential, "lines": lines}, cashier)
        assert looked.status_code == 200, looked.get_json()
        quoted = trail.json(api, "POST", "/api/v1/sales/quote", {"lines": lines, "credential": credential}, cashier)
        due = quoted.get_json()["due_fen"]
        body = {"lines": lines, "credential": credential, "due_fen": due,
                "tender": {"method": "free"} if due == 0 else {"method": "cash", "tendered_fen": due}}
        key = key or str(uuid.uuid4())
        return trail.json(api, "POST", "/api/v1/sales", body, {**cashier, "Idempotency-Key": key}), body, key

    first, body, key = sell({"scan": _spaced(registered)})
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["credential_kind"] == "resident_id"
    # The answer was lost: the retry, same key and body, gets the same sale; the key with
    # another person's number is refused — the kept digest still tells requests apart.
    again = trail.json(api, "POST", "/api/v1/sales", body, {**cashier, "Idempotency-Key": key})
    assert again.status_code == 201 and again.get_data() == first.get_data()
    other = trail.json(api, "POST", "/api/v1/sales", {**body, "credential": {"scan": scanned}},
                       {**cashier, "Idempotency-Key": key})
    assert other.status_code == 422 and other.get_json()["error"]["code"] == "idempotency_key_reused"
    for credential in ({"id_number": keyed}, {"scan": scanned}):
        r, _, _ = sell(credential)
        assert r.status_code == 201, r.get_json()

    # The back office: a full number searched for (posted) is answered masked.
    page = app.test_client()
    assert browser_login(page, "registrar").status_code == 302
    for typed in (registered, _spaced(registered)):
        r = trail.form(page, "/backoffice/diners", {"q": typed})
        shown = r.get_data(as_text=True)
        assert r.status_code == 200 and REGISTERED_NAME in shown
        assert f'value="{registered[:4]}**********{registered[-4:]}"' in shown
    # A number put into the address by hand is not searched, and not sent on: the answer
    # (redirect, page, sign-in redirect) holds it nowhere.
    by_hand = f"/backoffice/diners?q={registered}"
    r = page.get(by_hand)
    assert r.status_code == 303 and r.headers["Location"].endswith("/backoffice/diners")
    trail.answers.append(r.get_data(as_text=True))
    trail.urls.append(r.headers["Location"])
    notice = trail.get(page, r.headers["Location"])
    assert "身份证号请在搜索框中输入" in notice.get_data(as_text=True)
    signed_out = app.test_client().get(f"/backoffice/diners?q={_spaced(registered)}")
    assert signed_out.status_code == 302 and "/login" in signed_out.headers["Location"]
    trail.urls.append(signed_out.headers["Location"])

    # A registration the database fails, through the API and through the page.
    lift = _refuse_diner_rows(app)
    try:
        r = trail.json(api, "POST", "/api/v1/diners", {"name": FAILED_NAME, "id_number": failed, "resident": True},
                       registrar)
        assert r.status_code >= 500, r.get_data(as_text=True)[:300]
        r = trail.form(page, "/backoffice/diners/new", {"name": FAILED_NAME, "id_number": failed, "resident": "on"})
        assert r.status_code >= 500, r.get_data(as_text=True)[:300]
    finally:
        with app.extensions["canteen_db"].engine.begin() as conn:
            for statement in lift.split("; "):
                conn.execute(text(statement))

    out, err = capfd.readouterr()
    logged = caplog.text + out + err
    # The log saw the registrations, the failed one included — with no parameters.
    assert logged.count("INSERT INTO diners") >= 3
    assert REGISTERED_NAME not in logged and FAILED_NAME not in logged, "SQL parameters were logged"
    assert _every_value(app) and not any(FAILED_NAME in v for _, v in _every_value(app))
    _assert_found_nowhere(app, _forms([registered, keyed, scanned, failed]) | trail.body_digests,
                          urls=trail.urls, answers=trail.answers, logged=logged)


@pytest.mark.browser
def test_the_till_keeps_no_id_number_on_the_tablet(demo_template, tmp_path, caplog, capfd):
    """A diner's ID card in the scan field, a sale whose answer is lost: while it waits
    for the retry, the tablet's storage holds no number; the retry makes one sale; an ID
    number typed on the keypad sells too.  No address, storage, log or database byte
    holds either number."""
    from playwright.sync_api import expect, sync_playwright

    from security.helpers import app_from_template

    chromium_path = need_tool("/usr/bin/chromium", "chromium")
    caplog.set_level(logging.DEBUG)
    scanned, keyed = (make_id_number(900 + i, date(1950 + i, 8, 9), region="330205") for i in range(2))
    app = app_from_template(demo_template, tmp_path)
    server = LiveServer(app, threads=4)
    urls: list[str] = []
    stored: list[str] = []
    keys: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
            page.set_default_timeout(10_000)
            page.on("request", lambda request: urls.append(request.url))

            def tablet_storage() -> str:
                kept = page.evaluate("() => JSON.stringify([Object.entries(sessionStorage), "
                                     "Object.entries(localStorage), document.cookie])")
                stored.append(kept)
                return kept

            page.goto(server.url + "/login")
            page.fill("#username", "cashier2")
            page.fill("#password", "cashier2-demo-pass")
            page.click("button[type=submit]")
            page.wait_for_url("**/till")
            page.click("#confirm-shift")
            expect(page.locator("#shift-overlay")).to_be_hidden()

            # The ID card scanned into the scan field; the sale's answer is lost once.
            page.fill("#scan", _spaced(scanned))
            page.press("#scan", "Enter")
            expect(page.locator("#diner")).to_be_visible()
            lost = {"done": False}

            def drop_first_answer(route):
                keys.append(route.request.headers.get("idempotency-key"))
                if not lost["done"]:
                    lost["done"] = True
                    route.fetch()  # recorded on the server ...
                    route.abort("internetdisconnected")  # ... and the tablet never hears
                else:
                    route.continue_()

            page.route("**/api/v1/sales", drop_first_answer)
            page.click('.dish[data-label="荤素套餐"]')
            expect(page.locator("#pay-button")).to_be_enabled()
            page.click("#pay-button")
            page.click('[data-action="quick-cash"][data-fen="exact"]')
            page.click("#confirm-pay")
            expect(page.locator("#offline-banner")).to_be_visible()
            kept = tablet_storage()
            assert "till.pendingSale" in kept  # the key is kept for the cashier to check after a reload
            page.click("#offline-retry")
            expect(page.locator("#receipt-overlay")).to_be_visible()
            page.click("#next-diner")

            # The number typed on the ID keypad.
            page.click("#id-btn")
            for ch in keyed:
                page.click(f'[data-keypad="id"] [data-key="{ch}"]')
            page.click("#confirm-id")
            expect(page.locator("#diner")).to_be_visible()
            page.click('.dish[data-label="荤素套餐"]')
            expect(page.locator("#pay-button")).to_be_enabled()
            page.click("#pay-button")
            page.click('[data-action="quick-cash"][data-fen="exact"]')
            page.click("#confirm-pay")
            expect(page.locator("#receipt-overlay")).to_be_visible()
            tablet_storage()
            browser.close()
    finally:
        server.stop()

    assert len(keys) == 3 and keys[0] == keys[1] != keys[2]
    with app.extensions["canteen_db"].engine.connect() as conn:
        kinds = conn.execute(text("SELECT s.credential_kind FROM sales s JOIN staff_users u ON u.id = s.cashier_id "
                                  "WHERE u.username = 'cashier2' AND s.business_date = "
                                  "(SELECT MAX(business_date) FROM sales) ORDER BY s.receipt_no")).scalars().all()
    assert kinds == ["resident_id", "resident_id"]
    out, err = capfd.readouterr()
    _assert_found_nowhere(app, _forms([scanned, keyed]), urls=urls, answers=stored,
                          logged=caplog.text + out + err)
    app.extensions["canteen_db"].dispose()
