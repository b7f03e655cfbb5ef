"""Anomaly edit checks: what a person should look at before signing a daily report or a
monthly claim.  Each rule is one or two ``GROUP BY`` queries over what the till recorded
(no subsidy is recomputed) and gives one :class:`~reports.rows.Check` whose detail lists
the first cases.  They flag and never refuse: a high void rate may have a good reason,
and only a person can tell.

The rules (thresholds in config.toml ``[checks]``, hours in each ``[[canteens]]``):

* revenue identity — menu revenue (Σ sale lines of completed sales) = Σ due + Σ subsidy,
  per day and per tender (for cash, due = handed over − change, which the schema holds);
* void rate — a cashier's voided share of the sales they rang up on a business date above
  ``void_rate_max``, counted from ``void_rate_min_sales`` sales that day;
* same diner — live grants of one diner key at two canteens within
  ``same_diner_window_minutes`` (possible across midnight or with per-period limits);
* free meals before opening — live free-meal grants before the canteen's ``opens``;
* sales outside hours — completed sales before ``opens`` or from ``closes`` on, local time
  in the canteen's time zone;
* attendance (the school-meal edit check) — a day's live grants above the registered
  eligible diners × ``attendance_factor``;
* grants after a life event — a live grant dated on or after the day its diner was
  recorded as deceased or moved away.

This module holds the checks on sales; :mod:`reports.diner_checks` those on diners, and
:mod:`reports.anomaly_rules` what they compare with.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from sqlalchemy import and_, case, false, func, or_, select
from sqlmodel import Session

from pos.config import ChecksConfig
from pos.models import DayClose, Sale, SaleLine, StaffUser, SubsidyGrant
from reports.anomaly_rules import PPM, AnomalyRules, Scope, anomaly_rules, listed, local_time, ppm, share_text, whole
from reports.diner_checks import attendance_check, life_event_check, same_diner_check
from reports.rows import CanteenInfo, Check
from subsidies.money import yuan
from subsidies.vocabulary import TENDER_NAMES, TENDERS, name_of

# What reports.queries and the service use from here (the rules live in reports.anomaly_rules).
__all__ = ["AnomalyRules", "anomaly_checks", "anomaly_rules"]

S, SL, G, U, DC = (Sale.__table__, SaleLine.__table__, SubsidyGrant.__table__, StaffUser.__table__,
                   DayClose.__table__)


# -- what the sales say, in two GROUP BYs --------------------------------------------------------

@dataclass(frozen=True)
class TenderDay:
    """Completed sales of one canteen, date and tender: their menu revenue (Σ lines), the
    amount due and the subsidy."""

    canteen: str
    day: date
    tender: str
    lines_fen: int
    due_fen: int
    subsidy_fen: int


@dataclass(frozen=True)
class CashierDay:
    """The sales one cashier rang up at a canteen on a date: how many, how many voided,
    and how many completed ones fall in an hour at or before opening (``early``) or at or
    after closing (``late``) — candidates, whose minute is checked on the sales themselves;
    ``first_seq`` is the lowest ledger position among them."""

    canteen: str
    day: date
    cashier: str
    sales: int
    voided: int
    early: int
    late: int
    first_seq: int


def _by_hours(scope: Scope, rules: AnomalyRules) -> dict[tuple[time, time], list[str]]:
    groups: dict[tuple[time, time], list[str]] = defaultdict(list)
    for code in scope.codes:
        groups[rules.hours_of(code)].append(code)
    return groups


def _hour_edges(scope: Scope, rules: AnomalyRules) -> tuple[Any, Any]:
    """Conditions on a sale's local hour: may be before opening; may be at or after closing
    (sales keep the local hour, not the minute)."""
    groups = _by_hours(scope, rules)

    def at(codes: list[str], condition) -> Any:
        return condition if len(groups) == 1 else and_(S.c.canteen_id.in_(codes), condition)

    early = or_(*(at(codes, S.c.local_hour < opens.hour if (opens.minute, opens.second) == (0, 0)
                     else S.c.local_hour <= opens.hour) for (opens, _), codes in groups.items()))
    late = or_(*(at(codes, S.c.local_hour >= closes.hour) for (_, closes), codes in groups.items()))
    return early, late


def tender_days(conn, scope: Scope, first_seq: dict[str, int]) -> list[TenderDay]:
    """Completed sales with their lines by canteen, date and tender (one ``GROUP BY``).  A
    sale's due and subsidy are counted on its first line, or once when it has none.
    ``first_seq`` is each canteen's lowest ledger position among the sales checked."""
    # A sale's lines are chained right after it (pos.store.sales), so no line of these
    # sales sits before the first of them: the bound spares the database the lines of
    # closed days.  A line chained out of place would show up here as a mismatch.
    later = or_(false(), *(and_(SL.c.canteen_id == code, SL.c.chain_seq > seq) for code, seq in first_seq.items()))
    once = or_(SL.c.line_no == 1, SL.c.line_no.is_(None))
    keys = (S.c.canteen_id, S.c.business_date, S.c.tender_method)
    rows = conn.execute(
        select(*keys, func.sum(func.coalesce(SL.c.line_total_fen, 0)), func.sum(case((once, S.c.due_fen), else_=0)),
               func.sum(case((once, S.c.subsidy_fen), else_=0)))
        .select_from(S.outerjoin(SL, and_(SL.c.sale_id == S.c.id, later)))
        .where(scope.open_sales(), S.c.status == "completed")
        .group_by(*keys))
    return [TenderDay(r[0], r[1], r[2], *(whole(x) for x in r[3:])) for r in rows]


def cashier_days(conn, scope: Scope, rules: AnomalyRules) -> list[CashierDay]:
    """Sales by canteen, date and cashier (one ``GROUP BY``), for the void rate and the
    opening hours."""
    early, late = _hour_edges(scope, rules)
    done = S.c.status == "completed"
    keys = (S.c.canteen_id, S.c.business_date, S.c.cashier_id)
    rows = conn.execute(
        select(*keys, func.count(), func.sum(case((S.c.status == "voided", 1), else_=0)),
               func.sum(case((and_(done, early), 1), else_=0)), func.sum(case((and_(done, late), 1), else_=0)),
               func.min(S.c.chain_seq))
        .where(scope.open_sales()).group_by(*keys))
    return [CashierDay(r[0], r[1], r[2], *(whole(x) for x in r[3:])) for r in rows]


# -- revenue identity ----------------------------------------------------------------------------

def revenue_checks(scope: Scope, rows: list[TenderDay]) -> tuple[Check, Check]:
    """Menu revenue (Σ sale lines, as priced) = what was paid + subsidy, for completed
    sales: per day (``revenue_identity``) and per tender (``revenue_by_tender``).  What
    cash paid is the amount due: the schema holds handed over − change = due on each sale."""
    days: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0, 0])
    tenders: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        for bucket in (days[r.canteen, r.day], tenders[r.tender]):
            bucket[0] += r.lines_fen
            bucket[1] += r.due_fen
            bucket[2] += r.subsidy_fen
    tender_zh, tender_en = [], []
    for r in sorted(rows, key=lambda r: (r.canteen, r.day, TENDERS.index(r.tender))):
        if r.lines_fen != r.due_fen + r.subsidy_fen:
            where = scope.tag(r.canteen, r.day)
            lines, due, subsidy = yuan(r.lines_fen), yuan(r.due_fen), yuan(r.subsidy_fen)
            tender_zh.append(f"{where}{name_of(TENDER_NAMES, r.tender)} 菜品 {lines} ≠ 实收 {due} + 补贴 {subsidy}")
            tender_en.append(f"{where}{name_of(TENDER_NAMES, r.tender, 'en')} menu {lines} ≠ paid {due} + "
                             f"subsidy {subsidy}")
    bad_days = [f"{scope.tag(*k)}{yuan(v[0])} ≠ {yuan(v[1])} + {yuan(v[2])}" for k, v in sorted(days.items())
                if v[0] != v[1] + v[2]]
    total = [sum(v[i] for v in days.values()) for i in range(3)]
    sums_zh = f"菜品收入 {yuan(total[0])}，实收 {yuan(total[1])} + 补贴 {yuan(total[2])}"
    sums_en = f"menu revenue {yuan(total[0])}, paid {yuan(total[1])} + subsidy {yuan(total[2])}"
    used = [m for m in TENDERS if m in tenders]
    by_zh = "、".join(f"{name_of(TENDER_NAMES, m)} {yuan(tenders[m][0])}" for m in used) or "无销售"
    by_en = ", ".join(f"{name_of(TENDER_NAMES, m, 'en')} {yuan(tenders[m][0])}" for m in used) or "no sales"
    return (
        Check("revenue_identity", not bad_days, "菜品收入 = 实收 + 补贴（按日）", "menu revenue = paid + subsidy, per day",
              sums_zh + ("：" + listed(bad_days, True) if bad_days else "") + scope.closed_note(True),
              sums_en + (": " + listed(bad_days, False) if bad_days else "") + scope.closed_note(False)),
        Check("revenue_by_tender", not tender_zh, "各付款方式：菜品收入 = 实收 + 补贴",
              "per tender: menu revenue = paid + subsidy",
              (listed(tender_zh, True) if tender_zh else by_zh) + scope.closed_note(True),
              (listed(tender_en, False) if tender_en else by_en) + scope.closed_note(False)),
    )


# -- void rate per cashier -----------------------------------------------------------------------

def void_rate_check(conn, scope: Scope, rows: list[CashierDay], checks: ChecksConfig) -> Check:
    """``void_rate``: each cashier's voided share of the sales they rang up on a business
    date, flagged above ``void_rate_max`` once they rang up ``void_rate_min_sales``."""
    counted = {(r.canteen, r.day, r.cashier): (r.sales, r.voided) for r in rows
               if r.sales >= checks.void_rate_min_sales}
    limit = ppm(checks.void_rate_max)
    over = sorted((k, n, voided) for k, (n, voided) in counted.items() if voided * PPM > limit * n)
    names = dict(conn.execute(select(U.c.id, U.c.display_name).where(
        U.c.id.in_({k[2] for k, _, _ in over}))).all()) if over else {}
    zh = [f"{scope.tag(c, d)}{names.get(who, who)} {v}/{n} 笔作废（{v / n:.0%}）" for (c, d, who), n, v in over]
    en = [f"{scope.tag(c, d)}{names.get(who, who)} {v} of {n} sales voided ({v / n:.0%})" for (c, d, who), n, v in over]
    share, least = share_text(checks.void_rate_max), checks.void_rate_min_sales
    return Check("void_rate", not over, f"收银员每日作废率不超过 {share}（当日销售满 {least} 笔时核对）",
                 f"cashier void rate at most {share} a day (checked from {least} sales)",
                 (listed(zh, True) if over else f"已核对 {len(counted)} 个收银员日") + scope.closed_note(True),
                 (listed(en, False) if over else f"{len(counted)} cashier-day(s) checked") + scope.closed_note(False))


# -- opening hours -------------------------------------------------------------------------------

def _edge_sales(conn, scope: Scope, rules: AnomalyRules, rows: list[CashierDay], *, late: bool,
                free_meals: bool) -> list[tuple]:
    """The completed sales that may fall before opening (or, with ``late``, after closing
    too), read only for the canteens and dates that have some: usually none, or an early
    hour's worth."""
    where = {(r.canteen, r.day) for r in rows if r.early or (late and r.late)}
    if not where:
        return []
    early_hour, late_hour = _hour_edges(scope, rules)
    q = (select(S.c.canteen_id, S.c.business_date, S.c.sold_at, S.c.receipt_no)
         .where(S.c.canteen_id.in_({c for c, _ in where}), S.c.business_date.in_({d for _, d in where}),
                S.c.status == "completed", or_(early_hour, late_hour) if late else early_hour))
    if free_meals:
        q = q.select_from(S.join(G, G.c.sale_id == S.c.id)).where(G.c.kind == "free_meal", G.c.voided == false())
    return conn.execute(q.order_by(S.c.canteen_id, S.c.sold_at)).all()


def free_before_opening_check(conn, scope: Scope, rules: AnomalyRules, rows: list[CashierDay]) -> Check:
    """``free_meal_before_opening``: live free-meal grants whose sale was made, in local
    time, before the canteen opens."""
    early = []
    for r in _edge_sales(conn, scope, rules, rows, late=False, free_meals=True):
        opens, local = rules.hours_of(r[0])[0], local_time(r[2], scope.tz(r[0]))
        if local.time() < opens:
            early.append((f"{scope.tag(r[0], r[1])}#{r[3]} {local:%H:%M}", f"{opens:%H:%M}"))
    return Check("free_meal_before_opening", not early, "开门前未发放免费餐", "no free meal granted before opening time",
                 (listed([f"{w}（{o} 开门）" for w, o in early], True) if early else "0 例") + scope.closed_note(True),
                 (listed([f"{w} (opens {o})" for w, o in early], False) if early else "0 case(s)")
                 + scope.closed_note(False))


def outside_hours_check(conn, scope: Scope, rules: AnomalyRules, rows: list[CashierDay]) -> Check:
    """``sales_outside_hours``: completed sales made before the canteen opens or from the
    time it closes on (``opens`` inclusive, ``closes`` exclusive, local time)."""
    outside = []
    for r in _edge_sales(conn, scope, rules, rows, late=True, free_meals=False):
        opens, closes = rules.hours_of(r[0])
        local = local_time(r[2], scope.tz(r[0]))
        if not opens <= local.time() < closes:
            outside.append(f"{scope.tag(r[0], r[1])}#{r[3]} {local:%H:%M}")
    spans = sorted({f"{o:%H:%M}–{c:%H:%M}" for o, c in _by_hours(scope, rules)})
    return Check("sales_outside_hours", not outside, f"无营业时间（{'，'.join(spans)}）以外的销售",
                 f"no sales outside opening hours ({', '.join(spans)})",
                 (listed(outside, True) if outside else "0 笔") + scope.closed_note(True),
                 (listed(outside, False) if outside else "0 sale(s)") + scope.closed_note(False))


# -- all of them ---------------------------------------------------------------------------------

def anomaly_checks(*, session: Session, canteens: tuple[CanteenInfo, ...], first: date, last: date,
                   rules: AnomalyRules, skip_closed: bool = False,
                   meals: Mapping[tuple[str, date], int] | None = None) -> tuple[Check, ...]:
    """Every anomaly check over ``canteens`` and the business dates ``first``–``last``
    (one date for the daily report, a month for the claim), in a fixed order.

    With ``skip_closed`` (the claim) the per-day sales checks (revenue identity, void rate,
    opening hours) leave a closed date to what its day close found, printed in its daily
    report: a closed date's sales and lines cannot change (the store refuses them,
    ``closed_days_intact`` and the ledger chain prove it), and re-reading a month of sale
    lines would double the claim's time.  The diner checks always cover every date:
    another canteen's grants, or the registry, may change after a close.  ``meals`` are the
    live grants by canteen and date, when the caller has counted them already.
    """
    conn = session.connection()
    closed = frozenset() if not skip_closed else frozenset(conn.execute(
        select(DC.c.canteen_id, DC.c.business_date)
        .where(DC.c.canteen_id.in_([c.code for c in canteens]), DC.c.business_date.between(first, last))).all())
    scope = Scope(tuple(canteens), first, last, frozenset((c, d) for c, d in closed))
    cashiers = cashier_days(conn, scope, rules)
    first_seq: dict[str, int] = {}
    for r in cashiers:
        first_seq[r.canteen] = min(r.first_seq, first_seq.get(r.canteen, r.first_seq))
    return (*revenue_checks(scope, tender_days(conn, scope, first_seq)),
            void_rate_check(conn, scope, cashiers, rules.checks), same_diner_check(conn, scope, rules.checks),
            free_before_opening_check(conn, scope, rules, cashiers),
            outside_hours_check(conn, scope, rules, cashiers), attendance_check(conn, scope, rules, meals),
            life_event_check(conn, scope))
