"""Corrections after close through the API and the CLI, on the demo canteen's week of
history (recorded through the store, so its hash chain is real): a supervisor books a
correction of a closed day's sale, a second supervisor approves it with their PIN; it
lands on today's report and this month's claim adjustments, and the ledger still
verifies.  What must be refused is refused, with nothing booked."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from pos.clock import business_date, now_utc
from pos.models import AuditEntry, Correction, DayClose, Sale
from pos.store.staff import create_user
from pos.web.cli import cli
from pos.web.cli.ledger_commands import verify_all
from reports import service
from support import api_token

S, CO = Sale.__table__, Correction.__table__


def _second_supervisor(app, canteen: str = "YLW01", username: str = "supervisor2", pin: str = "5678") -> None:
    with app.extensions["canteen_db"].transaction() as s:
        create_user(session=s, username=username, password=username + "-demo-pass", role="supervisor",
                    canteen_id=canteen, display_name="值班主管二", pin=pin)


def _today(app):
    return business_date(app.config["CANTEEN"].default_canteen.timezone)


def _sale(app, *, closed: bool, subsidised: bool = True, skip: int = 0) -> dict:
    """A completed YLW01 sale of a closed (or the open) past day, with a subsidy (or without)."""
    today = _today(app)
    with app.extensions["canteen_db"].session() as s:
        conn = s.connection()
        closed_days = set(conn.execute(select(DayClose.__table__.c.business_date)
                                       .where(DayClose.__table__.c.canteen_id == "YLW01")).scalars())
        rows = conn.execute(select(S).where(S.c.canteen_id == "YLW01", S.c.status == "completed",
                                            S.c.business_date < today,
                                            S.c.subsidy_fen > 0 if subsidised else S.c.subsidy_fen == 0,
                                            S.c.due_fen > 0)
                            .order_by(S.c.business_date.desc(), S.c.receipt_no)).mappings().all()
    picked = [dict(r) for r in rows if (r["business_date"] in closed_days) == closed]
    return picked[skip]


def _ask(sale: dict, **change) -> dict:
    body = {"canteen": "YLW01", "business_date": sale["business_date"].isoformat(), "receipt_no": sale["receipt_no"],
            "reason": "收银员多收了一份汤", "refund_fen": sale["due_fen"], "reversed_subsidy_fen": sale["subsidy_fen"],
            "supervisor": "supervisor2", "pin": "5678"}
    body.update(change)
    return {k: v for k, v in body.items() if v is not None}


def _verify(app) -> tuple[bool, list[str]]:
    with app.extensions["canteen_db"].session() as s:
        return verify_all(session=s, canteen_ids=["YLW01", "JM01"])


def test_a_supervisor_books_a_correction_approved_by_another_supervisors_pin(app, client, runner):
    _second_supervisor(app)
    sale = _sale(app, closed=True)
    headers = api_token(client, "supervisor")
    r = client.post("/api/v1/corrections", json=_ask(sale, refund_fen=100, reversed_subsidy_fen=sale["subsidy_fen"]),
                    headers=headers)
    assert r.status_code == 201, r.get_json()
    out, today = r.get_json(), _today(app)
    assert out["business_date"] == today.isoformat() and out["claim_month"] == f"{today:%Y-%m}"
    assert (out["created_by"], out["approved_by"], out["refund_fen"], out["reversed_subsidy_fen"]) == \
        ("supervisor", "supervisor2", 100, sale["subsidy_fen"])
    assert out["original"] == {"sale_id": sale["id"], "business_date": sale["business_date"].isoformat(),
                               "receipt_no": sale["receipt_no"]}
    settings = app.config["CANTEEN"]
    with app.extensions["canteen_db"].session() as s:
        assert s.get(Sale, sale["id"]).status == "completed"  # the closed day's sale is untouched
        daily = service.build_daily(session=s, settings=settings, canteen_id="YLW01", business_date=today,
                                    now=now_utc())
        claim = service.build_claim(session=s, settings=settings, canteen_ids=["YLW01"], month=today.replace(day=1),
                                    now=now_utc())
        approved_by = s.connection().execute(select(CO.c.approved_by).where(CO.c.id == out["id"])).scalar()
        audited = s.connection().execute(select(AuditEntry.__table__.c.detail).where(
            AuditEntry.__table__.c.action == "correction_booked", AuditEntry.__table__.c.target == sale["id"])).scalar()
    assert [(c.original_receipt_no, c.refund_fen, c.reversed_subsidy_fen) for c in daily.data.corrections] == \
        [(sale["receipt_no"], 100, sale["subsidy_fen"])]
    assert [(a.original_receipt_no, a.reversed_subsidy_fen) for a in claim.data.adjustments] == \
        [(sale["receipt_no"], sale["subsidy_fen"])]
    assert approved_by is not None and '"approved_by": "supervisor2"' in audited
    ok, lines = _verify(app)
    assert ok, lines
    r = runner.invoke(cli, args=["verify"])
    assert r.exit_code == 0 and "ledger intact" in r.output, r.output
    # The answer is declared in the OpenAPI document.
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "CorrectionOut" in str(doc["paths"]["/api/v1/corrections"]["post"]["responses"]["201"])


def test_an_admin_may_approve_and_the_sale_may_be_named_by_its_id(app, client):
    sale = _sale(app, closed=True, subsidised=False)
    r = client.post("/api/v1/corrections", headers=api_token(client, "supervisor"),
                    json=_ask(sale, canteen=None, business_date=None, receipt_no=None, sale_id=sale["id"],
                              reversed_subsidy_fen=0, supervisor="admin", pin="9999"))
    assert r.status_code == 201, r.get_json()
    assert (r.get_json()["approved_by"], r.get_json()["refund_fen"]) == ("admin", sale["due_fen"])
    assert _verify(app)[0]


def test_what_must_be_refused_is_refused_and_nothing_is_booked(app, client):
    _second_supervisor(app)
    _second_supervisor(app, "JM01", "jm-supervisor2", "8765")
    sale, open_sale = _sale(app, closed=True), _sale(app, closed=False)
    supervisor = api_token(client, "supervisor")
    due, subsidy = sale["due_fen"], sale["subsidy_fen"]
    for headers, body, status, code in [
        (supervisor, _ask(open_sale), 409, "day_open"),
        (supervisor, _ask(sale, pin="0000"), 403, "bad_pin"),
        (supervisor, _ask(sale, supervisor="supervisor", pin="1234"), 403, "approver_is_requester"),
        (supervisor, _ask(sale, supervisor="jm-supervisor", pin="4321"), 403, "approver_other_canteen"),
        (supervisor, _ask(sale, pin=None), 422, "pin_required"),
        (supervisor, _ask(sale, refund_fen=due + 1), 422, "refund_out_of_range"),
        (supervisor, _ask(sale, refund_fen=-1), 422, "refund_out_of_range"),
        (supervisor, _ask(sale, reversed_subsidy_fen=subsidy + 1), 422, "subsidy_out_of_range"),
        (supervisor, _ask(sale, refund_fen=0, reversed_subsidy_fen=0), 422, "nothing_to_correct"),
        (supervisor, _ask(sale, receipt_no=987654), 404, "unknown_sale"),
        (supervisor, _ask(sale, sale_id=sale["id"]), 422, "invalid_request"),  # named twice
        (supervisor, _ask(sale, refund_fen="100"), 422, "invalid_request"),  # money is integer fen
        (supervisor, _ask(sale, business_date="2026-02-30"), 422, "invalid_business_date"),
        (api_token(client, "jm-supervisor"), _ask(sale, canteen=None, business_date=None, receipt_no=None,
                                                   sale_id=sale["id"], supervisor="jm-supervisor2", pin="8765"),
         403, "other_canteen"),
        (api_token(client, "cashier"), _ask(sale), 403, None),  # the route table: supervisors and admins
    ]:
        r = client.post("/api/v1/corrections", json=body, headers=headers)
        assert r.status_code == status, (body, r.get_json())
        if code:
            assert r.get_json()["error"]["code"] == code, (body, r.get_json())
    with app.extensions["canteen_db"].session() as s:
        assert s.connection().execute(select(func.count()).select_from(CO)).scalar() == 0
    assert client.post("/api/v1/corrections", json=_ask(sale), headers=supervisor).status_code == 201
    twice = client.post("/api/v1/corrections", json=_ask(sale, reason="再来一次"), headers=supervisor)
    assert (twice.status_code, twice.get_json()["error"]["code"]) == (409, "already_corrected")
    assert _verify(app)[0]


def test_the_correction_command_books_lists_and_refuses_in_one_line(app, runner):
    sale = _sale(app, closed=True)
    day, receipt = sale["business_date"].isoformat(), str(sale["receipt_no"])
    book = ["correction", "book", "--canteen", "YLW01", "--date", day, "--receipt", receipt, "--reason", "补录退餐"]
    for args, message in [
        ([*book, "--by", "supervisor", "--approver", "supervisor"], "two different people"),
        ([*book, "--by", "supervisor", "--approver", "cashier"], "approver must be a supervisor"),
        ([*book, "--by", "cashier", "--approver", "supervisor"], "only a supervisor"),
        ([*book, "--by", "nobody", "--approver", "admin"], "--by 'nobody' is not an active staff account"),
        ([*book, "--by", "supervisor", "--approver", "admin", "--refund-fen", str(sale["due_fen"] + 1)],
         f"refund_fen must be 0 to {sale['due_fen']} fen"),
        ([*book[:5], "2026-02-30", *book[6:], "--by", "supervisor", "--approver", "admin"], "YYYY-MM-DD"),
        ([*book[:7], "987654", *book[8:], "--by", "supervisor", "--approver", "admin"], "no sale with receipt"),
        (["correction", "list", "--month", "2026-13"], "--month must be YYYY-MM"),
    ]:
        r = runner.invoke(cli, args=args)
        assert r.exit_code == 2, (args, r.output)
        assert message in r.output and "Traceback" not in r.output, (args, r.output)
        assert len(r.output.strip().splitlines()) == 1, r.output
    r = runner.invoke(cli, args=[*book, "--by", "supervisor", "--approver", "admin", "--refund-fen", "0"])
    assert r.exit_code == 0, r.output
    today = _today(app)
    assert f"lands on the {today.isoformat()} daily report" in r.output and "approved by admin" in r.output
    r = runner.invoke(cli, args=["correction", "list", "--month", f"{today:%Y-%m}"])
    assert r.exit_code == 0, r.output
    assert f"{day} #{receipt}" in r.output and "1 correction(s)" in r.output
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    assert "0 correction(s)" in runner.invoke(cli, args=["correction", "list", "--month", last_month]).output
    r = runner.invoke(cli, args=[*book, "--by", "supervisor", "--approver", "admin"])
    assert r.exit_code == 2 and "already has a correction" in r.output
    assert runner.invoke(cli, args=["verify"]).exit_code == 0
