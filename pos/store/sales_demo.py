"""The demo canteens' week of history, recorded through the same code as a live sale.

On each of the 7 business dates before today: a lunch shift per canteen (opened with a
float, closed with a cash count), paid meals, senior discounts, free welfare meals and a
few voids approved by the supervisor.  Deterministic (a seeded random generator), and
timed by a moment per sale rather than the clock.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from pos.clock import naive_utc
from pos.models import StaffUser
from pos.store import ledger
from pos.store.audit import audit
from pos.store.sales import (_SALES, decide_for, menu, moment_of, policy_for, price_lines, void_sale,
                             write_sale)

DEMO_DAYS = 7


def load_history(app) -> str:
    """A week of history for the demo canteens: on each of the 7 business dates before
    today, a lunch shift per canteen with paid meals, senior discounts, free welfare meals
    and a few voids, recorded through the same code as a live sale (chained, counted).

    Times come from a ``moment`` per sale, not the clock; nothing is written if the
    history is already there.
    """
    import random
    from datetime import timedelta, timezone
    from zoneinfo import ZoneInfo

    from pos.clock import business_date, now_utc
    from pos.models import Diner
    from pos.store import credentials
    from pos.store.shifts import expected_cash

    settings, database = app.config["CANTEEN"], app.extensions["canteen_db"]
    rng = random.Random(20260101)
    total, days = 0, []
    with database.transaction() as s:
        if s.connection().execute(select(func.count()).select_from(_SALES)).scalar():
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
                tz = ZoneInfo(canteen.timezone)
                cashier, supervisor = staff[cashier_name], staff[supervisor_name]
                menu_rows = menu(session=s, canteen_id=canteen.code)
                if not menu_rows:
                    continue
                welfare = [i for i in menu_rows if i["welfare_meal"]]
                others = [i for i in menu_rows if not i["welfare_meal"]]

                def at(hour: int, minute: int) -> datetime:
                    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(timezone.utc)

                from pos.models import Shift

                shift = Shift(canteen_id=canteen.code, cashier_id=cashier.id, business_date=day,
                              opened_at=naive_utc(at(10, 15)), opening_float_fen=20000)
                s.add(shift)
                s.flush()
                eligible = [d for d in diners if d.id_hmac not in subsidised_today and not d.suspended]
                rng.shuffle(eligible)
                guests = eligible[: (12 if canteen is settings.canteens[0] else 3)]
                kinds = [g for g in guests] + [None] * (per_day - len(guests))
                rng.shuffle(kinds)
                sold = []
                for n, diner in enumerate(kinds):
                    minute = 11 * 60 + (n * 120) // per_day + rng.randrange(2)
                    instant = at(minute // 60, minute % 60)
                    if diner is not None and diner.worker_category and welfare:
                        picks = [{"item_id": welfare[0]["id"], "qty": 1}]
                    else:
                        picks = [{"item_id": rng.choice(welfare + others[:3])["id"], "qty": 1}]
                        if rng.random() < 0.5:
                            picks.append({"item_id": rng.choice(others)["id"], "qty": rng.choice((1, 1, 2))})
                    cred = (credentials.registered(settings, diner, kind="voucher", today=day)
                            if diner is not None else None)
                    moment = moment_of(instant, canteen.timezone)
                    q = decide_for(session=s, policy=policy_for(settings, day), canteen_id=canteen.code,
                                   moment=moment, lines=price_lines(session=s, canteen_id=canteen.code, lines=picks),
                                   credential=cred)
                    if q.due_fen == 0:
                        tender = ("free", 0, 0, "")
                    elif rng.random() < 0.45:
                        paid = -(-q.due_fen // 1000) * 1000  # rounded up to the next ¥10 note
                        tender = ("cash", paid, paid - q.due_fen, "")
                    else:
                        tender = (rng.choice(("wechat", "alipay")), q.due_fen, 0, "")
                    chain = ledger.open_chain(session=s, canteen_id=canteen.code)
                    sold.append((write_sale(session=s, chain=chain, quote=q, shift_id=shift.id, cashier_id=cashier.id,
                                            tender=tender), instant))
                    if q.decision.granted and cred is not None:
                        subsidised_today.add(cred.diner_key)
                for sale, instant in rng.sample(sold, k=min(2, len(sold))):
                    void_sale(session=s, sale_id=sale["id"], reason=rng.choice(("顾客退餐", "点错菜品", "重复结账")),
                              requested_by=cashier, approved_by=supervisor, instant=instant + timedelta(minutes=3))
                parts = expected_cash(session=s, shift=shift)
                shift.closed_at = naive_utc(at(13, 45))
                shift.expected_cash_fen = parts["expected_cash_fen"]
                # One drawer a week is 50 fen short, as real drawers are.
                shift.counted_cash_fen = parts["expected_cash_fen"] - (50 if back == 3 and parts["expected_cash_fen"] >= 50 else 0)
                s.add(shift)
                total += len(sold)
        audit(session=s, action="demo_history_loaded", actor="cli", detail={"sales": total, "days": DEMO_DAYS,
                                                                            "at": now_utc().isoformat()})
    return f"sales history: {total} sales over {days[0].isoformat()} … {days[-1].isoformat()}"
