"""Cashier shifts: opened with a cash float, closed with a cash count.

A sale needs an open shift of its cashier at that canteen.  Closing answers the cash the
drawer should hold (float + cash taken − change given − refunds of voided cash sales of
the shift) and the difference from what was counted.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from pos.errors import ApiError
from pos.models import Sale, Shift, Void

MAX_CASH_FEN = 10_000_000  # ¥100,000: more than any drawer holds; larger is a typing mistake


def shift_dict(shift: Shift) -> dict:
    """The shift as the API shows it (money in fen, times as ISO UTC)."""
    return {
        "id": shift.id, "canteen": shift.canteen_id, "cashier_id": shift.cashier_id,
        "business_date": shift.business_date.isoformat(),
        "opened_at": shift.opened_at.isoformat() + "Z",
        "opening_float_fen": shift.opening_float_fen,
        "closed_at": shift.closed_at.isoformat() + "Z" if shift.closed_at else None,
        "counted_cash_fen": shift.counted_cash_fen, "expected_cash_fen": shift.expected_cash_fen,
        "difference_fen": (shift.counted_cash_fen - shift.expected_cash_fen
                           if shift.closed_at and shift.expected_cash_fen is not None else None),
        "status": "closed" if shift.closed_at else "open",
    }


def current_shift(*, session: Session, cashier_id: str, canteen_id: str | None = None) -> Shift | None:
    """The cashier's open shift (at ``canteen_id`` when given), or None."""
    q = select(Shift).where(Shift.cashier_id == cashier_id, Shift.closed_at.is_(None))
    if canteen_id is not None:
        q = q.where(Shift.canteen_id == canteen_id)
    return session.execute(q).scalars().first()


# The cashier's open shift at a canteen (read with the sale's other checks, pos/store/sales.py).
OPEN_SHIFT_SQL = "SELECT id FROM shifts WHERE cashier_id = :u AND closed_at IS NULL AND canteen_id = :c"


def open_shift(*, session: Session, canteen_id: str, cashier_id: str, opening_float_fen: int,
               business_date: date, now: datetime) -> Shift:
    """Open the cashier's shift; refuses (409 shift_already_open) while another is open."""
    if not 0 <= opening_float_fen <= MAX_CASH_FEN:
        raise ApiError(422, "invalid_amount", "备用金金额无效", "opening_float_fen must be 0..10,000,000 fen")
    existing = current_shift(session=session, cashier_id=cashier_id)
    if existing is not None:
        raise ApiError(409, "shift_already_open", "您已有未交班的班次，请先交班",
                       "you already have an open shift; close it first", shift=shift_dict(existing))
    shift = Shift(canteen_id=canteen_id, cashier_id=cashier_id, business_date=business_date, opened_at=now,
                  opening_float_fen=opening_float_fen)
    session.add(shift)
    try:
        # The partial unique index settles two simultaneous opens by the same cashier.
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ApiError(409, "shift_already_open", "您已有未交班的班次，请先交班",
                       "you already have an open shift; close it first") from None
    return shift


def expected_cash(*, session: Session, shift: Shift) -> dict:
    """What the drawer of ``shift`` should hold, with the parts that make it up (fen)."""
    s, v = Sale.__table__, Void.__table__
    cash = (s.c.shift_id == shift.id) & (s.c.tender_method == "cash")
    taken, change, count = session.connection().execute(
        select(func.coalesce(func.sum(s.c.tendered_fen), 0), func.coalesce(func.sum(s.c.change_fen), 0),
               func.count()).where(cash)).one()
    refunds = session.connection().execute(
        select(func.coalesce(func.sum(v.c.refund_fen), 0)).select_from(v.join(s, s.c.id == v.c.sale_id))
        .where(cash)).scalar()
    sales = session.connection().execute(select(func.count()).where(s.c.shift_id == shift.id)).scalar()
    expected = shift.opening_float_fen + int(taken) - int(change) - int(refunds)
    return {"opening_float_fen": shift.opening_float_fen, "cash_taken_fen": int(taken), "change_given_fen": int(change),
            "cash_refunds_fen": int(refunds), "cash_sales": int(count), "sales": int(sales),
            "expected_cash_fen": expected}


def close_shift(*, session: Session, shift_id: str, actor_id: str, actor_role: str, actor_canteen: str | None,
                counted_cash_fen: int, now: datetime) -> dict:
    """Close a shift with the counted cash; returns the shift with expected cash and difference.

    The cashier closes their own shift; a supervisor or admin of the canteen may close any.
    """
    if not 0 <= counted_cash_fen <= MAX_CASH_FEN:
        raise ApiError(422, "invalid_amount", "清点金额无效", "counted_cash_fen must be 0..10,000,000 fen")
    shift = session.execute(select(Shift).where(Shift.id == shift_id).with_for_update()).scalars().first()
    if shift is None:
        raise ApiError(404, "unknown_shift", "没有这个班次", "no such shift")
    if shift.cashier_id != actor_id:
        if actor_role not in ("supervisor", "admin") or actor_canteen not in (None, shift.canteen_id):
            raise ApiError(403, "not_your_shift", "只能交自己的班（或由主管交班）",
                           "only the shift's cashier or a supervisor of the canteen may close it")
    if shift.closed_at is not None:
        raise ApiError(409, "shift_closed", "该班次已交班", "this shift is already closed", shift=shift_dict(shift))
    parts = expected_cash(session=session, shift=shift)
    shift.closed_at = now
    shift.counted_cash_fen = counted_cash_fen
    shift.expected_cash_fen = parts["expected_cash_fen"]
    session.add(shift)
    session.flush()
    out = shift_dict(shift)
    out["summary"] = parts
    return out
