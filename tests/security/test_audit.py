"""The audit log records who did what: one working day is played through the real
routes (sign-in, shift, sales, a void with its approver, day close, the registry, vouchers,
menu and staff changes), then every action must have its entry — and no entry may hold a
plain resident ID number, a diner's name or phone number.

Steps whose routes are not part of this build are skipped with the reason.
"""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import date

import pytest
from flask import url_for
from sqlalchemy import text

from security.helpers import app_from_template
from support import DEMO_PASSWORD_SUFFIX, api_token

NAME = "审计测试人"
NEW_NAME = "审计改名人"
PHONE = "13912345678"


def resident_id(birth: date, seq: int) -> str:
    from subsidies.resident_id import check_character

    first17 = f"330205{birth:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


@dataclass
class Day:
    """What the scenario did: the actions expected in the log, and why any were skipped."""

    app: object
    expected: dict[str, str] = field(default_factory=dict)   # action -> actor username
    skipped: dict[str, str] = field(default_factory=dict)    # action -> reason
    failed: dict[str, str] = field(default_factory=dict)     # action -> what went wrong
    secrets: list[str] = field(default_factory=list)         # personal data that must not appear

    def url(self, endpoint: str, **values) -> str | None:
        if endpoint not in self.app.view_functions:
            return None
        with self.app.test_request_context():
            return url_for(endpoint, **values)

    def step(self, action: str, actor: str, response, ok=(200, 201, 302)) -> None:
        if response is None:
            return
        if response.status_code in ok:
            self.expected[action] = actor
        else:
            body = response.get_data(as_text=True)[:300]
            self.failed[action] = f"{response.status_code}: {body}"

    def skip(self, action: str, reason: str) -> None:
        self.skipped[action] = reason


def browser(app, username: str):
    c = app.test_client()
    r = c.post("/login", data={"username": username, "password": username + DEMO_PASSWORD_SUFFIX})
    assert r.status_code == 302
    return c


def play_the_day(app) -> Day:
    day = Day(app)
    from pos.clock import business_date

    settings = app.config["CANTEEN"]
    today = business_date(settings.default_canteen.timezone)
    senior_id = resident_id(date(today.year - 70, 3, 1), 911)
    new_id = resident_id(date(today.year - 71, 3, 1), 912)
    walk_in_id = resident_id(date(today.year - 82, 5, 5), 913)
    day.secrets += [senior_id, new_id, walk_in_id, NAME, NEW_NAME, PHONE]

    # Sign-in (the login form) and a scripted client's token.
    cashier_web = app.test_client()
    day.step("login", "cashier", cashier_web.post("/login", data={"username": "cashier",
                                                                  "password": "cashier" + DEMO_PASSWORD_SUFFIX}))
    api = app.test_client()
    cashier = api_token(api, "cashier")
    day.expected["token_issued"] = "cashier"

    # The registry: register a senior, edit them, issue and revoke a voucher.
    registrar = browser(app, "registrar")
    diner_id = None
    new_url = day.url("backoffice.diner_new")
    if new_url is None:
        for action in ("diner_registered", "diner_edited", "voucher_issued", "voucher_revoked"):
            day.skip(action, "the back office diner pages (backoffice.diner_new) are not part of this build")
    else:
        r = registrar.post(new_url, data={"name": NAME, "id_number": senior_id, "resident": "on", "phone": PHONE})
        day.step("diner_registered", "registrar", r)
        match = re.search(r"/diners/([^/?#]+)", r.headers.get("Location", ""))
        diner_id = match.group(1) if match else None
    if diner_id:
        r = registrar.post(day.url("backoffice.diner_edit", diner_id=diner_id),
                           data={"name": NEW_NAME, "id_number": new_id, "resident": "on", "phone": PHONE[:-1] + "9"})
        day.step("diner_edited", "registrar", r)
        r = registrar.post(day.url("backoffice.voucher_issue", diner_id=diner_id))
        day.step("voucher_issued", "registrar", r)
        with app.extensions["canteen_db"].session() as s:
            voucher_id = s.execute(text("SELECT id FROM vouchers WHERE diner_id = :d AND status = 'active'"),
                                   {"d": diner_id}).scalar()
        r = registrar.post(day.url("backoffice.voucher_revoke", voucher_id=voucher_id))
        day.step("voucher_revoked", "registrar", r)

    # The till: open a shift, sell (with the senior's resident ID), void with a PIN, close.
    r = api.post("/api/v1/shifts", json={"opening_float_fen": 20000}, headers=cashier)
    day.step("shift_opened", "cashier", r)
    shift_id = r.get_json()["id"]
    menu = api.get("/api/v1/menu", headers=cashier).get_json()["items"]
    dish = next(i for i in menu if not i["welfare_meal"])
    lines = [{"item_id": dish["id"], "qty": 1}]
    sale_ids = []
    for number in (new_id if diner_id else senior_id, walk_in_id):
        api.post("/api/v1/credentials/lookup", json={"id_number": number}, headers=cashier)
        q = api.post("/api/v1/sales/quote", json={"lines": lines, "credential": {"id_number": number}},
                     headers=cashier).get_json()
        r = api.post("/api/v1/sales", headers={**cashier, "Idempotency-Key": str(uuid.uuid4())},
                     json={"lines": lines, "credential": {"id_number": number}, "due_fen": q["due_fen"],
                           "tender": {"method": "cash", "tendered_fen": q["due_fen"]}})
        day.step("sale_recorded", "cashier", r)
        if r.status_code == 201:
            sale_ids.append(r.get_json()["id"])
    r = api.post(f"/api/v1/sales/{sale_ids[0]}/void", headers=cashier,
                 json={"reason": "顾客改主意", "supervisor": "supervisor", "pin": "1234"})
    day.step("sale_voided", "cashier", r)
    r = api.post(f"/api/v1/shifts/{shift_id}/close", json={"counted_cash_fen": 20000 + dish["price_fen"]},
                 headers=cashier)
    day.step("shift_closed", "cashier", r)

    # Day close by the supervisor.
    if "api.reports_day_close" in app.view_functions:
        r = api.post("/api/v1/day-close", json={"business_date": today.isoformat()},
                     headers=api_token(api, "supervisor"))
        day.step("day_closed", "supervisor", r)
    else:
        day.skip("day_closed", "day close (api.reports_day_close) is not part of this build")

    # Menu and staff changes by the admin.
    admin = browser(app, "admin")
    item_url = day.url("backoffice.menu_item", item_id=dish["id"])
    if item_url is None:
        day.skip("menu_item_updated", "the back office menu pages are not part of this build")
    else:
        r = admin.post(item_url, data={"name": dish["name"], "name_en": dish.get("name_en", ""),
                                       "category": dish["category"], "price": "18.50", "available": "on",
                                       "sort_order": "0"})
        day.step("menu_item_updated", "admin", r)
    staff_url = day.url("backoffice.staff")
    if staff_url is None:
        for action in ("staff_created", "staff_disabled", "staff_password_reset"):
            day.skip(action, "the back office staff pages are not part of this build")
    else:
        r = admin.post(staff_url, data={"username": "audit-cashier", "password": "audit-cashier-pass",
                                        "role": "cashier", "display_name": "审计收银", "canteen": "YLW01"})
        day.step("staff_created", "admin", r)
        with app.extensions["canteen_db"].session() as s:
            user_id = s.execute(text("SELECT id FROM staff_users WHERE username = 'audit-cashier'")).scalar()
        if user_id:
            r = admin.post(day.url("backoffice.staff_password", user_id=user_id),
                           data={"password": "another-long-pass"})
            day.step("staff_password_reset", "admin", r)
            r = admin.post(day.url("backoffice.staff_active", user_id=user_id), data={"active": "0"})
            day.step("staff_disabled", "admin", r)

    r = cashier_web.post("/logout")
    day.step("logout", "cashier", r)
    return day


@pytest.fixture(scope="module")
def day(tmp_path_factory, demo_template):
    app = app_from_template(demo_template, tmp_path_factory.mktemp("audit"), WTF_CSRF_ENABLED=False)
    played = play_the_day(app)
    yield played
    app.extensions["canteen_db"].dispose()


ACTIONS = ["login", "token_issued", "shift_opened", "sale_recorded", "sale_voided", "shift_closed", "day_closed",
           "diner_registered", "diner_edited", "voucher_issued", "voucher_revoked", "menu_item_updated",
           "staff_created", "staff_password_reset", "staff_disabled", "logout"]


def audit_rows(app) -> list[dict]:
    with app.extensions["canteen_db"].session() as s:
        return [dict(r) for r in s.execute(text("SELECT * FROM audit_log ORDER BY at")).mappings()]


@pytest.mark.parametrize("action", ACTIONS)
def test_action_is_in_the_audit_log(day, action):
    assert action not in day.skipped, f"the step could not be played: {day.skipped.get(action)}"
    assert action not in day.failed, f"the step itself failed: {day.failed[action]}"
    assert action in day.expected, f"{action} was not played"
    rows = [r for r in audit_rows(day.app) if r["action"] == action]
    assert rows, f"no audit entry for {action}"
    actor = day.expected[action]
    assert any(r["actor"] == actor for r in rows), f"{action}: entries by {[r['actor'] for r in rows]}, not {actor}"
    assert all(r["at"] is not None for r in rows)


def test_void_names_its_approver(day):
    assert "sale_voided" in day.expected, "no void was played"
    rows = [r for r in audit_rows(day.app) if r["action"] == "sale_voided"]
    details = [json.loads(r["detail"]) for r in rows]
    assert any(d.get("approved_by") == "supervisor" for d in details), details


def test_no_audit_entry_holds_personal_data(day):
    rows = audit_rows(day.app)
    assert len(rows) >= len(day.expected)
    for row in rows:
        flat = " ".join(str(v) for v in row.values())
        compact = flat.replace(" ", "")
        for secret in day.secrets:
            assert secret not in flat and secret not in compact, f"audit row {row['action']} holds {secret[:4]}…"


def test_audit_log_is_append_only_in_the_code():
    """No module updates or deletes audit rows."""
    from support import ROOT

    offenders = []
    for path in (ROOT / "pos").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        if re.search(r"(UPDATE|DELETE FROM)\s+audit_log", source, re.I) or \
                re.search(r"(update|delete)\(\s*AuditEntry", source):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders


def test_scenario_report(day, capsys):
    with capsys.disabled():
        print(f"\naudit scenario: {len(day.expected)} actions played, skipped: "
              f"{sorted(day.skipped) or 'none'}, failed: {sorted(day.failed) or 'none'}")
