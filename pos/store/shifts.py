"""Cashier shifts: opened with a cash float, closed with a cash count.

A sale needs an open shift of its cashier at that canteen.  Closing answers the cash the
drawer should hold (float + cash taken − change given − refunds of voided cash sales of
the shift) and the difference from what was counted.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from pos.access import SUPERVISE
from pos.models import Sale, Shift, Void
from pos.store.audit import audit
from pos.store.ledger import day_closed
from pos.refusal import Refusal
from pos.tx import Tx

MAX_CASH_FEN = 10_000_000  # ¥100,000: more than any drawer holds; larger is a typing mistake


@dataclass(frozen=True)
class CashCount:
    """What the drawer of a shift should hold, and the parts that make it up (fen)."""

    opening_float_fen: int
    cash_taken_fen: int
    change_given_fen: int
    cash_refunds_fen: int
    cash_sales: int
    sales: int
    expected_cash_fen: int


@dataclass(frozen=True)
class ShiftState:
    """A shift as its cashier sees it (a copy of the row, so it outlives the transaction),
    and the drawer's count so far or at close."""

    id: str
    canteen_id: str
    cashier_id: str
    business_date: date
    opened_at: datetime
    opening_float_fen: int
    closed_at: datetime | None
    counted_cash_fen: int | None
    expected_cash_fen: int | None
    cash: CashCount | None = None

    @classmethod
    def of(cls, shift: Shift, cash: CashCount | None = None) -> "ShiftState":
        return cls(shift.id, shift.canteen_id, shift.cashier_id, shift.business_date, shift.opened_at,
                   shift.opening_float_fen, shift.closed_at, shift.counted_cash_fen, shift.expected_cash_fen, cash)

    @property
    def difference_fen(self) -> int | None:
        """Counted minus expected cash, once the shift is closed."""
        if self.closed_at is None or self.expected_cash_fen is None or self.counted_cash_fen is None:
            return None
        return self.counted_cash_fen - self.expected_cash_fen


def current_shift(*, session: Session, cashier_id: str, canteen_id: str | None = None) -> Shift | None:
    """The cashier's open shift (at ``canteen_id`` when given), or None."""
    q = select(Shift).where(Shift.cashier_id == cashier_id, Shift.closed_at.is_(None))
    if canteen_id is not None:
        q = q.where(Shift.canteen_id == canteen_id)
    return session.execute(q).scalars().first()


def selling_shift(tx: Tx, *, cashier_id: str, canteen_id: str, business_date: date) -> str:
    """The id of the shift a sale of ``business_date`` goes into: the cashier's open shift
    at the canteen.  Refuses a closed date (``day_closed``: nothing more is sold on it)
    and a cashier without an open shift (``no_open_shift``).  One statement: every sale asks."""
    closed, shift_id = tx.one(
        "SELECT EXISTS (SELECT 1 FROM day_closes WHERE canteen_id = :c AND business_date = :d), "
        "(SELECT id FROM shifts WHERE cashier_id = :u AND closed_at IS NULL AND canteen_id = :c)",
        {"u": cashier_id, "c": canteen_id, "d": business_date})
    if closed:
        raise day_closed(business_date)
    if shift_id is None:
        raise Refusal("no_open_shift", "请先开班再收款", "open a shift before selling")
    return shift_id


def open_shift(*, session: Session, canteen_id: str, cashier, opening_float_fen: int, business_date: date,
               now: datetime, address: str = "") -> Shift:
    """Open the cashier's shift with a cash float; refuses (``shift_already_open``, with
    that shift) while another is open.  ``cashier`` has ``id`` and ``username``."""
    if not 0 <= opening_float_fen <= MAX_CASH_FEN:
        raise Refusal("invalid_amount", "备用金金额无效", "opening_float_fen must be 0..10,000,000 fen")
    # A closed business date takes nothing more: a shift opened on it would change the
    # closed day's report (and its checks) after the close.
    if Tx.of(session).one("SELECT 1 FROM day_closes WHERE canteen_id = :c AND business_date = :d",
                          {"c": canteen_id, "d": business_date}):
        raise day_closed(business_date)
    existing = current_shift(session=session, cashier_id=cashier.id)
    if existing is not None:
        raise Refusal("shift_already_open", "您已有未交班的班次，请先交班",
                      "you already have an open shift; close it first", shift=ShiftState.of(existing))
    shift = Shift(canteen_id=canteen_id, cashier_id=cashier.id, business_date=business_date, opened_at=now,
                  opening_float_fen=opening_float_fen)
    session.add(shift)
    try:
        # The partial unique index settles two simultaneous opens by the same cashier.
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Refusal("shift_already_open", "您已有未交班的班次，请先交班",
                      "you already have an open shift; close it first") from None
    audit(tx=session, action="shift_opened", actor=cashier, canteen_id=canteen_id, target=shift.id,
          address=address, detail={"opening_float_fen": opening_float_fen})
    return shift


def expected_cash(*, session: Session, shift: Shift) -> CashCount:
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
    return CashCount(opening_float_fen=shift.opening_float_fen, cash_taken_fen=int(taken),
                     change_given_fen=int(change), cash_refunds_fen=int(refunds), cash_sales=int(count),
                     sales=int(sales), expected_cash_fen=expected)


def close_shift(*, session: Session, shift_id: str, actor, counted_cash_fen: int, now: datetime,
                address: str = "") -> ShiftState:
    """Close a shift with the counted cash; returns it with the expected cash and the difference.

    The cashier closes their own shift; a supervisor or admin of the canteen may close any.
    ``actor`` has ``id``, ``username``, ``role`` and ``canteen_id``.
    """
    if not 0 <= counted_cash_fen <= MAX_CASH_FEN:
        raise Refusal("invalid_amount", "清点金额无效", "counted_cash_fen must be 0..10,000,000 fen")
    shift = session.execute(select(Shift).where(Shift.id == shift_id).with_for_update()).scalars().first()
    if shift is None:
        raise Refusal("unknown_shift", "没有这个班次", "no such shift")
    if shift.cashier_id != actor.id:
        if actor.role not in SUPERVISE or actor.canteen_id not in (None, shift.canteen_id):
            raise Refusal("not_your_shift", "只能交自己的班（或由主管交班）",
                          "only the shift's cashier or a supervisor of the canteen may close it")
    if shift.closed_at is not None:
        raise Refusal("shift_closed", "该班次已交班", "this shift is already closed", shift=ShiftState.of(shift))
    cash = expected_cash(session=session, shift=shift)
    shift.closed_at = now
    shift.counted_cash_fen = counted_cash_fen
    shift.expected_cash_fen = cash.expected_cash_fen
    session.add(shift)
    session.flush()
    state = ShiftState.of(shift, cash)
    audit(tx=session, action="shift_closed", actor=actor, canteen_id=shift.canteen_id, target=shift.id,
          address=address, detail={"counted_cash_fen": counted_cash_fen, "expected_cash_fen": cash.expected_cash_fen,
                                   "difference_fen": state.difference_fen})
    return state
