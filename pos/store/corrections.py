"""Corrections after day close (更正): a mistake found in a closed business date is
booked as a new chained row, dated on the open business date it is booked, pointing at
the original sale — nothing is edited in place.  It shows on that day's report and
lowers the claim of that month (``reports.claim_queries``), never the closed one.

A correction is asked for by one member of staff and approved by a second: a
supervisor of the sale's canteen or an admin, never the one who asks.  It may reverse
part of what the sale took: some or all of the cash paid (``refund_fen``) and of the
subsidy claimed (``reversed_subsidy_fen``).  One correction per sale.

:class:`CorrectionView` is the one shape of a booked correction (the API, the page and
the CLI show it); :func:`day_sales` and :func:`find_sale` find the sale to correct.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from pos.access import SUPERVISE
from pos.clock import business_date as local_business_date
from pos.clock import naive_utc
from pos.config import Settings
from pos.ids import new_id
from pos.models import Correction, DayClose, Sale, StaffUser
from pos.refusal import Refusal
from pos.store import ledger
from pos.store.audit import audit

MAX_REASON = 200
S, CO, U = Sale.__table__, Correction.__table__, StaffUser.__table__


@dataclass(frozen=True)
class CorrectionView:
    """A booked correction: where it lands (``business_date``, the open date it was
    booked on), what it points at (the original sale, its date and receipt number), who
    asked and who approved (usernames), and what it reverses (fen)."""

    id: str
    canteen: str
    business_date: date
    created_at: datetime
    created_by: str
    approved_by: str | None
    reason: str
    refund_fen: int
    reversed_subsidy_fen: int
    original_sale_id: str
    original_date: date
    original_receipt_no: int
    chain_seq: int


@dataclass(frozen=True)
class DaySale:
    """A sale of one business date as the correction page lists it; ``corrected`` when a
    correction points at it already."""

    id: str
    receipt_no: int
    sold_at: datetime
    gross_fen: int
    subsidy_fen: int
    due_fen: int
    status: str
    corrected: bool


def _views_query():
    asker, approver = aliased(U), aliased(U)
    return (select(CO.c.id, CO.c.canteen_id, CO.c.business_date, CO.c.created_at, asker.c.username,
                   approver.c.username, CO.c.reason, CO.c.refund_fen, CO.c.reversed_subsidy_fen,
                   CO.c.original_sale_id, S.c.business_date, S.c.receipt_no, CO.c.chain_seq)
            .select_from(CO.join(S, S.c.id == CO.c.original_sale_id)
                         .join(asker, asker.c.id == CO.c.created_by)
                         .outerjoin(approver, approver.c.id == CO.c.approved_by)))


def _view(row) -> CorrectionView:
    return CorrectionView(*row)


def get_correction(*, session: Session, correction_id: str) -> CorrectionView | None:
    """The correction, or None."""
    row = session.connection().execute(_views_query().where(CO.c.id == correction_id)).first()
    return _view(row) if row is not None else None


def corrections_between(*, session: Session, canteen_ids: list[str], first: date, last: date) -> list[CorrectionView]:
    """The corrections booked on business dates ``first``..``last`` at the canteens, in
    the order the claim lists them."""
    q = (_views_query().where(CO.c.canteen_id.in_(canteen_ids), CO.c.business_date.between(first, last))
         .order_by(CO.c.canteen_id, CO.c.business_date, CO.c.created_at, CO.c.id))
    return [_view(r) for r in session.connection().execute(q)]


def day_sales(*, session: Session, canteen_id: str, business_date: date) -> list[DaySale]:
    """The canteen's sales of one business date in the order they were sold."""
    corrected = select(func.count()).where(CO.c.original_sale_id == S.c.id).scalar_subquery()
    q = (select(S.c.id, S.c.receipt_no, S.c.sold_at, S.c.gross_fen, S.c.subsidy_fen, S.c.due_fen, S.c.status,
                corrected)
         .where(S.c.canteen_id == canteen_id, S.c.business_date == business_date)
         .order_by(S.c.sold_at, S.c.receipt_no))
    return [DaySale(*r[:7], corrected=bool(r[7])) for r in session.connection().execute(q)]


def find_sale(*, session: Session, canteen_id: str, business_date: date, receipt_no: int) -> str:
    """The id of the canteen's sale with this receipt number on this business date;
    refuses (``unknown_sale``) when there is none."""
    found = session.connection().execute(select(S.c.id).where(
        S.c.canteen_id == canteen_id, S.c.business_date == business_date, S.c.receipt_no == receipt_no)).scalar()
    if found is None:
        raise Refusal("unknown_sale", f"{business_date.isoformat()} 没有第 {receipt_no} 号小票",
                      f"no sale with receipt number {receipt_no} on {business_date.isoformat()}")
    return found


def _may_approve(user: StaffUser | None, canteen_id: str) -> bool:
    """An active supervisor of the canteen, or an admin (of it or of the district)."""
    return (user is not None and user.active and user.role in SUPERVISE
            and user.canteen_id in (None, canteen_id))


def _amount(value, limit: int, code: str, zh: str, en: str) -> int:
    if type(value) is not int or not 0 <= value <= limit:
        raise Refusal(code, f"{zh}应在 0 到 {limit} 分之间", f"{en} must be 0 to {limit} fen, got {value!r}",
                      max_fen=limit)
    return value


def book_correction(*, session: Session, settings: Settings, sale_id: str, reason: str, refund_fen: int,
                    reversed_subsidy_fen: int, actor, approved_by, now: datetime,
                    address: str = "") -> CorrectionView:
    """Book a correction of a sale whose business date is closed, in the caller's write
    transaction: a new chained row on today's (open) business date that refunds
    ``refund_fen`` of what was paid and reverses ``reversed_subsidy_fen`` of the subsidy.

    ``actor`` asks and ``approved_by`` approves (anything with ``id``; both are read
    again from the staff table).  Refuses an unknown sale, a sale of an open date
    (``day_open``: void it instead), a voided or already corrected sale, an empty reason,
    amounts outside 0..what the sale took or both 0, an asker who is not a supervisor of
    the canteen or an admin (``requester_not_allowed``), an approver who is the asker
    (``approver_is_requester``) or who may not approve (``approver_not_allowed``).
    """
    found = session.connection().execute(select(S.c.canteen_id).where(S.c.id == sale_id)).scalar()
    if found is None:
        raise Refusal("unknown_sale", "没有这笔销售", "no such sale")
    today = local_business_date(settings.canteen(found).timezone, now)
    # The chain lock first: what is read below (an earlier correction) is then final.
    chain = ledger.open_chain(session, canteen_id=found, business_date=today)
    sale = session.connection().execute(select(S).where(S.c.id == sale_id)).mappings().one()
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise Refusal("reason_required", f"请填写更正原因（{MAX_REASON} 字以内）",
                      f"a reason is required (at most {MAX_REASON} characters)")
    if session.get(DayClose, (found, sale["business_date"])) is None:
        raise Refusal("day_open", "该营业日尚未日结，请直接作废", "that business date is still open: void the sale instead")
    if sale["status"] != "completed":
        raise Refusal("already_voided", "这笔销售已作废", "this sale is already voided")
    if session.connection().execute(select(func.count()).where(CO.c.original_sale_id == sale_id)).scalar():
        raise Refusal("already_corrected", "这笔销售已有更正", "this sale already has a correction")
    refund = _amount(refund_fen, sale["due_fen"], "refund_out_of_range", "退款金额", "refund_fen")
    reversed_subsidy = _amount(reversed_subsidy_fen, sale["subsidy_fen"], "subsidy_out_of_range", "冲减补贴",
                               "reversed_subsidy_fen")
    if refund == 0 and reversed_subsidy == 0:
        raise Refusal("nothing_to_correct", "退款和冲减补贴不能都为 0",
                      "refund_fen and reversed_subsidy_fen cannot both be 0")
    asker = session.get(StaffUser, actor.id)
    if not _may_approve(asker, found):
        raise Refusal("requester_not_allowed", "只有本食堂的主管或管理员可以登记更正",
                      "only a supervisor of the sale's canteen or an admin may book a correction")
    if approved_by.id == asker.id:
        raise Refusal("approver_is_requester", "更正须由另一位主管或管理员批准，不能自己批准",
                      "a correction must be approved by a second person, not the one who books it")
    approver = session.get(StaffUser, approved_by.id)
    if not _may_approve(approver, found):
        raise Refusal("approver_not_allowed", "批准人须为本食堂的主管或管理员",
                      "the approver must be a supervisor of the sale's canteen or an admin")
    row = chain.stamp("corrections", {
        "id": new_id(), "canteen_id": found, "business_date": today, "original_sale_id": sale_id,
        "created_at": naive_utc(now), "created_by": asker.id, "reason": reason, "refund_fen": refund,
        "reversed_subsidy_fen": reversed_subsidy, "approved_by": approver.id})
    session.connection().execute(CO.insert(), row)
    chain.save()
    audit(tx=session, action="correction_booked", actor=asker, canteen_id=found, target=sale_id, address=address,
          detail={"approved_by": approver.username, "refund_fen": refund, "reversed_subsidy_fen": reversed_subsidy,
                  "original_date": sale["business_date"].isoformat(), "receipt_no": sale["receipt_no"],
                  "booked_on": today.isoformat()})
    return get_correction(session=session, correction_id=row["id"])
