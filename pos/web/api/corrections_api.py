"""Corrections after day close over the API: POST /api/v1/corrections.

The caller (a supervisor of the sale's canteen, or an admin) books the correction; a
second person approves it with their PIN — another supervisor of the canteen, or an
admin — checked (and throttled) as for voids.  The sale is named by its id, or by canteen,
business date and receipt number.  Answers 201 with the booked correction; refusals are
4xx JSON.
"""
from __future__ import annotations

from datetime import date
from typing import Optional

from flask import Response
from flask_login import current_user
from pydantic import Field, model_validator

from pos.clock import now_utc
from pos.refusal import Refusal
from pos.store import corrections, sale_views
from pos.store.corrections import CorrectionView
from pos.web.api.answers import Out
from pos.web.api.blueprint import ERRORS, THROTTLED, api
from pos.web.api.schemas import Strict
from pos.web.input_policy import check_day
from pos.web.api.till_api import _approver
from pos.web.signin import canteen_named, client_address, db, require_canteen, settings


class CorrectionIn(Strict):
    """The sale (``sale_id``, or ``business_date`` and ``receipt_no`` with an optional
    ``canteen``), the reason, what to reverse in fen, and the approving supervisor's
    username and PIN."""

    sale_id: Optional[str] = Field(default=None, min_length=1, max_length=64)
    canteen: Optional[str] = Field(default=None, min_length=1, max_length=32,
                                   description="canteen code (default: the caller's canteen)")
    business_date: Optional[str] = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$",
                                         description="the sale's (closed) business date, YYYY-MM-DD")
    receipt_no: Optional[int] = Field(default=None, ge=1, le=2_000_000_000)
    reason: str = Field(min_length=1, max_length=200)
    refund_fen: int = Field(description="cash to give back: 0 to the sale's due_fen")
    reversed_subsidy_fen: int = Field(description="subsidy to take off the claim: 0 to the sale's subsidy_fen")
    supervisor: Optional[str] = Field(default=None, min_length=1, max_length=64,
                                      description="the approver's username (another supervisor, or an admin)")
    pin: Optional[str] = Field(default=None, min_length=1, max_length=16)

    @model_validator(mode="after")
    def _one_way_to_name_the_sale(self):
        given = [x is not None for x in (self.business_date, self.receipt_no)]
        if given != [self.sale_id is None] * 2:
            raise ValueError("name the sale by sale_id, or by business_date and receipt_no (and canteen)")
        return self


class OriginalSaleOut(Out):
    sale_id: str
    business_date: str
    receipt_no: int


class CorrectionOut(Out):
    """A booked correction: it lands on ``business_date`` (that day's report) and in the
    claim of ``claim_month``; ``original`` is the closed day's sale it points at."""

    id: str
    canteen: str
    business_date: str
    claim_month: str
    created_at: str
    created_by: str
    approved_by: Optional[str]
    reason: str
    refund_fen: int
    reversed_subsidy_fen: int
    original: OriginalSaleOut
    chain_seq: int


def correction_out(c: CorrectionView) -> CorrectionOut:
    return CorrectionOut(
        id=c.id, canteen=c.canteen, business_date=c.business_date.isoformat(), claim_month=f"{c.business_date:%Y-%m}",
        created_at=c.created_at.isoformat() + "Z", created_by=c.created_by, approved_by=c.approved_by, reason=c.reason,
        refund_fen=c.refund_fen, reversed_subsidy_fen=c.reversed_subsidy_fen,
        original=OriginalSaleOut(sale_id=c.original_sale_id, business_date=c.original_date.isoformat(),
                                 receipt_no=c.original_receipt_no),
        chain_seq=c.chain_seq)


def _sale(body: CorrectionIn) -> tuple[str, str]:
    """(sale id, canteen) of the sale the body names, inside the caller's scope."""
    if body.sale_id is not None:
        with db().tx() as tx:
            canteen = sale_views.sale_canteen(tx, sale_id=body.sale_id)
        if canteen is None:
            raise Refusal("unknown_sale", "没有这笔销售", "no such sale")
        require_canteen(canteen)
        return body.sale_id, canteen
    canteen = canteen_named(body.canteen).code
    try:
        day = date.fromisoformat(body.business_date)
    except ValueError:
        raise Refusal("invalid_business_date", "日期无效", f"not a date: {body.business_date!r}") from None
    check_day(day, "business_date")
    with db().session() as s:
        return corrections.find_sale(session=s, canteen_id=canteen, business_date=day,
                                     receipt_no=body.receipt_no), canteen


def approving(body, canteen_id: str):
    """The second person approving a correction, by their username and PIN (the caller's
    own token never approves what the caller books)."""
    if body.pin is None:
        raise Refusal("pin_required", "更正需要另一位主管（或管理员）输入授权码批准",
                      "a correction needs a second supervisor's (or an admin's) PIN")
    if body.supervisor is None:
        raise Refusal("supervisor_required", "请填写批准更正的主管", "name the approving supervisor")
    return _approver(body, canteen_id)


@api.post("/corrections", responses={201: CorrectionOut, **ERRORS, **THROTTLED})
def corrections_book(body: CorrectionIn):
    """Book a correction of a closed day's sale, approved by a second person's PIN.  It
    lands on today's business date (today's report, this month's claim adjustments)."""
    sale_id, canteen = _sale(body)
    approver = approving(body, canteen)
    with db().transaction() as s:
        booked = corrections.book_correction(
            session=s, settings=settings(), sale_id=sale_id, reason=body.reason, refund_fen=body.refund_fen,
            reversed_subsidy_fen=body.reversed_subsidy_fen, actor=current_user, approved_by=approver, now=now_utc(),
            address=client_address())
    return Response(correction_out(booked).model_dump_json(), status=201, mimetype="application/json")
