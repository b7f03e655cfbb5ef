"""The monthly claim as a record: draft → submitted → returned → submitted → approved → paid
(in part, then in full), every illegal move refused, and the submitted claim's PDF, CSV
and JSON agreeing with the database to the fen — and staying the same after a correction
is booked later.  On SQLite and PostgreSQL, through the API the accountant, the community
approver and a district platform use."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonschema_rs
from sqlalchemy import text
from sqlmodel import select

from pos.clock import now_utc
from pos.models import StaffUser
from pos.store.corrections import book_correction
from report_data import sample_day
from report_tools import read_csv
from subsidies.money import yuan
from support import api_token

MARCH = ("2026-03-02", "2026-03-03")
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "reports" / "claim-1.schema.json").read_text("utf-8"))


def _fill_march(app):
    with app.extensions["canteen_db"].transaction() as s:
        for day in MARCH:
            sample_day(s, date.fromisoformat(day))


def _close(client, headers, day):
    r = client.post("/api/v1/day-close", json={"business_date": day}, headers=headers)
    assert r.status_code == 201, r.get_json()


def _submit(client, headers, **body):
    return client.post("/api/v1/claims", json={"month": "2026-03", "scope_kind": "canteen", "scope": "YLW01", **body},
                       headers=headers)


def _explained(client, headers):
    """Submit, explaining whichever checks failed (the anomaly rules may flag the sample days)."""
    r = _submit(client, headers)
    if r.status_code == 422 and r.get_json()["error"]["code"] == "checks_unexplained":
        r = _submit(client, headers, explanations={c: "已核实：样例数据" for c in r.get_json()["checks"]})
    return r


def _db_claim_fen(app) -> int:
    with app.extensions["canteen_db"].session() as s:
        return int(s.connection().execute(text(
            "SELECT COALESCE(SUM(amount_fen), 0) FROM subsidy_grants WHERE canteen_id = 'YLW01' "
            "AND business_date BETWEEN '2026-03-01' AND '2026-03-31' AND voided = :f"), {"f": False}).scalar())


def test_a_claim_goes_from_submitted_to_paid_and_refuses_every_illegal_move(app, client, poppler):
    _fill_march(app)
    supervisor, accountant = api_token(client, "supervisor"), api_token(client, "accountant")
    approver, admin, platform = api_token(client, "approver"), api_token(client, "admin"), api_token(client, "platform")
    _close(client, supervisor, MARCH[0])

    # A month with a day still open cannot be submitted; nor can a month not yet over.
    r = _submit(client, accountant)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "days_open", r.get_json()
    assert r.get_json()["days"] == [f"YLW01 {MARCH[1]}"]
    this_month = now_utc().astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")  # the canteen's own month
    r = client.post("/api/v1/claims", json={"month": this_month, "scope": "YLW01"}, headers=accountant)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "month_not_over"
    _close(client, supervisor, MARCH[1])

    r = _explained(client, accountant)
    assert r.status_code == 201, r.get_json()
    claim = r.get_json()
    claim_id, first_sha = claim["id"], claim["content_sha256"]
    assert (claim["state"], claim["revision"], claim["canteens"]) == ("submitted", 1, ["YLW01"])
    assert claim["net_fen"] == _db_claim_fen(app) == 2 * 2500

    # Illegal moves: submitting it again (an edit), approving one's own, paying before approval.
    r = _submit(client, accountant, explanations={"x": "改一下"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "claim_frozen"
    r = client.post(f"/api/v1/claims/{claim_id}/approve", headers=accountant)
    assert r.status_code == 403  # an accountant is not an approver
    r = client.post(f"/api/v1/claims/{claim_id}/payments",
                    json={"amount_fen": 100, "paid_on": "2026-04-10", "reference": "X1"}, headers=accountant)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "claim_state"

    # Returned with a reason, submitted again as revision 2, approved by the approver.
    r = client.post(f"/api/v1/claims/{claim_id}/return", json={"reason": "请补充说明"}, headers=approver)
    assert r.status_code == 200 and r.get_json()["state"] == "returned", r.get_json()
    r = client.post(f"/api/v1/claims/{claim_id}/approve", headers=approver)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "claim_state"
    r = _explained(client, accountant)
    assert r.status_code == 201 and (r.get_json()["state"], r.get_json()["revision"]) == ("submitted", 2)
    assert r.get_json()["id"] == claim_id
    r = client.post(f"/api/v1/claims/{claim_id}/approve", headers=approver)
    assert r.status_code == 200 and r.get_json()["state"] == "approved", r.get_json()

    # Paid in part, then in full; no more than the balance, nothing once paid.
    pay = {"paid_on": "2026-04-10", "reference": "BANK-0410-1"}
    r = client.post(f"/api/v1/claims/{claim_id}/payments", json={"amount_fen": 3000, **pay}, headers=accountant)
    assert r.status_code == 201 and (r.get_json()["state"], r.get_json()["balance_fen"]) == ("approved", 2000)
    r = client.post(f"/api/v1/claims/{claim_id}/payments", json={"amount_fen": 2001, **pay}, headers=accountant)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid_amount"
    r = client.post(f"/api/v1/claims/{claim_id}/payments", json={"amount_fen": 2000, **pay}, headers=accountant)
    assert r.status_code == 201 and (r.get_json()["state"], r.get_json()["balance_fen"]) == ("paid", 0)
    r = client.post(f"/api/v1/claims/{claim_id}/payments", json={"amount_fen": 1, **pay}, headers=accountant)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "claim_state"
    actions = [e["action"] for e in r_get(client, claim_id, platform)["claim"]["events"]]
    assert actions == ["submitted", "returned", "submitted", "approved", "paid", "paid"]

    # What was submitted, three ways, agrees with the database to the fen.
    before = _documents(client, claim_id, accountant, poppler)
    doc = before["json"]
    jsonschema_rs.validator_for(SCHEMA).validate(doc)
    assert doc["totals"]["net_fen"] == doc["totals"]["total_fen"] == _db_claim_fen(app) == 5000
    assert sum(x["amount_fen"] for x in doc["lines"]) == 5000
    assert [d["business_date"] for d in doc["day_closes"]] == list(MARCH)
    total_row = before["csv"][-1]
    assert total_row[0] == "合计" and "50.00" in total_row
    assert yuan(5000) in before["pdf"]

    # A correction booked later lands in today's month, never in the submitted claim.
    with app.extensions["canteen_db"].transaction() as s:
        admin_user = s.exec(select(StaffUser).where(StaffUser.username == "admin")).one()
        sale_id = s.connection().execute(text(
            "SELECT sale_id FROM subsidy_grants WHERE canteen_id = 'YLW01' AND business_date = :d AND voided = :f "
            "ORDER BY granted_at LIMIT 1"), {"d": MARCH[0], "f": False}).scalar()
        supervisor = s.exec(select(StaffUser).where(StaffUser.username == "supervisor")).one()
        due, subsidy = s.connection().execute(text("SELECT due_fen, subsidy_fen FROM sales WHERE id = :i"),
                                              {"i": sale_id}).one()
        book_correction(session=s, settings=app.config["CANTEEN"], sale_id=sale_id, reason="顾客投诉退款",
                        refund_fen=due, reversed_subsidy_fen=subsidy, actor=admin_user, approved_by=supervisor,
                        now=now_utc())
    after = _documents(client, claim_id, accountant, poppler)
    assert after == before
    assert r_get(client, claim_id, platform)["claim"]["content_sha256"] != first_sha  # revision 2 is in force

    # The district platform reads claims of its community as data; approving is not its business.
    listed = client.get("/api/v1/claims?month=2026-03", headers=platform).get_json()["claims"]
    assert [c["id"] for c in listed] == [claim_id]
    assert client.post(f"/api/v1/claims/{claim_id}/approve", headers=platform).status_code == 403
    del admin


def test_nobody_approves_their_own_claim_and_a_canteen_is_claimed_once(app, client):
    _fill_march(app)
    supervisor, admin = api_token(client, "supervisor"), api_token(client, "admin")
    for day in MARCH:
        _close(client, supervisor, day)
    r = _explained(client, admin)
    assert r.status_code == 201, r.get_json()
    r = client.post(f"/api/v1/claims/{r.get_json()['id']}/approve", headers=admin)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "own_claim"
    # The community's claim would cover YLW01's month again.
    r = client.post("/api/v1/claims", json={"month": "2026-03", "scope_kind": "community", "scope": "云鹭湾社区"},
                    headers=admin)
    assert r.status_code == 409 and r.get_json()["error"]["code"] in ("claim_overlaps", "claim_frozen"), r.get_json()


def test_the_claim_document_is_described_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/claims/{claim_id}" in spec["paths"]
    assert "ClaimWithDocumentOut" in json.dumps(spec["components"]["schemas"])


def r_get(client, claim_id, headers) -> dict:
    r = client.get(f"/api/v1/claims/{claim_id}", headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _documents(client, claim_id, headers, poppler) -> dict:
    pdf = client.get(f"/reports/claims/{claim_id}/claim.pdf", headers=headers)
    csv = client.get(f"/reports/claims/{claim_id}/summary.csv", headers=headers)
    doc = client.get(f"/reports/claims/{claim_id}/claim.json", headers=headers)
    assert pdf.status_code == csv.status_code == doc.status_code == 200
    return {"pdf": poppler.text(pdf.data), "csv": read_csv(csv.data), "json": json.loads(doc.data)}
