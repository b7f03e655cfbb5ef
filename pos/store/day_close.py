"""Day close (日结).

Closing a canteen's business date records the ledger position and head at that moment,
and stores the daily report's data (canonical JSON) with its SHA-256.  Afterwards the sale
path refuses every sale and void for the date (:func:`pos.store.ledger.open_chain`);
a mistake found later is booked as a correction (:mod:`pos.store.corrections`): a new
chained row, dated on an open business date, pointing at the original sale — nothing is
edited in place.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from pos.clock import business_date as local_business_date
from pos.clock import naive_utc
from pos.config import Settings
from pos.models import DayClose, Shift, StaffUser
from pos.store import leases, ledger, offline_sales
from pos.store.audit import audit
from pos.refusal import Refusal
from pos.tx import Tx
from reports.anomaly_rules import anomaly_rules
from reports.queries import DailyReport, daily_data, daily_json, daily_report, sha256_text


def close_day(*, session: Session, settings: Settings, canteen_id: str, business_date: date, actor,
              now: datetime, address: str = "", override_unsynced_reason: str = "") -> DailyReport:
    """Close ``business_date`` at ``canteen_id`` in the caller's write transaction and
    return its daily report.

    Refuses a date in the future (``future_date``), a date already closed
    (``day_already_closed``) and a date with shifts not yet handed over (``shifts_open``:
    the cash count belongs in the reconciliation), and (``tills_unsynced``, naming them)
    while a till of the canteen may hold offline sales not yet recorded — unless
    ``override_unsynced_reason`` says why to close anyway (audited; a sale that arrives
    later is kept for a correction).  ``actor`` has ``id`` and ``username``;
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
    sh, u = Shift.__table__, StaffUser.__table__
    cashiers = session.connection().execute(
        select(u.c.display_name).select_from(sh.join(u, u.c.id == sh.c.cashier_id))
        .where(sh.c.canteen_id == canteen_id, sh.c.business_date == business_date, sh.c.closed_at.is_(None))
        .order_by(sh.c.opened_at)).scalars().all()
    if cashiers:
        raise Refusal("shifts_open", f"还有 {len(cashiers)} 个班次未交班（{'、'.join(cashiers)}），请先交班清点现金再日结",
                      f"{len(cashiers)} shift(s) of that date are still open ({', '.join(cashiers)}): "
                      f"close them with a cash count first",
                      open_shifts=len(cashiers), cashiers=list(cashiers))
    tills = offline_sales.unsynced_tills(Tx.of(session), canteen_id=canteen_id)
    reason = override_unsynced_reason.strip()
    if tills and not reason:
        raise offline_sales.tills_unsynced(tills)
    if tills:
        if len(reason) > 200:
            raise Refusal("invalid_override_reason", "原因最多 200 个字", "the reason must be at most 200 characters")
        audit(tx=session, action="day_close_unsynced_override", actor=actor, canteen_id=canteen_id,
              target=business_date.isoformat(), address=address,
              detail={"reason": reason, "tills": [{"name": n, "queued": q} for n, q in tills]})
    # The tills' leases of the date end here: their unused free meals go back, so the
    # counter the report shows equals the meals granted.
    leases.end_leases(Tx.of(session), canteen_id=canteen_id, business_date=business_date, now=now, actor=actor,
                      address=address)
    rules = anomaly_rules(settings)
    data = daily_data(session=session, canteen_id=canteen_id, business_date=business_date,
                      default_cap=settings.policy.free_meal_cap(business_date), rules=rules)
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
                        sha256=digest, rules=rules)

