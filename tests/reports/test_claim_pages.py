"""The claim pages as the accountant and the community approver use them: the draft with
its checks, submitting (with an explanation for each failed check), approving or
returning, recording a payment — in Chinese and in English."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import text

from pos.clock import now_utc
from pos.models import StaffUser
from pos.store.day_close import close_day
from report_data import sample_day
from sqlmodel import select
from support import browser_login

MARCH = (date(2026, 3, 2), date(2026, 3, 3))
START = "/reports/claims/new?scope_kind=canteen&scope=YLW01&month=2026-03"


@pytest.fixture
def claim_app(sqlite_app):
    sqlite_app.config["WTF_CSRF_ENABLED"] = False
    db = sqlite_app.extensions["canteen_db"]
    with db.transaction() as s:
        for day in MARCH:
            sample_day(s, day)
    with db.transaction() as s:
        admin = s.exec(select(StaffUser).where(StaffUser.username == "admin")).one()
        for day in MARCH:
            close_day(session=s, settings=sqlite_app.config["CANTEEN"], canteen_id="YLW01", business_date=day,
                      actor=admin, now=now_utc())
    return sqlite_app


def _as(app, username: str, lang: str = "zh"):
    client = app.test_client()
    assert browser_login(client, username).status_code in (302, 303)
    if lang == "en":
        client.get("/lang/en")
    return client


def _submit(client):
    draft = client.get(START)
    assert draft.status_code == 200
    page = draft.get_data(as_text=True)
    form = {"scope_kind": "canteen", "scope": "YLW01", "month": "2026-03"}
    form.update({name: "已核实" for name in re.findall(r'name="(explain-[a-z_]+)"', page)})
    return client.post("/reports/claims/new", data=form)


def test_the_accountant_submits_and_the_approver_approves_on_the_pages(claim_app):
    accountant = _as(claim_app, "accountant")
    assert "提交申领" in accountant.get(START).get_data(as_text=True)
    r = _submit(accountant)
    assert r.status_code in (302, 303), r.get_data(as_text=True)[:500]
    claim_url = r.headers["Location"]
    page = accountant.get(claim_url).get_data(as_text=True)
    assert "已提交" in page and "¥50.00" in page and 'id="claim-approve"' not in page

    approver = _as(claim_app, "approver")
    assert approver.get("/reports/claims").status_code == 200
    page = approver.get(claim_url).get_data(as_text=True)
    assert 'id="claim-approve"' in page
    approver.post(claim_url + "/approve")
    assert "已批准" in approver.get(claim_url).get_data(as_text=True)

    r = accountant.post(claim_url + "/payments", data={"amount": "20.00", "paid_on": "2026-04-15",
                                                       "reference": "BANK-1"})
    assert r.status_code in (302, 303)
    page = accountant.get(claim_url).get_data(as_text=True)
    assert "¥30.00" in page and "BANK-1" in page
    r = accountant.post(claim_url + "/payments", data={"amount": "abc", "paid_on": "2026-04-15", "reference": "X"})
    assert "error=" in r.headers["Location"]  # a clear message on the page, nothing recorded
    assert accountant.get("/reports/claims").status_code == 200


def test_a_failed_check_needs_an_explanation_and_says_so(claim_app):
    # A grant that disagrees with its sale's recorded subsidy fails a check.
    with claim_app.extensions["canteen_db"].transaction() as s:
        s.connection().execute(text(
            "UPDATE subsidy_grants SET amount_fen = amount_fen + 1 WHERE id = (SELECT id FROM subsidy_grants "
            "WHERE business_date = :d AND voided = :f ORDER BY granted_at LIMIT 1)"), {"d": MARCH[0], "f": False})
    accountant = _as(claim_app, "accountant")
    page = accountant.get(START).get_data(as_text=True)
    assert 'name="explain-sums_agree"' in page
    form = {"scope_kind": "canteen", "scope": "YLW01", "month": "2026-03"}
    r = accountant.post("/reports/claims/new", data=form)
    assert "error=" in r.headers["Location"]
    assert "每日补贴记录合计" in accountant.get(r.headers["Location"]).get_data(as_text=True)
    assert accountant.get("/api/v1/claims").get_json()["claims"] == []  # nothing recorded
    r = _submit(accountant)
    doc = accountant.get(r.headers["Location"] + "/claim.json").get_json()
    assert doc["explanations"]["sums_agree"] == "已核实"


def test_the_pages_speak_english_to_an_english_user(claim_app):
    accountant = _as(claim_app, "accountant", "en")
    claim_url = _submit(accountant).headers["Location"]
    page = accountant.get(claim_url).get_data(as_text=True)
    assert "Submitted" in page and "History" in page
    assert not re.search(r"[\u4e00-\u9fff]", re.sub(r"<title>.*?</title>", "", page.split("<main", 1)[1])
                         .replace("云鹭湾社区邻里食堂", "").replace("社区会计周老师", "")), page


def test_cashiers_and_other_communities_see_no_claims(claim_app):
    accountant = _as(claim_app, "accountant")
    claim_url = _submit(accountant).headers["Location"]
    assert _as(claim_app, "cashier").get(claim_url).status_code == 403
    assert _as(claim_app, "jm-supervisor").get(claim_url).status_code == 403
