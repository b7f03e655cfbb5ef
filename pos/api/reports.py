"""Day close over the API: POST /api/v1/day-close {business_date, canteen?}.

Answers the stored close: ledger position and head, the SHA-256 of the report data, the
day's totals in fen and the edit checks.  Refusals are 4xx JSON (future date, already
closed, shifts still open, another canteen).
"""
from __future__ import annotations

from datetime import date

from flask import current_app, jsonify
from flask_login import current_user
from pydantic import Field

from pos.api import api
from pos.api.schemas import ErrorOut, Strict
from pos.auth import client_address, db, require_canteen, user_canteen
from pos.clock import now_utc
from pos.errors import ApiError
from pos.store.day_close import close_day

_ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class DayCloseIn(Strict):
    business_date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="the business date to close, YYYY-MM-DD")
    canteen: str | None = Field(default=None, min_length=1, max_length=32,
                                description="canteen code (default: the caller's canteen)")


@api.post("/day-close", responses={201: None, **_ERRORS})
def reports_day_close(body: DayCloseIn):
    """Close a business date (supervisor of the canteen, or admin).  Afterwards no sale or
    void for that date is accepted."""
    settings = current_app.config["CANTEEN"]
    code = body.canteen or user_canteen()
    if code not in {c.code for c in settings.canteens}:
        raise ApiError(404, "unknown_canteen", "没有这个食堂", f"unknown canteen {code!r}")
    require_canteen(code)
    try:
        day = date.fromisoformat(body.business_date)
    except ValueError:
        raise ApiError(422, "bad_date", "日期无效", f"not a date: {body.business_date!r}") from None
    with db().transaction() as s:
        report = close_day(session=s, settings=settings, canteen_id=code, business_date=day, actor=current_user,
                           now=now_utc(), address=client_address())
    d, close = report.data, report.close
    return jsonify({
        "canteen": code, "business_date": day.isoformat(),
        "closed_at": close.closed_at.isoformat() + "Z", "closed_by": close.closed_by,
        "chain_seq": close.chain_seq, "chain_head": close.chain_head, "report_sha256": close.report_sha256,
        "totals": {"sales": d.summary.sales, "gross_fen": d.summary.gross_fen, "subsidy_fen": d.summary.subsidy_fen,
                   "due_fen": d.summary.due_fen, "voided_sales": d.summary.voided_sales},
        "checks": [{"code": c.code, "ok": c.ok, "label_zh": c.label_zh, "label_en": c.label_en, "detail": c.detail}
                   for c in report.checks],
    }), 201
