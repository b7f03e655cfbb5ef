"""Day close (日结) and corrections.

Closing a canteen's business date records the ledger position and head at that moment,
and stores the daily report's data (canonical JSON) with its SHA-256.  Afterwards the sale
path refuses every sale and void for the date (:func:`pos.store.ledger.open_chain`);
a mistake found later is booked as a correction: a new chained row, dated on an open
business date, pointing at the original sale — nothing is edited in place.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from pos.clock import business_date as local_business_date
from pos.clock import naive_utc
from pos.config import Settings
from pos.ids import new_id
from pos.models import Correction, DayClose, Sale, Shift
from pos.store import ledger
from pos.store.audit import audit
from pos.refusal import Refusal
from reports.queries import DailyReport, daily_data, daily_json, daily_report, sha256_text


def close_day(*, session: Session, settings: Settings, canteen_id: str, business_date: date, actor,
              now: datetime, address: str = "") -> DailyReport:
    """Close ``business_date`` at ``canteen_id`` in the caller's write transaction and
    return its daily report.

    Refuses a date in the future (``future_date``), a date already closed
    (``day_already_closed``) and a date with shifts not yet handed over (``shifts_open``:
    the cash count belongs in the reconciliation).  ``actor`` has ``id`` and ``username``;
    ``now`` is an aware instant (:func:`pos.clock.now_utc`).
    """
    # Locking the chain first makes the close wait for any sale being recorded, so the
    # stored data and the chain head describe the same moment.
    chain = ledger.open_chain(session, canteen_id=canteen_id)
    tz = settings.canteen(canteen_id).timezone
    today = local_business_date(tz, now)
    if business_date > today:
        raise Refusal("future_date", f"{business_date.isoformat()} 还没到，不能日结",
                      f"{business_date.isoformat()} is in the future and cannot be closed")
    if session.get(DayClose, (canteen_id, business_date)) is not None:
        raise Refusal("day_already_closed", f"{business_date.isoformat()} 已经日结过了",
                      f"business date {business_date.isoformat()} is already closed")
    sh = Shift.__table__
    open_shifts = session.connection().execute(
        select(func.count()).where(sh.c.canteen_id == canteen_id, sh.c.business_date == business_date,
                                   sh.c.closed_at.is_(None))).scalar()
    if open_shifts:
        raise Refusal("shifts_open", f"还有 {open_shifts} 个班次未交班，请先交班清点现金再日结",
                      f"{open_shifts} shift(s) of that date are still open: close them with a cash count first",
                      open_shifts=open_shifts)
    data = daily_data(session=session, canteen_id=canteen_id, business_date=business_date,
                      default_cap=settings.policy.free_meal_cap(business_date))
    body = daily_json(data)
    digest = sha256_text(body)
    closed_at = naive_utc(now)
    session.add(DayClose(canteen_id=canteen_id, business_date=business_date, closed_at=closed_at,
                         closed_by=actor.id, chain_seq=chain.seq, chain_head=chain.head if chain.seq else "",
                         report_json=body, report_sha256=digest))
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Refusal("day_already_closed", f"{business_date.isoformat()} 已经日结过了",
                      f"business date {business_date.isoformat()} is already closed") from None
    audit(tx=session, action="day_closed", actor=actor, canteen_id=canteen_id,
          target=business_date.isoformat(), address=address,
          detail={"sales": data.summary.sales, "subsidy_fen": data.summary.subsidy_fen,
                  "due_fen": data.summary.due_fen, "chain_seq": chain.seq, "report_sha256": digest,
                  "checks_failed": [c.code for c in data.checks if not c.ok]})
    return daily_report(session=session, canteen_id=canteen_id, business_date=business_date,
                        default_cap=settings.policy.free_meal_cap(business_date), generated_at=closed_at, data=data,
                        sha256=digest)


def book_correction(*, session: Session, settings: Settings, sale_id: str, reason: str, actor, now: datetime,
                    address: str = "") -> Correction:
    """Book a correction of a sale whose business date is closed: a new chained row on
    today's (open) business date that refunds what was paid and reverses the subsidy.

    Refuses an unknown sale, a sale of an open date (``day_open``: void it instead), a
    voided or already corrected sale and an empty reason.
    """
    s = Sale.__table__
    found = session.connection().execute(select(s.c.canteen_id).where(s.c.id == sale_id)).scalar()
    if found is None:
        raise Refusal("unknown_sale", "没有这笔销售", "no such sale")
    today = local_business_date(settings.canteen(found).timezone, now)
    chain = ledger.open_chain(session, canteen_id=found, business_date=today)
    sale = session.connection().execute(select(s).where(s.c.id == sale_id)).mappings().one()
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise Refusal("reason_required", "请填写更正原因（200 字以内）", "a reason is required (at most 200 characters)")
    if session.get(DayClose, (found, sale["business_date"])) is None:
        raise Refusal("day_open", "该营业日尚未日结，请直接作废", "that business date is still open: void the sale instead")
    if sale["status"] != "completed":
        raise Refusal("already_voided", "这笔销售已作废", "this sale is already voided")
    c = Correction.__table__
    if session.connection().execute(select(func.count()).where(c.c.original_sale_id == sale_id)).scalar():
        raise Refusal("already_corrected", "这笔销售已有更正", "this sale already has a correction")
    row = chain.stamp("corrections", {
        "id": new_id(), "canteen_id": found, "business_date": today, "original_sale_id": sale_id,
        "created_at": naive_utc(now), "created_by": actor.id, "reason": reason,
        "refund_fen": sale["due_fen"], "reversed_subsidy_fen": sale["subsidy_fen"]})
    session.connection().execute(c.insert(), row)
    chain.save()
    audit(tx=session, action="correction_booked", actor=actor, canteen_id=found, target=sale_id, address=address,
          detail={"refund_fen": sale["due_fen"], "reversed_subsidy_fen": sale["subsidy_fen"],
                  "original_date": sale["business_date"].isoformat(), "receipt_no": sale["receipt_no"]})
    return session.get(Correction, row["id"])
