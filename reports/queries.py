"""What the daily reconciliation reads from the database, as plain frozen data.

Every figure is an SQL aggregate (``GROUP BY``) over the rows the till recorded; no
subsidy is recomputed here.  A subsidy counts when its grant is live (``voided`` false);
a sale counts when its status is ``completed``.  Money is integer fen.

The monthly claim's queries live in :mod:`reports.claim_queries`.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, false, func, or_, select, true
from sqlalchemy.orm import aliased
from sqlmodel import Session

from pos.models import (Canteen, Correction, DayClose, Diner, FreeMealCounter, Sale, ServingException, Shift,
                        StaffUser, SubsidyGrant, Void)
from reports.rows import (CanteenInfo, Check, CloseInfo, CorrectionLine, DailyData, DailyReport,  # noqa: F401
                          DaySummary, ExceptionLine, FreeMeals, GrantLine, HourTotal, KindTotal, ShiftCash,
                          TenderTotal, VoidLine)
from reports.frozen import thaw_json
from reports.anomalies import AnomalyRules, anomaly_checks
from subsidies.vocabulary import SUBSIDY_KINDS, TENDERS

S, G, V, SH = Sale.__table__, SubsidyGrant.__table__, Void.__table__, Shift.__table__
D, U, C, DC = Diner.__table__, StaffUser.__table__, Canteen.__table__, DayClose.__table__
FM, CO, SE = FreeMealCounter.__table__, Correction.__table__, ServingException.__table__

PSEUDONYM_CHARS = 10  # enough to tell diners apart on one claim, too short to look anyone up


def pseudonym(diner_key: str) -> str:
    """The diner as a report shows them: the first characters of their pseudonymous key
    (an HMAC of the resident ID), or ``ticket:…`` for a one-time paper ticket."""
    if diner_key.startswith("ticket:"):
        return "ticket:" + diner_key[7:][-6:]
    return diner_key[:PSEUDONYM_CHARS]


def _int(value: Any) -> int:
    """SUM() of no rows is NULL, and PostgreSQL answers NUMERIC for SUM(bigint)."""
    return int(value or 0)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {value!r}")


def as_tree(value: Any) -> Any:
    """Frozen report data as plain dicts and lists (dataclasses.asdict deep-copies every
    leaf, which costs a tenth of a second on a day of 10,000 sales)."""
    names = getattr(type(value), "__dataclass_fields__", None)
    if names is not None:
        return {name: as_tree(getattr(value, name)) for name in names}
    if isinstance(value, (tuple, list)):
        return [as_tree(v) for v in value]
    return value


def canonical_json(data: Any) -> str:
    """Report data as canonical JSON: sorted keys, no spaces, times to the second."""
    return json.dumps(as_tree(data), ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_plain)


def daily_json(data: DailyData) -> str:
    """The daily data as canonical JSON (sorted keys, no spaces): what the day close stores."""
    return canonical_json(data)


def sha256_text(text: str) -> str:
    """SHA-256 (hex) of UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canteen_info(*, session: Session, canteen_id: str) -> CanteenInfo | None:
    """The canteen's name, community and time zone, or None for an unknown code."""
    row = session.connection().execute(
        select(C.c.id, C.c.name, C.c.community, C.c.timezone).where(C.c.id == canteen_id)).first()
    return CanteenInfo(*row) if row is not None else None


def chain_position(*, session: Session, canteen_id: str) -> tuple[int, str]:
    """The canteen's ledger position and head hash now."""
    row = session.connection().execute(select(C.c.chain_seq, C.c.chain_head).where(C.c.id == canteen_id)).first()
    return (row[0], row[1]) if row is not None else (0, "")


def close_info(*, session: Session, canteen_id: str, business_date: date) -> CloseInfo | None:
    """The day close of the date, or None while it is open."""
    row = session.connection().execute(
        select(DC.c.closed_at, U.c.display_name, DC.c.chain_seq, DC.c.chain_head, DC.c.report_sha256)
        .select_from(DC.join(U, U.c.id == DC.c.closed_by))
        .where(DC.c.canteen_id == canteen_id, DC.c.business_date == business_date)).first()
    return CloseInfo(*row) if row is not None else None


def _summary(conn, canteen_id: str, day: date) -> DaySummary:
    done = S.c.status == "completed"
    row = conn.execute(select(
        func.sum(case((done, 1), else_=0)), func.sum(case((done, S.c.gross_fen), else_=0)),
        func.sum(case((done, S.c.subsidy_fen), else_=0)), func.sum(case((done, S.c.due_fen), else_=0)),
        func.sum(case((done, 0), else_=1)), func.sum(case((done, 0), else_=S.c.gross_fen)),
    ).where(S.c.canteen_id == canteen_id, S.c.business_date == day)).one()
    kinds = {k: (_int(n), _int(a)) for k, n, a in conn.execute(
        select(G.c.kind, func.count(), func.sum(G.c.amount_fen))
        .where(G.c.canteen_id == canteen_id, G.c.business_date == day, G.c.voided == false())
        .group_by(G.c.kind))}
    tenders = {m: r for m, *r in conn.execute(
        select(S.c.tender_method, func.count(), func.sum(S.c.due_fen), func.sum(S.c.tendered_fen),
               func.sum(S.c.change_fen))
        .where(S.c.canteen_id == canteen_id, S.c.business_date == day, done).group_by(S.c.tender_method))}
    return DaySummary(
        sales=_int(row[0]), gross_fen=_int(row[1]), subsidy_fen=_int(row[2]), due_fen=_int(row[3]),
        voided_sales=_int(row[4]), voided_gross_fen=_int(row[5]),
        by_kind=tuple(KindTotal(k, *kinds.get(k, (0, 0))) for k in SUBSIDY_KINDS),
        by_tender=tuple(TenderTotal(m, *(_int(x) for x in tenders.get(m, (0, 0, 0, 0)))) for m in TENDERS))


def _free_meals(conn, canteen_id: str, day: date, default_cap: int, granted: int) -> FreeMeals:
    row = conn.execute(select(FM.c.cap, FM.c.used).where(FM.c.canteen_id == canteen_id,
                                                          FM.c.business_date == day)).first()
    cap, used = (row[0], row[1]) if row is not None else (default_cap, 0)
    return FreeMeals(cap=cap, used=used, granted=granted)


def _shifts(conn, canteen_id: str, day: date) -> tuple[ShiftCash, ...]:
    cash = S.c.tender_method == "cash"
    q = (select(SH.c.id, U.c.display_name, SH.c.opened_at, SH.c.closed_at, SH.c.opening_float_fen,
                func.sum(case((cash, S.c.tendered_fen), else_=0)), func.sum(case((cash, S.c.change_fen), else_=0)),
                func.sum(case((cash, V.c.refund_fen), else_=0)), SH.c.counted_cash_fen, SH.c.expected_cash_fen)
         .select_from(SH.join(U, U.c.id == SH.c.cashier_id).outerjoin(S, S.c.shift_id == SH.c.id)
                      .outerjoin(V, V.c.sale_id == S.c.id))
         .where(SH.c.canteen_id == canteen_id, SH.c.business_date == day)
         .group_by(SH.c.id, U.c.display_name, SH.c.opened_at, SH.c.closed_at, SH.c.opening_float_fen,
                   SH.c.counted_cash_fen, SH.c.expected_cash_fen)
         .order_by(SH.c.opened_at, SH.c.id))
    return tuple(ShiftCash(r[0], r[1], r[2], r[3], r[4], _int(r[5]), _int(r[6]), _int(r[7]), r[8], r[9])
                 for r in conn.execute(q))


def _voids(conn, canteen_id: str, day: date) -> tuple[VoidLine, ...]:
    req, appr = aliased(U, name="req"), aliased(U, name="appr")
    q = (select(V.c.voided_at, S.c.receipt_no, V.c.reason, req.c.display_name, appr.c.display_name,
                S.c.tender_method, V.c.refund_fen, V.c.reversed_subsidy_fen)
         .select_from(V.join(S, S.c.id == V.c.sale_id).join(req, req.c.id == V.c.requested_by)
                      .join(appr, appr.c.id == V.c.approved_by))
         .where(V.c.canteen_id == canteen_id, V.c.business_date == day)
         .order_by(V.c.voided_at, S.c.receipt_no))
    return tuple(VoidLine(*r) for r in conn.execute(q))


def _grants(conn, canteen_id: str, day: date) -> tuple[GrantLine, ...]:
    q = (select(G.c.granted_at, S.c.receipt_no, G.c.diner_key, D.c.id_masked, G.c.kind, G.c.amount_fen,
                G.c.policy_version, G.c.voided)
         .select_from(G.join(S, S.c.id == G.c.sale_id).outerjoin(D, D.c.id == G.c.diner_id))
         .where(G.c.canteen_id == canteen_id, G.c.business_date == day)
         .order_by(G.c.granted_at, S.c.receipt_no))
    return tuple(GrantLine(r[0], r[1], pseudonym(r[2]), r[3] or "", r[4], r[5], r[6], bool(r[7]))
                 for r in conn.execute(q))


def _hours(conn, canteen_id: str, day: date) -> tuple[HourTotal, ...]:
    q = (select(S.c.local_hour, func.count(), func.sum(S.c.gross_fen), func.sum(S.c.subsidy_fen))
         .where(S.c.canteen_id == canteen_id, S.c.business_date == day, S.c.status == "completed")
         .group_by(S.c.local_hour).order_by(S.c.local_hour))
    return tuple(HourTotal(h, _int(n), _int(g), _int(sub)) for h, n, g, sub in conn.execute(q))


def _corrections(conn, canteen_id: str, day: date) -> tuple[CorrectionLine, ...]:
    q = (select(CO.c.created_at, S.c.business_date, S.c.receipt_no, CO.c.reason, CO.c.refund_fen,
                CO.c.reversed_subsidy_fen)
         .select_from(CO.join(S, S.c.id == CO.c.original_sale_id))
         .where(CO.c.canteen_id == canteen_id, CO.c.business_date == day).order_by(CO.c.created_at))
    return tuple(CorrectionLine(*r) for r in conn.execute(q))


def _exceptions(conn, canteen_id: str, day: date) -> tuple[ExceptionLine, ...]:
    q = (select(S.c.sold_at, S.c.receipt_no, SE.c.kind, SE.c.amount_fen, SE.c.code, SE.c.reason_zh, SE.c.reason_en,
                SE.c.resolved_at, S.c.status)
         .select_from(SE.join(S, S.c.id == SE.c.sale_id))
         .where(SE.c.canteen_id == canteen_id, SE.c.business_date == day).order_by(S.c.sold_at, S.c.receipt_no))
    return tuple(ExceptionLine(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7] is not None, r[8] == "completed")
                 for r in conn.execute(q))


def _exceptions_check(conn, canteen_id: str, day: date, exceptions: tuple[ExceptionLine, ...]) -> Check:
    """Every completed sale with a subsidy and no live grant is a serving exception of
    that amount: a subsidy given offline, accounted for and never claimed."""
    live_grant = select(G.c.sale_id).where(G.c.voided == false())
    unexplained = conn.execute(
        select(func.count()).select_from(S.outerjoin(SE, SE.c.sale_id == S.c.id))
        .where(S.c.canteen_id == canteen_id, S.c.business_date == day, S.c.status == "completed",
               S.c.subsidy_fen > 0, S.c.id.not_in(live_grant),
               or_(SE.c.id.is_(None), SE.c.amount_fen != S.c.subsidy_fen))).scalar()
    counted = [x for x in exceptions if x.sale_completed]
    fen = sum(x.amount_fen for x in counted)
    return Check("serving_exceptions", unexplained == 0, "离线补贴例外均有记录（不申报）",
                 "every subsidy given offline without a grant is a serving exception (not claimed)",
                 f"例外 {len(counted)} 笔共 {fen} 分，无记录 {unexplained} 笔",
                 f"{len(counted)} exception(s), {fen} fen; {unexplained} unexplained")


def _daily_checks(conn, canteen_id: str, day: date, summary: DaySummary, free: FreeMeals,
                  shifts: tuple[ShiftCash, ...], exceptions: tuple[ExceptionLine, ...]) -> tuple[Check, ...]:
    here = G.c.diner_key.in_(select(G.c.diner_key).where(G.c.canteen_id == canteen_id, G.c.business_date == day))
    twice = conn.execute(select(func.count()).select_from(
        select(G.c.diner_key).where(G.c.business_date == day, G.c.voided == false(), here)
        .group_by(G.c.diner_key, G.c.period).having(func.count() > 1).subquery())).scalar()
    # A grant is live exactly when its sale is completed; a voided sale has one void row.
    flag_mismatch = conn.execute(
        select(func.count()).select_from(G.join(S, S.c.id == G.c.sale_id))
        .where(G.c.canteen_id == canteen_id, G.c.business_date == day,
               or_(and_(G.c.voided == true(), S.c.status == "completed"),
                   and_(G.c.voided == false(), S.c.status == "voided")))).scalar()
    voids = conn.execute(select(func.count(), func.sum(V.c.reversed_subsidy_fen))
                         .where(V.c.canteen_id == canteen_id, V.c.business_date == day)).one()
    voided_subsidy = conn.execute(
        select(func.sum(S.c.subsidy_fen)).where(S.c.canteen_id == canteen_id, S.c.business_date == day,
                                                S.c.status == "voided")).scalar()
    open_shifts = [s for s in shifts if s.closed_at is None]
    drifted = [s for s in shifts if s.expected_at_close_fen is not None and s.expected_at_close_fen != s.expected_fen]
    granted = summary.granted_fen
    # A subsidy a till gave offline and the server would not grant has no grant: it is
    # counted apart (the serving_exceptions check), never in the grants.
    given_offline = sum(x.amount_fen for x in exceptions if x.sale_completed)
    sign = "=" if granted + given_offline == summary.subsidy_fen else "≠"
    offline = f" + {given_offline}" if given_offline else ""
    return (
        Check("free_meal_cap", free.granted <= free.cap, "免费餐不超过每日上限", "free meals within the daily cap",
              f"{free.granted} / {free.cap}", f"{free.granted} / {free.cap}"),
        Check("free_meal_counter", free.granted == free.used, "免费餐计数与补贴记录一致",
              "free-meal counter agrees with the grants",
              f"计数 {free.used}，补贴记录 {free.granted}", f"counter {free.used}, grants {free.granted}"),
        Check("one_per_diner", twice == 0, "每位就餐者每天（每餐段）在全区只补贴一次",
              "one live subsidy per diner per day (period) district-wide",
              f"{twice} 人重复补贴", f"{twice} diner(s) subsidised twice"),
        Check("sums_agree", granted + given_offline == summary.subsidy_fen,
              "补贴记录合计 + 离线补贴例外 = 已完成销售的补贴合计",
              "Σ live grants + Σ serving exceptions = Σ subsidy of completed sales",
              f"{granted}{offline} {sign} {summary.subsidy_fen} 分",
              f"{granted}{offline} {sign} {summary.subsidy_fen} fen"),
        Check("voids_agree", flag_mismatch == 0 and _int(voids[0]) == summary.voided_sales
              and _int(voids[1]) == _int(voided_subsidy),
              "作废单与销售、补贴状态一致", "voids agree with sale and grant status",
              f"作废单 {_int(voids[0])} 张，已作废销售 {summary.voided_sales} 笔，补贴状态不符 {flag_mismatch} 条",
              f"{_int(voids[0])} void(s), {summary.voided_sales} voided sale(s), {flag_mismatch} mismatched grant(s)"),
        Check("shifts_balanced", not open_shifts and not drifted, "所有班次已交班且应有现金一致",
              "every shift closed and its expected cash unchanged",
              f"未交班 {len(open_shifts)} 个，交班后应有现金变动 {len(drifted)} 个",
              f"{len(open_shifts)} open, {len(drifted)} changed since handover"),
        _exceptions_check(conn, canteen_id, day, exceptions),
    )


def daily_data(*, session: Session, canteen_id: str, business_date: date, default_cap: int,
               rules: AnomalyRules | None = None) -> DailyData:
    """Gather the daily reconciliation of one canteen and business date.

    ``default_cap`` is the policy's free-meal cap for the date, used when no free meal
    was claimed that day (the counter row is made by the first claim).  ``rules`` are the
    anomaly checks' thresholds (:func:`anomaly_rules` of the settings; built-in defaults,
    without a policy, when None).
    """
    conn = session.connection()
    canteen = canteen_info(session=session, canteen_id=canteen_id)
    if canteen is None:
        raise LookupError(canteen_id)
    summary = _summary(conn, canteen_id, business_date)
    free_granted = next(k.count for k in summary.by_kind if k.kind == "free_meal")
    free = _free_meals(conn, canteen_id, business_date, default_cap, free_granted)
    shifts = _shifts(conn, canteen_id, business_date)
    exceptions = _exceptions(conn, canteen_id, business_date)
    return DailyData(
        canteen=canteen, business_date=business_date, summary=summary, free_meals=free, shifts=shifts,
        voids=_voids(conn, canteen_id, business_date), grants=_grants(conn, canteen_id, business_date),
        hours=_hours(conn, canteen_id, business_date), corrections=_corrections(conn, canteen_id, business_date),
        checks=_daily_checks(conn, canteen_id, business_date, summary, free, shifts, exceptions) + anomaly_checks(
            session=session, canteens=(canteen,), first=business_date, last=business_date,
            rules=rules or AnomalyRules()),
        exceptions=exceptions)


def money_facts(data: DailyData) -> dict[str, Any]:
    """What a closed day's books say, as plain figures: totals by kind and tender, the
    free-meal counter, each drawer, and the count and sum of its grants, voids and
    corrections.  The figures, not their wording, so a later release that words a check
    or a pseudonym differently still recognises an unchanged day."""
    return {
        "summary": as_tree(data.summary),
        "free_meals": as_tree(data.free_meals),
        "shifts": [(s.shift_id, s.opening_float_fen, s.cash_taken_fen, s.change_fen, s.voided_cash_fen,
                    s.counted_fen, s.expected_at_close_fen) for s in data.shifts],
        "grants": (len(data.grants), sum(g.amount_fen for g in data.grants), sum(g.voided for g in data.grants)),
        "voids": (len(data.voids), sum(v.refund_fen for v in data.voids),
                  sum(v.reversed_subsidy_fen for v in data.voids)),
        "corrections": (len(data.corrections), sum(c.refund_fen for c in data.corrections),
                        sum(c.reversed_subsidy_fen for c in data.corrections)),
        "exceptions": (len(data.exceptions), sum(x.amount_fen for x in data.exceptions)),
    }


def closed_data(*, session: Session, canteen_id: str, business_date: date) -> DailyData | None:
    """The daily data exactly as the day close froze it, or None while the date is open."""
    text = session.connection().execute(
        select(DC.c.report_json).where(DC.c.canteen_id == canteen_id, DC.c.business_date == business_date)).scalar()
    return None if text is None else thaw_json(DailyData, text)


def daily_report(*, session: Session, canteen_id: str, business_date: date, default_cap: int,
                 generated_at: datetime, data: DailyData | None = None, sha256: str | None = None,
                 rules: AnomalyRules | None = None) -> DailyReport:
    """The daily report: its data, the data's SHA-256, and — once the date is closed — the
    data as the close froze it, with a check that the books still say what they said then.

    A closed day prints from the stored data (so it reads the same forever, and its
    SHA-256 is the one the close recorded); the live books are read only to compare
    their figures with the frozen ones.
    """
    closed = close_info(session=session, canteen_id=canteen_id, business_date=business_date)
    seq, head = chain_position(session=session, canteen_id=canteen_id)
    live = data or daily_data(session=session, canteen_id=canteen_id, business_date=business_date,
                              default_cap=default_cap, rules=rules)
    if closed is None:
        return DailyReport(data=live, sha256=sha256 or sha256_text(daily_json(live)), generated_at=generated_at,
                           close=None, chain_seq=seq, chain_head=head)
    frozen = closed_data(session=session, canteen_id=canteen_id, business_date=business_date)
    same = money_facts(frozen) == money_facts(live)
    # When the books no longer say what they said at close, the checks that fail on them
    # now are shown in place of the frozen ones, so the accountant sees what went wrong.
    now_failing = () if same else tuple(c for c in live.checks if not c.ok)
    extra = (*now_failing, Check("unchanged_since_close", same, "数据与日结时一致",
                                 "data unchanged since the day close", f"{closed.report_sha256[:16]}…",
                                 f"{closed.report_sha256[:16]}…"))
    return DailyReport(data=frozen, sha256=closed.report_sha256, generated_at=generated_at, close=closed,
                       chain_seq=seq, chain_head=head, extra_checks=extra)
