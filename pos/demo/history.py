"""The demo canteens' week of history, recorded through the same store code as a live sale.

On each of the 7 business dates before today: a lunch shift per canteen (opened with a
float, closed with a cash count), paid meals, senior discounts, free welfare meals and a
few voids approved by the supervisor; then the past days are closed, all but yesterday,
so the reports show closed and provisional (暂定) days.  Deterministic (a seeded random
generator), and timed by a moment per sale rather than the clock.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from pos.clock import business_date, naive_utc, now_utc
from pos.config import Settings
from pos.db import Database
from pos.models import DayClose, Diner, Sale, Shift, StaffUser
from pos.store import ledger, menu
from pos.store.audit import audit
from pos.store.credentials.credential import registered
from pos.store.day_close import close_day
from pos.store.pricing import LineRequest, counters_today, decide_quote, moment_of, price_lines
from pos.store.sales import Tender, void_sale, write_sale
from pos.store.shifts import expected_cash
from pos.tx import Tx

DEMO_DAYS = 7


def load_history(settings: Settings, database: Database) -> str:
    """A week of history for the demo canteens (see the module docstring); nothing is
    written if there are sales already."""
    rng = random.Random(20260101)
    total, days = 0, []
    with database.transaction() as s:
        if s.connection().execute(select(func.count()).select_from(Sale.__table__)).scalar():
            return ""
        staff = {u.username: u for u in s.execute(select(StaffUser)).scalars()}
        diners = list(s.execute(select(Diner).order_by(Diner.created_at, Diner.id)).scalars())
        plans = [(c, per_day, cashier, sup) for c, per_day, cashier, sup in (
            (settings.canteens[0], 40, "cashier", "supervisor"),
            *((c, 15, "jm-cashier", "jm-supervisor") for c in settings.canteens[1:2]))
            if cashier in staff and sup in staff]
        today = business_date(settings.default_canteen.timezone)
        for back in range(DEMO_DAYS, 0, -1):
            day = today - timedelta(days=back)
            days.append(day)
            subsidised_today: set[str] = set()
            for canteen, per_day, cashier_name, supervisor_name in plans:
                total += _lunch(s, settings, rng, canteen, day, back, per_day, staff[cashier_name],
                                staff[supervisor_name], diners, subsidised_today)
        audit(tx=s, action="demo_history_loaded", actor="cli",
              detail={"sales": total, "days": DEMO_DAYS, "at": now_utc().isoformat()})
    return f"sales history: {total} sales over {days[0].isoformat()} … {days[-1].isoformat()}"


def _lunch(s, settings: Settings, rng: random.Random, canteen, day, back: int, per_day: int, cashier, supervisor,
           diners: list, subsidised_today: set[str]) -> int:
    """One canteen's lunch on one day: a shift, its sales and voids, its cash count."""
    tz = ZoneInfo(canteen.timezone)

    def at(hour: int, minute: int) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(timezone.utc)

    tx = Tx.of(s)
    dishes = menu.for_till(tx, canteen_id=canteen.code)
    if not dishes:
        return 0
    shift = Shift(canteen_id=canteen.code, cashier_id=cashier.id, business_date=day,
                  opened_at=naive_utc(at(10, 15)), opening_float_fen=20000)
    s.add(shift)
    s.flush()
    welfare = [d for d in dishes if d.welfare_meal]
    others = [d for d in dishes if not d.welfare_meal]
    policy = settings.policy.in_force(day)
    eligible = [d for d in diners if d.id_hmac not in subsidised_today and not d.suspended]
    rng.shuffle(eligible)
    guests = eligible[: (12 if canteen is settings.canteens[0] else 3)]
    kinds = list(guests) + [None] * (per_day - len(guests))
    rng.shuffle(kinds)
    sold = []
    for n, diner in enumerate(kinds):
        minute = 11 * 60 + (n * 120) // per_day + rng.randrange(2)
        instant = at(minute // 60, minute % 60)
        if diner is not None and diner.worker_category and welfare:
            picks = (LineRequest(welfare[0].id, 1),)
        else:
            picks = (LineRequest(rng.choice(welfare + others[:3]).id, 1),)
            if rng.random() < 0.5:
                picks += (LineRequest(rng.choice(others).id, rng.choice((1, 1, 2))),)
        cred = registered(settings, diner, kind="voucher", today=day) if diner is not None else None
        moment = moment_of(instant, canteen.timezone)
        chain = ledger.open_chain(tx, canteen_id=canteen.code, business_date=day)
        free_meals, subsidised = counters_today(tx, policy=policy, canteen_id=canteen.code, moment=moment,
                                                credential=cred)
        q = decide_quote(canteen_id=canteen.code, moment=moment, policy=policy,
                         lines=price_lines(tx, canteen_id=canteen.code, lines=picks), credential=cred,
                         free_meals=free_meals, subsidised=subsidised)
        if q.due_fen == 0:
            tender = Tender("free", 0, 0, "")
        elif rng.random() < 0.45:
            paid = -(-q.due_fen // 1000) * 1000  # rounded up to the next ¥10 note
            tender = Tender("cash", paid, paid - q.due_fen, "")
        else:
            tender = Tender(rng.choice(("wechat", "alipay")), q.due_fen, 0, "")
        sold.append((write_sale(tx, chain=chain, quote=q, shift_id=shift.id, cashier_id=cashier.id, tender=tender),
                     instant))
        if q.decision.granted and cred is not None:
            subsidised_today.add(cred.diner_key)
    for sale, instant in rng.sample(sold, k=min(2, len(sold))):
        void_sale(tx, sale_id=sale.id, reason=rng.choice(("顾客退餐", "点错菜品", "重复结账")), requested_by=cashier,
                  approved_by=supervisor, instant=instant + timedelta(minutes=3))
    cash = expected_cash(session=s, shift=shift)
    shift.closed_at = naive_utc(at(13, 45))
    shift.expected_cash_fen = cash.expected_cash_fen
    # One drawer a week is 50 fen short, as real drawers are.
    shift.counted_cash_fen = cash.expected_cash_fen - (50 if back == 3 and cash.expected_cash_fen >= 50 else 0)
    s.add(shift)
    return len(sold)


def close_past_days(settings: Settings, database: Database) -> str:
    """Close the demo's past business dates, all but yesterday (left provisional)."""
    closed = 0
    for canteen in settings.canteens:
        today = business_date(canteen.timezone)
        sales, shifts = Sale.__table__, Shift.__table__
        with database.session() as s:
            dates = sorted(set(s.connection().execute(
                select(sales.c.business_date).where(sales.c.canteen_id == canteen.code,
                                                    sales.c.business_date < today).distinct()).scalars()))
            open_dates = set(s.connection().execute(select(shifts.c.business_date).where(
                shifts.c.canteen_id == canteen.code, shifts.c.closed_at.is_(None))).scalars())
            closer = s.execute(select(StaffUser).where(StaffUser.role == "supervisor",
                                                       StaffUser.canteen_id == canteen.code)).scalars().first() \
                or s.execute(select(StaffUser).where(StaffUser.role == "admin")).scalars().first()
        if closer is None:
            continue
        for day in dates:
            if day in open_dates or day >= today - timedelta(days=1):
                continue
            with database.transaction() as s:
                if s.get(DayClose, (canteen.code, day)) is None:
                    close_day(session=s, settings=settings, canteen_id=canteen.code, business_date=day,
                              actor=closer, now=now_utc())
                    closed += 1
    return f"closed {closed} past business date(s)" if closed else ""
