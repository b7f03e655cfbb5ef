"""A worker's verification expires: registered with the day staff saw the proof, it counts
for registry.worker_proof_months (12 in config.toml) and its last day is the day before
the same date a year on.  At the till (lookup, quote and sale through the API, on SQLite
and PostgreSQL) the free meal is given the day before that last day and on it, and refused
the day after with its own reason; the diner's own voucher page says so too.  The
registrar's list of who has expired or expires within 30 days, and its CSV."""
from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from backoffice.bo_helpers import make_id_number, signed_in
from pos.clock import business_date
from pos.config import RegistryConfig
from subsidies.expiry import verified_until
from support import api_token, build_app, make_settings

EXPIRED_ZH = "工作证明已过期"
EXPIRED_EN = "proof of work has expired"


def verified_on_for(until: date, months: int = 12) -> date:
    """The day staff must have seen the proof for it to count until ``until``."""
    for back in range(330, 400):
        on = until - timedelta(days=back)
        if verified_until(on, months) == until:
            return on
    raise AssertionError(f"no verification date gives {until}")


def register(client, headers, n: int, name: str, *, until: date | None = None, birth=date(1990, 5, 6), **extra):
    body = {"name": name, "id_number": make_id_number(n, birth), "resident": True, "issue_voucher": True,
            "worker_category": "sanitation_worker", "worker_proof_type": "employer_letter",
            "worker_proof": "环卫所出具", **extra}
    if until is not None:
        body["worker_verified_on"] = verified_on_for(until).isoformat()
    r = client.post("/api/v1/diners", json=body, headers=headers)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def welfare_lines(client, headers) -> list[dict]:
    items = client.get("/api/v1/menu", headers=headers).get_json()["items"]
    return [{"item_id": next(i for i in items if i["welfare_meal"])["id"], "qty": 1}]


@pytest.fixture
def today() -> date:
    return business_date("Asia/Shanghai")


# -- at the till ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("days_left", "free"), [
    (1, True),    # the day before the proof's last day
    (0, True),    # its last day still counts
    (-1, False),  # the day after: expired
])
def test_the_free_meal_at_the_till_around_the_day_the_proof_of_work_expires(app, client, today, days_left, free):
    registrar, cashier = api_token(client, "registrar"), api_token(client, "cashier")
    until = today + timedelta(days=days_left)
    diner = register(client, registrar, 71, "欧阳春花", until=until)
    assert diner["worker_verified_on"] == verified_on_for(until).isoformat()
    assert diner["worker_verified_until"] == until.isoformat()
    code = diner["voucher"]["code"]
    lines = welfare_lines(client, cashier)

    lookup = client.post("/api/v1/credentials/lookup", json={"scan": code}, headers=cashier).get_json()
    quote = client.post("/api/v1/sales/quote", json={"lines": lines, "credential": {"scan": code}},
                        headers=cashier).get_json()
    assert client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=cashier).status_code == 201
    due = quote["due_fen"]
    sale = client.post("/api/v1/sales", headers={**cashier, "Idempotency-Key": str(uuid.uuid4())}, json={
        "lines": lines, "credential": {"scan": code}, "due_fen": due,
        "tender": {"method": "free"} if due == 0 else {"method": "cash", "tendered_fen": due}})
    assert sale.status_code == 201, sale.get_json()
    sold = sale.get_json()

    if free:
        assert lookup["benefit"]["code"] == quote["subsidy"]["code"] == sold["subsidy"]["code"] == "free_meal"
        assert quote["due_fen"] == 0 and sold["subsidy_fen"] == quote["gross_fen"] > 0
        assert EXPIRED_ZH not in lookup["credential"]["band_zh"]
    else:
        assert lookup["benefit"]["code"] == quote["subsidy"]["code"] == sold["subsidy"]["code"] == "worker_proof_expired"
        assert quote["subsidy"]["reason"] == f"{EXPIRED_ZH}（有效期至 {until.isoformat()}），请到社区复核"
        assert EXPIRED_EN in quote["subsidy"]["reason_en"] and "community office" in quote["subsidy"]["reason_en"]
        assert sold["subsidy_fen"] == 0 and sold["due_fen"] == sold["gross_fen"] > 0
        # The cashier's banner says it before anything is ordered.
        assert lookup["credential"]["band_zh"].startswith(EXPIRED_ZH)
    # What the database recorded: a grant only while the proof counted, and why not after.
    db = app.extensions["canteen_db"]
    with db.engine.connect() as conn:
        grants = conn.execute(text("SELECT COUNT(*) FROM subsidy_grants WHERE sale_id = :s"), {"s": sold["id"]}).scalar()
        why = conn.execute(text("SELECT code FROM sale_decisions WHERE sale_id = :s"), {"s": sold["id"]}).scalar()
    assert (grants, why) == ((1, None) if free else (0, "worker_proof_expired"))


def test_the_diners_own_voucher_page_says_the_proof_has_expired(app, client, today):
    registrar = api_token(client, "registrar")
    lapsed = register(client, registrar, 72, "司马青云", until=today - timedelta(days=1))
    current = register(client, registrar, 73, "诸葛明亮", until=today + timedelta(days=5))
    page = client.get("/v/" + lapsed["voucher"]["token"])
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert EXPIRED_ZH in body and "请到社区复核" in body and (today - timedelta(days=1)).isoformat() in body
    fine = client.get("/v/" + current["voucher"]["token"])
    assert fine.status_code == 200 and EXPIRED_ZH not in fine.get_data(as_text=True)


def _free_meal_quote(client, cashier, diner) -> str:
    return client.post("/api/v1/sales/quote", headers=cashier, json={
        "lines": welfare_lines(client, cashier), "credential": {"scan": diner["voucher"]["code"]}}).get_json()[
        "subsidy"]["code"]


def test_a_renewed_verification_makes_the_proof_count_again(app, client, today):
    registrar, cashier = api_token(client, "registrar"), api_token(client, "cashier")
    diner = register(client, registrar, 74, "上官飞燕", until=today - timedelta(days=3))
    assert _free_meal_quote(client, cashier, diner) == "worker_proof_expired"

    # A verification is renewed by the registrar who saw the proof, not dated ahead.
    r = client.post(f"/api/v1/diners/{diner['id']}/verification", headers=registrar,
                    json={"proof": "worker", "proof_type": "work_card", "verified_on": (today + timedelta(days=1)).isoformat()})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid_verification_date", r.get_json()
    r = client.post(f"/api/v1/diners/{diner['id']}/verification", headers=cashier,
                    json={"proof": "worker", "proof_type": "work_card"})
    assert r.status_code == 403
    r = client.post(f"/api/v1/diners/{diner['id']}/verification", headers=registrar,
                    json={"proof": "worker", "proof_type": "work_card"})
    assert r.status_code == 200, r.get_json()
    renewed = r.get_json()
    assert (renewed["worker_proof_type"], renewed["worker_verified_on"]) == ("work_card", today.isoformat())
    assert renewed["worker_verified_until"] == verified_until(today, 12).isoformat()
    assert _free_meal_quote(client, cashier, diner) == "free_meal"

    # Kept in the diner's history and the audit log, by whom.
    with app.extensions["canteen_db"].engine.connect() as conn:
        history = conn.execute(text("SELECT c.field, u.username FROM diner_changes c JOIN staff_users u "
                                    "ON u.id = c.staff_id WHERE c.diner_id = :d"), {"d": diner["id"]}).all()
        audited = conn.execute(text("SELECT a.actor FROM audit_log a WHERE a.action = 'diner_reverified' "
                                    "AND a.target = :d"), {"d": diner["id"]}).scalars().all()
    assert {("worker_proof_type", "registrar"), ("worker_verified_on", "registrar")} <= set(map(tuple, history))
    assert audited == ["registrar"]


def test_a_renewal_of_a_proof_the_diner_does_not_need_is_refused(app, client):
    registrar = api_token(client, "registrar")
    r = client.post("/api/v1/diners", headers=registrar, json={
        "name": "东方晓白", "id_number": make_id_number(75, date(1950, 2, 3)), "resident": False})
    assert r.status_code == 201, r.get_json()
    r = client.post(f"/api/v1/diners/{r.get_json()['id']}/verification", headers=registrar,
                    json={"proof": "worker", "proof_type": "work_card"})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "not_a_worker"


def test_the_registrar_renews_a_proof_on_the_diners_edit_page(bo_app, today):
    client = bo_app.test_client()
    registrar = api_token(client, "registrar")
    diner = register(client, registrar, 76, "慕容雪松", until=today - timedelta(days=1))
    browser = signed_in(bo_app, "registrar")
    page = browser.get(f"/backoffice/diners/{diner['id']}/edit").get_data(as_text=True)
    assert 'name="worker_verified_on"' in page and 'name="worker_proof_type"' in page
    r = browser.post(f"/backoffice/diners/{diner['id']}/edit", data={
        "name": "慕容雪松", "resident": "on", "worker_category": "sanitation_worker", "worker_proof": "环卫所出具",
        "worker_proof_type": "employer_letter", "worker_verified_on": today.isoformat()})
    assert r.status_code in (302, 303), r.get_data(as_text=True)[:400]
    with bo_app.extensions["canteen_db"].engine.connect() as conn:
        on, by = conn.execute(text("SELECT d.worker_verified_on, u.username FROM diners d JOIN staff_users u "
                                   "ON u.id = d.worker_verified_by WHERE d.id = :d"), {"d": diner["id"]}).first()
    assert (str(on), by) == (today.isoformat(), "registrar")
    expiring = client.get("/api/v1/diners/expiring", headers=registrar).get_json()["diners"]
    assert diner["id"] not in [d["diner_id"] for d in expiring]


@pytest.mark.parametrize(("extra", "code"), [
    ({"worker_verified_on": "2099-01-01"}, "invalid_request"),   # beyond the input policy's dates
    ({"worker_proof_type": "a_photo"}, "invalid_request"),      # not a proof type the vocabulary knows
])
def test_a_verification_cannot_be_dated_ahead_nor_of_an_unknown_kind(sqlite_app, extra, code):
    client = sqlite_app.test_client()
    registrar = api_token(client, "registrar")
    body = {"name": "钱多多", "id_number": make_id_number(75, date(1990, 1, 2)), "resident": True,
            "worker_category": "cleaner", **extra}
    r = client.post("/api/v1/diners", json=body, headers=registrar)
    assert r.status_code in (400, 422) and r.get_json()["error"]["code"] in (code, "date_out_of_range")


def test_a_verification_dated_tomorrow_is_refused(sqlite_app, today):
    client = sqlite_app.test_client()
    registrar = api_token(client, "registrar")
    body = {"name": "钱多多", "id_number": make_id_number(76, date(1990, 1, 2)), "resident": True,
            "worker_category": "cleaner", "worker_verified_on": (today + timedelta(days=1)).isoformat()}
    r = client.post("/api/v1/diners", json=body, headers=registrar)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid_verification_date"


# -- the registrar's list -------------------------------------------------------------------------

def _expiring_setup(app, today):
    client = app.test_client()
    registrar = api_token(client, "registrar")
    gone = register(client, registrar, 81, "欧阳春花", until=today - timedelta(days=2))
    soon = register(client, registrar, 82, "司马青云", until=today + timedelta(days=10))
    edge = register(client, registrar, 83, "诸葛明亮", until=today + timedelta(days=30))
    later = register(client, registrar, 84, "上官飞燕", until=today + timedelta(days=31))
    return client, registrar, {"gone": gone, "soon": soon, "edge": edge, "later": later}


def test_the_list_of_who_has_expired_and_who_expires_within_30_days(app, today):
    client, registrar, d = _expiring_setup(app, today)
    r = client.get("/api/v1/diners/expiring", headers=registrar)
    assert r.status_code == 200, r.get_json()
    rows = [row for row in r.get_json()["diners"] if row["diner_id"] in {x["id"] for x in d.values()}]
    assert [(row["masked_name"], row["valid_until"], row["expired"]) for row in rows] == [
        ("欧**花", (today - timedelta(days=2)).isoformat(), True),
        ("司**云", (today + timedelta(days=10)).isoformat(), False),
        ("诸**亮", (today + timedelta(days=30)).isoformat(), False),
    ]
    assert rows[0]["proof"] == "worker" and rows[0]["proof_type"] == "employer_letter"
    assert rows[0]["verified_by"]  # the named member of staff
    assert "id_masked" not in rows[0] and "masked_id" not in rows[0]
    # Cashiers and accountants do not see it.
    assert client.get("/api/v1/diners/expiring", headers=api_token(client, "cashier")).status_code == 403


def test_the_expiring_page_and_its_csv_show_masked_names_only(bo_app):
    today = business_date("Asia/Shanghai")
    _client, _registrar, d = _expiring_setup(bo_app, today)
    browser = signed_in(bo_app, "registrar")
    page = browser.get("/backoffice/diners/expiring")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "欧**花" in html and "司**云" in html and "诸**亮" in html and "上**燕" not in html
    assert html.index("已过期") < html.index("欧**花") < html.index("30 天内到期") < html.index("司**云")
    assert "欧阳春花" not in html  # no full name
    for diner in d.values():
        assert diner["masked_id"] not in html

    r = browser.get("/backoffice/diners/expiring.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    raw = r.get_data()
    assert raw.startswith("\ufeff".encode("utf-8"))
    body = raw.decode("utf-8-sig")
    assert "\r\n" in body
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["姓名", "所属社区", "证明", "类别", "证明类型", "核验日期", "核验人", "有效期至", "状态"]
    ours = [row for row in rows[1:] if row[0] in ("欧**花", "司**云", "诸**亮", "上**燕")]
    assert [(row[0], row[2], row[3], row[4], row[7], row[8]) for row in ours] == [
        ("欧**花", "工作证明", "环卫工", "用工单位证明", (today - timedelta(days=2)).isoformat(), "已过期"),
        ("司**云", "工作证明", "环卫工", "用工单位证明", (today + timedelta(days=10)).isoformat(), "即将到期"),
        ("诸**亮", "工作证明", "环卫工", "用工单位证明", (today + timedelta(days=30)).isoformat(), "即将到期"),
    ]
    # No identifier of any kind: no diner id, no masked or plain ID number, no pseudonym.
    with bo_app.extensions["canteen_db"].engine.connect() as conn:
        keys = [k for (k,) in conn.execute(text("SELECT id_hmac FROM diners"))]
    for diner in d.values():
        assert diner["id"] not in body and diner["masked_id"] not in body
    assert not any(k in body for k in keys)
    assert not re.search(r"\d{6}\*+|\d{17}[\dXx]", body)
    # Only the registry's roles.
    assert signed_in(bo_app, "cashier").get("/backoffice/diners/expiring.csv").status_code == 403


def test_residency_proofs_join_the_list_when_they_are_configured_to_expire(sqlite_url, tmp_path):
    settings = make_settings(sqlite_url, tmp_path)
    settings = replace(settings, registry=replace(RegistryConfig(), residency_proof_months=24))
    app = build_app(sqlite_url, tmp_path, settings=settings)
    try:
        today = business_date("Asia/Shanghai")
        client = app.test_client()
        registrar, cashier = api_token(client, "registrar"), api_token(client, "cashier")
        until = today - timedelta(days=1)
        on = next(today - timedelta(days=b) for b in range(700, 760)
                  if verified_until(today - timedelta(days=b), 24) == until)
        r = client.post("/api/v1/diners", headers=registrar, json={
            "name": "东方晓白", "id_number": make_id_number(91, date(1940, 2, 3)), "resident": True,
            "residency_proof_type": "household_register", "residency_verified_on": on.isoformat(),
            "issue_voucher": True})
        assert r.status_code == 201, r.get_json()
        diner = r.get_json()
        assert diner["residency_verified_until"] == until.isoformat()
        rows = client.get("/api/v1/diners/expiring", headers=registrar).get_json()["diners"]
        assert [(x["masked_name"], x["proof"], x["expired"]) for x in rows if x["diner_id"] == diner["id"]] == [
            ("东**白", "residency", True)]
        quote = client.post("/api/v1/sales/quote", headers=cashier, json={
            "lines": welfare_lines(client, cashier), "credential": {"scan": diner["voucher"]["code"]}}).get_json()
        assert quote["subsidy"]["code"] == "residency_proof_expired" and quote["subsidy_fen"] == 0
        assert quote["subsidy"]["reason"].startswith("居住证明已过期")
    finally:
        app.extensions["canteen_db"].dispose()
