"""What the monthly subsidy claim reads: SQL aggregates over the grants recorded at sale
time, for one canteen or every canteen of a community, as plain frozen data.

The claimed amount is Σ ``amount_fen`` of live grants (``voided`` false) whose business
date falls in the month.  Voided grants are excluded and counted apart.  A day that has
not been closed yet is *provisional* (暂定): sales and voids may still change it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable

from sqlalchemy import and_, case, false, func, or_, select, true
from sqlmodel import Session

from reports.queries import (CO, DC, FM, SE, SH, CanteenInfo, Check, D, G, S, V, _int, canonical_json, pseudonym,
                             sha256_text)
from pos.models import Canteen
from reports.anomalies import AnomalyRules, anomaly_checks

C = Canteen.__table__
CapFor = Callable[[date], int]


def month_bounds(month: date) -> tuple[date, date]:
    """The first and last day of the month containing ``month``."""
    first = month.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt - timedelta(days=1)


def parse_month(text: str) -> date:
    """``'2026-03'`` → ``date(2026, 3, 1)``; ValueError for anything else."""
    try:
        year, mon = text.strip().split("-")
        if len(year) != 4 or len(mon) != 2:
            raise ValueError
        return date(int(year), int(mon), 1)
    except ValueError:
        raise ValueError(f"month must be YYYY-MM, got {text!r}") from None


@dataclass(frozen=True)
class ClaimDay:
    """One canteen's business date in the claim: live grants by kind, completed sales and
    their recorded subsidy, the free-meal cap, and whether the day is closed."""

    canteen: str
    business_date: date
    closed: bool
    age_count: int
    age_fen: int
    free_count: int
    free_fen: int
    sales: int
    sales_subsidy_fen: int
    free_cap: int
    # Subsidies tills gave offline that the server would not grant (serving exceptions of
    # completed sales): in sales_subsidy_fen, never in the claim.  Schema 11; none before.
    exception_count: int = 0
    exception_fen: int = 0

    @property
    def total_fen(self) -> int:
        """The day's claim: Σ live grants."""
        return self.age_fen + self.free_fen


@dataclass(frozen=True)
class DateClaim:
    """The claim of one date across the chosen canteens; provisional unless every
    canteen that sold that day has closed it."""

    business_date: date
    provisional: bool
    age_count: int
    age_fen: int
    free_count: int
    free_fen: int

    @property
    def total_fen(self) -> int:
        """Σ of the live grants (age discounts and free meals), in fen."""
        return self.age_fen + self.free_fen


@dataclass(frozen=True)
class CanteenClaim:
    """One canteen's month: counts and amounts by kind, days sold and days closed."""

    canteen: CanteenInfo
    days: int
    closed_days: int
    age_count: int
    age_fen: int
    free_count: int
    free_fen: int

    @property
    def total_fen(self) -> int:
        """Σ of the live grants (age discounts and free meals), in fen."""
        return self.age_fen + self.free_fen


@dataclass(frozen=True)
class DinerTotal:
    """A diner's subsidised meals in the month, pseudonymous (key prefix, masked ID)."""

    diner: str
    masked_id: str
    meals: int
    age_count: int
    free_count: int
    amount_fen: int
    canteens: int
    days: int


@dataclass(frozen=True)
class PolicyUse:
    """A policy version's grants in the month: kind, count, amount and the dates it covered."""

    version: str
    kind: str
    count: int
    amount_fen: int
    first_date: date
    last_date: date


@dataclass(frozen=True)
class Adjustment:
    """A correction booked in the claim's month (on an open business date) that reverses
    part of a sale of an earlier, closed date: it lowers this claim, never the closed
    day's or an already submitted claim."""

    canteen: str
    business_date: date
    original_date: date
    original_receipt_no: int
    reason: str
    refund_fen: int
    reversed_subsidy_fen: int


@dataclass(frozen=True)
class ClaimData:
    """The monthly claim.  ``total_fen`` is what the operator claims; :func:`claim_json`
    is the canonical form whose SHA-256 goes in the footer."""

    month: date
    canteens: tuple[CanteenInfo, ...]
    days: tuple[ClaimDay, ...]
    by_canteen: tuple[CanteenClaim, ...]
    by_date: tuple[DateClaim, ...]
    diners: tuple[DinerTotal, ...]
    policies: tuple[PolicyUse, ...]
    voided_count: int
    voided_fen: int
    corrections_count: int
    corrections_subsidy_fen: int
    adjustments: tuple[Adjustment, ...]
    checks: tuple[Check, ...]

    @property
    def total_fen(self) -> int:
        """The amount claimed: Σ of the live grants of every canteen, in fen."""
        return sum(c.total_fen for c in self.by_canteen)

    @property
    def age_count(self) -> int:
        """Live age-discount grants of the month."""
        return sum(c.age_count for c in self.by_canteen)

    @property
    def free_count(self) -> int:
        """Live free-meal grants of the month."""
        return sum(c.free_count for c in self.by_canteen)

    @property
    def age_fen(self) -> int:
        """Σ of the live age-discount grants, in fen."""
        return sum(c.age_fen for c in self.by_canteen)

    @property
    def free_fen(self) -> int:
        """Σ of the live free-meal grants, in fen."""
        return sum(c.free_fen for c in self.by_canteen)

    @property
    def net_fen(self) -> int:
        """What the operator is owed: the claim total less the subsidy reversed by the
        month's corrections (the adjustments section)."""
        return self.total_fen - self.corrections_subsidy_fen

    @property
    def provisional(self) -> bool:
        """True while any day of the claim is not closed."""
        return any(not d.closed for d in self.days)

    @property
    def all_ok(self) -> bool:
        """True when every edit check passes."""
        return all(c.ok for c in self.checks)


def claim_json(data: ClaimData) -> str:
    """The claim as canonical JSON (sorted keys, no spaces)."""
    return canonical_json(data)


def claim_sha256(data: ClaimData) -> str:
    """SHA-256 of :func:`claim_json`."""
    return sha256_text(claim_json(data))


def canteens_of(*, session: Session, codes: list[str] | None = None, community: str | None = None
                ) -> tuple[CanteenInfo, ...]:
    """The canteens named by ``codes``, or every canteen of ``community``, or all; by code."""
    q = select(C.c.id, C.c.name, C.c.community, C.c.timezone).order_by(C.c.id)
    if codes is not None:
        q = q.where(C.c.id.in_(codes))
    if community is not None:
        q = q.where(C.c.community == community)
    return tuple(CanteenInfo(*r) for r in session.connection().execute(q))


def _canteen_days(conn, code: str, first: date, last: date, cap_for: CapFor) -> tuple[list[ClaimDay], int]:
    """The canteen's days of the month, and how many closed days hold a sale written after
    their close (read in the same pass over the sales: the ledger position of each day's
    last sale against the one its close recorded)."""
    live = and_(G.c.canteen_id == code, G.c.business_date.between(first, last), G.c.voided == false())
    age, free = G.c.kind == "age_tier", G.c.kind == "free_meal"
    grants = {d: r for d, *r in conn.execute(
        select(G.c.business_date, func.sum(case((age, 1), else_=0)), func.sum(case((age, G.c.amount_fen), else_=0)),
               func.sum(case((free, 1), else_=0)), func.sum(case((free, G.c.amount_fen), else_=0)))
        .where(live).group_by(G.c.business_date))}
    done = S.c.status == "completed"
    sales, last_seq = {}, {}
    for d, n, sub, top in conn.execute(
            select(S.c.business_date, func.sum(case((done, 1), else_=0)),
                   func.sum(case((done, S.c.subsidy_fen), else_=0)), func.max(S.c.chain_seq))
            .where(S.c.canteen_id == code, S.c.business_date.between(first, last)).group_by(S.c.business_date)):
        last_seq[d] = top
        if _int(n):
            sales[d] = (n, sub)
    exceptions = {d: (n, fen) for d, n, fen in conn.execute(
        select(SE.c.business_date, func.count(), func.sum(SE.c.amount_fen))
        .select_from(SE.join(S, S.c.id == SE.c.sale_id))
        .where(SE.c.canteen_id == code, SE.c.business_date.between(first, last), done)
        .group_by(SE.c.business_date))}
    caps = dict(conn.execute(select(FM.c.business_date, FM.c.cap)
                             .where(FM.c.canteen_id == code, FM.c.business_date.between(first, last))).all())
    closed = dict(conn.execute(select(DC.c.business_date, DC.c.chain_seq)
                               .where(DC.c.canteen_id == code, DC.c.business_date.between(first, last))).all())
    late = sum(1 for d, seq in closed.items() if last_seq.get(d) is not None and last_seq[d] > seq)
    out = []
    for day in sorted(set(grants) | set(sales)):
        g = [_int(x) for x in grants.get(day, (0, 0, 0, 0))]
        n, sub = sales.get(day, (0, 0))
        cap = caps.get(day)
        x_count, x_fen = exceptions.get(day, (0, 0))
        out.append(ClaimDay(code, day, day in closed, g[0], g[1], g[2], g[3], _int(n), _int(sub),
                            cap if cap is not None else cap_for(day), _int(x_count), _int(x_fen)))
    return out, late


def _diners(conn, codes: list[str], first: date, last: date) -> tuple[DinerTotal, ...]:
    age, free = G.c.kind == "age_tier", G.c.kind == "free_meal"
    q = (select(G.c.diner_key, func.max(D.c.id_masked), func.count(), func.sum(case((age, 1), else_=0)),
                func.sum(case((free, 1), else_=0)), func.sum(G.c.amount_fen),
                func.count(G.c.canteen_id.distinct()), func.count(G.c.business_date.distinct()))
         .select_from(G.outerjoin(D, D.c.id == G.c.diner_id))
         .where(G.c.canteen_id.in_(codes), G.c.business_date.between(first, last), G.c.voided == false())
         .group_by(G.c.diner_key).order_by(G.c.diner_key))
    return tuple(DinerTotal(pseudonym(k), m or "", _int(n), _int(a), _int(f), _int(amt), _int(cs), _int(ds))
                 for k, m, n, a, f, amt, cs, ds in conn.execute(q))


def _policies(conn, codes: list[str], first: date, last: date) -> tuple[PolicyUse, ...]:
    q = (select(G.c.policy_version, G.c.kind, func.count(), func.sum(G.c.amount_fen), func.min(G.c.business_date),
                func.max(G.c.business_date))
         .where(G.c.canteen_id.in_(codes), G.c.business_date.between(first, last), G.c.voided == false())
         .group_by(G.c.policy_version, G.c.kind).order_by(G.c.policy_version, G.c.kind))
    return tuple(PolicyUse(v, k, _int(n), _int(a), f, la) for v, k, n, a, f, la in conn.execute(q))


def _claim_checks(conn, codes: list[str], first: date, last: date, days: list[ClaimDay]) -> tuple[Check, ...]:
    in_claim = and_(G.c.canteen_id.in_(codes), G.c.business_date.between(first, last))
    # The district-wide test: a diner of this claim with two live grants for the same
    # date (and meal period) at any canteen, including canteens outside the claim.
    ours = select(G.c.diner_key).where(in_claim, G.c.voided == false())
    twice = conn.execute(select(func.count()).select_from(
        select(G.c.diner_key).where(G.c.business_date.between(first, last), G.c.voided == false(),
                                    G.c.diner_key.in_(ours))
        .group_by(G.c.diner_key, G.c.business_date, G.c.period).having(func.count() > 1).subquery())).scalar()
    mismatched = conn.execute(
        select(func.count()).select_from(G.join(S, S.c.id == G.c.sale_id))
        .where(in_claim, or_(and_(G.c.voided == true(), S.c.status == "completed"),
                             and_(G.c.voided == false(), S.c.status == "voided")))).scalar()
    over_cap = [d for d in days if d.free_count > d.free_cap]
    unequal = [d for d in days if d.total_fen + d.exception_fen != d.sales_subsidy_fen]
    return (
        Check("one_per_diner_district", twice == 0, "同一就餐者同一天（餐段）在全区未被重复补贴",
              "no diner subsidised twice on one day (period) anywhere in the district",
              f"{twice} 例", f"{twice} case(s)"),
        Check("free_meal_cap", not over_cap, "每日免费餐不超过上限", "no day over the free-meal cap",
              "，".join(f"{d.canteen} {d.business_date:%m-%d} {d.free_count}/{d.free_cap}" for d in over_cap[:8])
              or f"已核对 {len(days)} 天",
              ", ".join(f"{d.canteen} {d.business_date:%m-%d} {d.free_count}/{d.free_cap}" for d in over_cap[:8])
              or f"{len(days)} day(s) checked"),
        Check("voided_excluded", mismatched == 0, "已作废的销售不计入申领", "voided sales excluded from the claim",
              f"{mismatched} 条补贴记录与销售状态不符", f"{mismatched} grant(s) disagree with their sale's status"),
        Check("sums_agree", not unequal, "每日补贴记录合计 + 离线补贴例外 = 已完成销售的补贴合计",
              "each day: Σ live grants + Σ serving exceptions = Σ subsidy of completed sales",
              "，".join(f"{d.canteen} {d.business_date:%m-%d}" for d in unequal[:8]) or "一致",
              ", ".join(f"{d.canteen} {d.business_date:%m-%d}" for d in unequal[:8]) or "OK"),
    )


def _closed_days_intact(conn, codes: list[str], first: date, last: date, late_sale_days: int) -> Check:
    """No row dated on a closed day was written after its close: no sale (counted by
    :func:`_canteen_days`) or void past the close's ledger position, no shift opened after
    the close.  (A grant is written with its sale.)  The store refuses them; this proves it
    for the days the claim adds up."""
    late_voids = _int(conn.execute(select(func.count()).select_from(V.join(
        DC, and_(DC.c.canteen_id == V.c.canteen_id, DC.c.business_date == V.c.business_date)))
        .where(V.c.canteen_id.in_(codes), V.c.business_date.between(first, last),
               V.c.chain_seq > DC.c.chain_seq)).scalar())
    late_shifts = _int(conn.execute(select(func.count()).select_from(SH.join(
        DC, and_(DC.c.canteen_id == SH.c.canteen_id, DC.c.business_date == SH.c.business_date)))
        .where(SH.c.canteen_id.in_(codes), SH.c.business_date.between(first, last),
               SH.c.opened_at > DC.c.closed_at)).scalar())
    ok = late_sale_days == 0 and late_voids == 0 and late_shifts == 0
    return Check("closed_days_intact", ok, "已日结的营业日此后没有新增记录",
                 "no record added to a closed day after its close",
                 f"日结后有新增销售的营业日 {late_sale_days} 天、新增作废 {late_voids} 笔、新增班次 {late_shifts} 个",
                 f"{late_sale_days} day(s) with sales, {late_voids} void(s), {late_shifts} shift(s) after close")


def claim_data(*, session: Session, canteens: tuple[CanteenInfo, ...], month: date, cap_for: CapFor,
               progress: Callable[[CanteenInfo], None] | None = None,
               rules: AnomalyRules | None = None) -> ClaimData:
    """Gather the monthly claim for ``canteens``.  ``cap_for(date)`` is the policy's
    free-meal cap (for days whose counter row is missing); ``progress`` is called after
    each canteen's figures are read; ``rules`` are the anomaly checks' thresholds
    (built-in defaults, without a policy, when None)."""
    conn = session.connection()
    first, last = month_bounds(month)
    codes = [c.code for c in canteens]
    days: list[ClaimDay] = []
    late_sale_days = 0
    per_canteen = []
    for info in canteens:
        mine, late = _canteen_days(conn, info.code, first, last, cap_for)
        late_sale_days += late
        days.extend(mine)
        per_canteen.append(CanteenClaim(
            info, len(mine), sum(d.closed for d in mine), sum(d.age_count for d in mine),
            sum(d.age_fen for d in mine), sum(d.free_count for d in mine), sum(d.free_fen for d in mine)))
        if progress is not None:
            progress(info)
    by_date: dict[date, list[ClaimDay]] = {}
    for d in days:
        by_date.setdefault(d.business_date, []).append(d)
    dated = tuple(DateClaim(day, any(not x.closed for x in xs), sum(x.age_count for x in xs),
                          sum(x.age_fen for x in xs), sum(x.free_count for x in xs), sum(x.free_fen for x in xs))
                  for day, xs in sorted(by_date.items()))
    voided = conn.execute(select(func.count(), func.sum(G.c.amount_fen)).where(
        G.c.canteen_id.in_(codes), G.c.business_date.between(first, last), G.c.voided == true())).one()
    adjustments = tuple(Adjustment(*r) for r in conn.execute(
        select(CO.c.canteen_id, CO.c.business_date, S.c.business_date, S.c.receipt_no, CO.c.reason, CO.c.refund_fen,
               CO.c.reversed_subsidy_fen)
        .select_from(CO.join(S, S.c.id == CO.c.original_sale_id))
        .where(CO.c.canteen_id.in_(codes), CO.c.business_date.between(first, last))
        .order_by(CO.c.canteen_id, CO.c.business_date, CO.c.created_at, CO.c.id)))
    return ClaimData(
        month=first, canteens=canteens, days=tuple(days), by_canteen=tuple(per_canteen), by_date=dated,
        diners=_diners(conn, codes, first, last), policies=_policies(conn, codes, first, last),
        voided_count=_int(voided[0]), voided_fen=_int(voided[1]), corrections_count=len(adjustments),
        corrections_subsidy_fen=sum(a.reversed_subsidy_fen for a in adjustments), adjustments=adjustments,
        checks=(*_claim_checks(conn, codes, first, last, days),
                _closed_days_intact(conn, codes, first, last, late_sale_days),
                *anomaly_checks(session=session, canteens=canteens, first=first, last=last,
                                rules=rules or AnomalyRules(), skip_closed=True,
                                meals={(d.canteen, d.business_date): d.age_count + d.free_count for d in days})))


@dataclass(frozen=True)
class ClaimReport:
    """The claim with its name (a canteen's, or a community's), when it was generated, the
    time zone its times are shown in, and the SHA-256 of its data."""

    data: ClaimData
    scope: str
    sha256: str
    generated_at: datetime
    timezone: str


def claim_report(*, data: ClaimData, generated_at: datetime) -> ClaimReport:
    """Name the claim (one canteen: its name; several: their community or 'N 个食堂') and hash it."""
    if len(data.canteens) == 1:
        scope = data.canteens[0].name
    else:
        communities = sorted({c.community for c in data.canteens})
        scope = (communities[0] if len(communities) == 1 else "全区") + f"（{len(data.canteens)} 个食堂）"
    tz = data.canteens[0].timezone if data.canteens else "Asia/Shanghai"
    return ClaimReport(data=data, scope=scope, sha256=claim_sha256(data), generated_at=generated_at, timezone=tz)
