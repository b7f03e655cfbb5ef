"""Day close over the API: POST /api/v1/day-close {business_date, canteen?}.

Answers the stored close: ledger position and head, the SHA-256 of the report data, the
day's totals in fen and the edit checks.  Refusals are 4xx JSON (future date, already
closed, shifts still open, another canteen).
"""
from __future__ import annotations

from datetime import date

from flask import jsonify
from flask_login import current_user
from pydantic import Field

from pos.clock import now_utc
from pos.store.day_close import close_day
from pos.refusal import Refusal
from pos.web.api.answers import Out
from pos.web.api.blueprint import ERRORS, api
from pos.web.api.schemas import Strict
from pos.web.input_policy import check_day
from pos.web.signin import canteen_named, client_address, db, settings


class DayCloseIn(Strict):
    business_date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="the business date to close, YYYY-MM-DD")
    canteen: str | None = Field(default=None, min_length=1, max_length=32,
                                description="canteen code (default: the caller's canteen)")
    override_unsynced_reason: str | None = Field(
        default=None, min_length=1, max_length=200,
        description="why to close while tills hold offline sales not yet recorded (409 tills_unsynced names them); "
                    "audited")


class DayTotalsOut(Out):
    sales: int
    gross_fen: int
    subsidy_fen: int
    due_fen: int
    voided_sales: int


class DayCheckOut(Out):
    code: str
    ok: bool
    label_zh: str
    label_en: str
    detail_zh: str
    detail_en: str


class DayCloseOut(Out):
    """The stored close: where it sits in the ledger's hash chain, the SHA-256 of the day's
    report data, the day's totals in fen and the edit checks."""

    canteen: str
    business_date: str
    closed_at: str
    closed_by: str
    chain_seq: int
    chain_head: str
    report_sha256: str
    totals: DayTotalsOut
    checks: list[DayCheckOut]


@api.post("/day-close", responses={201: DayCloseOut, **ERRORS})
def reports_day_close(body: DayCloseIn):
    """Close a business date (supervisor of the canteen, or admin).  Afterwards no sale or
    void for that date is accepted."""
    code = canteen_named(body.canteen).code
    try:
        day = date.fromisoformat(body.business_date)
    except ValueError:
        raise Refusal("invalid_business_date", "日期无效", f"not a date: {body.business_date!r}") from None
    check_day(day, "business_date")
    with db().transaction() as s:
        report = close_day(session=s, settings=settings(), canteen_id=code, business_date=day, actor=current_user,
                           now=now_utc(), address=client_address(),
                           override_unsynced_reason=body.override_unsynced_reason or "")
    d, close = report.data, report.close
    return jsonify({
        "canteen": code, "business_date": day.isoformat(),
        "closed_at": close.closed_at.isoformat() + "Z", "closed_by": close.closed_by,
        "chain_seq": close.chain_seq, "chain_head": close.chain_head, "report_sha256": close.report_sha256,
        "totals": {"sales": d.summary.sales, "gross_fen": d.summary.gross_fen, "subsidy_fen": d.summary.subsidy_fen,
                   "due_fen": d.summary.due_fen, "voided_sales": d.summary.voided_sales},
        "checks": [{"code": c.code, "ok": c.ok, "label_zh": c.label_zh, "label_en": c.label_en,
                    "detail_zh": c.detail_zh, "detail_en": c.detail_en}
                   for c in report.checks],
    }), 201
