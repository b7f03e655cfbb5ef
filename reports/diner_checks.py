"""The anomaly checks about diners (see :mod:`reports.anomalies`): one diner subsidised at
two canteens within a short window, a day's subsidised meals against the eligible
diners registered in the canteen's community (the school-meal "edit check"), and a grant
dated on or after the day a diner was recorded as deceased or moved away (the rules
refuse it from that day; one recorded before the event was entered, or forced into the
books, is flagged).

Eligible diners are approximated from the diners table as it is *now* (it keeps no history
of registrations or suspensions): the diners of the canteen's community, not suspended,
who on the date reach the youngest age tier of the policy in force (residents only, when
that policy requires residency) or hold a verified worker category that policy gives free
meals.  A community with no eligible diner registered has no registry to compare with (its
canteen serves walk-ins and tickets); its days are reported as not checked, not as failed.
"""
from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from itertools import pairwise

from sqlalchemy import and_, case, false, func, or_, select

from pos.config import ChecksConfig
from pos.models import Diner, Sale, SubsidyGrant
from reports.anomaly_rules import PPM, AnomalyRules, Scope, listed, local_time, ppm
from reports.rows import Check
from subsidies.policy import PolicyVersion

S, G, D = Sale.__table__, SubsidyGrant.__table__, Diner.__table__


# -- the same diner at two canteens --------------------------------------------------------------

def same_diner_check(conn, scope: Scope, checks: ChecksConfig) -> Check:
    """``same_diner_two_canteens``: a diner key of the scope with live grants at two
    different canteens (any canteen of the district) at most the window apart.  One
    ``GROUP BY`` finds the diners seen at two canteens around the scope's dates; only their
    grants are read to compare times."""
    reach = timedelta(days=1 + checks.same_diner_window_minutes // 1440)  # dates a window can span
    near = and_(G.c.voided == false(), G.c.business_date.between(scope.first - reach, scope.last + reach))
    mine = and_(G.c.canteen_id.in_(scope.codes), G.c.business_date.between(scope.first, scope.last))
    two = func.min(G.c.canteen_id) != func.max(G.c.canteen_id)
    if scope.first == scope.last:  # one date: start from its few diners (the diner-key index)
        ours = select(G.c.diner_key).where(mine, G.c.voided == false())
        several = select(G.c.diner_key).where(near, G.c.diner_key.in_(ours)).group_by(G.c.diner_key).having(two)
    else:  # a month: one pass over its grants beats looking each diner up
        several = (select(G.c.diner_key).where(near).group_by(G.c.diner_key)
                   .having(two, func.sum(case((mine, 1), else_=0)) > 0))
    # Asked apart first: usually no diner qualifies, and the grants need not be read at all.
    keys = conn.execute(several).scalars().all()
    rows = conn.execute(
        select(G.c.diner_key, G.c.canteen_id, G.c.business_date, G.c.granted_at, S.c.receipt_no)
        .select_from(G.join(S, S.c.id == G.c.sale_id))
        .where(near, G.c.diner_key.in_(keys if len(keys) <= 500 else several))
        .order_by(G.c.diner_key, G.c.granted_at)).all() if keys else []
    window = timedelta(minutes=checks.same_diner_window_minutes)
    codes = set(scope.codes)

    def in_scope(r) -> bool:
        return r[1] in codes and scope.first <= r[2] <= scope.last

    zh, en = [], []
    for a, b in pairwise(rows):
        if a[0] != b[0] or a[1] == b[1] or b[3] - a[3] > window or not (in_scope(a) or in_scope(b)):
            continue
        minutes = int((b[3] - a[3]).total_seconds() // 60)
        ta, tb = local_time(a[3], scope.tz(a[1])), local_time(b[3], scope.tz(b[1]))
        where = f"{a[1]} #{a[4]} {ta:%m-%d %H:%M} → {b[1]} #{b[4]} {tb:%m-%d %H:%M}"
        zh.append(f"{where}（相隔 {minutes} 分钟）")
        en.append(f"{where} ({minutes} min apart)")
    window_n = checks.same_diner_window_minutes
    return Check("same_diner_two_canteens", not zh, f"同一就餐者未在 {window_n} 分钟内于两个食堂获补贴",
                 f"no diner subsidised at two canteens within {window_n} minutes",
                 listed(zh, True) if zh else "0 例", listed(en, False) if en else "0 case(s)")


# -- grants after a life event ----------------------------------------------------------------

LIFE_EVENT_WORDS = {"deceased": ("身故", "deceased"), "moved_away": ("迁出", "moved away")}


def life_event_check(conn, scope: Scope) -> Check:
    """``grant_after_life_event``: a live grant of the scope dated on or after the day its
    diner was recorded as deceased or moved away (benefits stop from that day).  The few
    diners with a life event are read first; only their grants are looked at."""
    left = conn.execute(select(D.c.id, D.c.id_hmac, D.c.left_kind, D.c.left_on)
                        .where(D.c.left_on.is_not(None), D.c.left_on <= scope.last)).all()
    label = ("身故或迁出的就餐者在该日及以后没有补贴", "no subsidy for a diner on or after their death or move")
    if not left:
        return Check("grant_after_life_event", True, *label, "0 例", "0 case(s)")
    by_id = {r[0]: r for r in left}
    by_key = {r[1]: r for r in left}
    ids, keys = list(by_id), list(by_key)
    rows = conn.execute(
        select(G.c.canteen_id, G.c.business_date, G.c.diner_id, G.c.diner_key, S.c.receipt_no)
        .select_from(G.join(S, S.c.id == G.c.sale_id))
        .where(G.c.canteen_id.in_(scope.codes), G.c.business_date.between(scope.first, scope.last),
               G.c.voided == false(), or_(G.c.diner_id.in_(ids), G.c.diner_key.in_(keys)))
        .order_by(G.c.business_date, G.c.canteen_id, S.c.receipt_no)).all()
    zh, en = [], []
    for code, day, diner_id, key, receipt in rows:
        diner = by_id.get(diner_id) or by_key.get(key)
        event_on = diner[3] if isinstance(diner[3], date) else date.fromisoformat(str(diner[3]))
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        if day < event_on:
            continue
        words = LIFE_EVENT_WORDS.get(diner[2], (diner[2], diner[2]))
        zh.append(f"{scope.tag(code, day)}#{receipt}（就餐者 {event_on.isoformat()} {words[0]}）")
        en.append(f"{scope.tag(code, day)}#{receipt} (diner {words[1]} on {event_on.isoformat()})")
    return Check("grant_after_life_event", not zh, *label,
                 listed(zh, True) if zh else "0 例", listed(en, False) if en else "0 case(s)")


# -- attendance (the school-meal edit check) -----------------------------------------------------

def _reaches(birth: date, years: int) -> date:
    """The date someone born on ``birth`` is ``years`` old, counted as
    :func:`subsidies.age.age_on` counts (29 February → 1 March in common years)."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return date(birth.year + years, 3, 1)


class _Registry:
    """The registered diners of some communities, grouped by what makes them eligible."""

    def __init__(self, rows: Iterable[tuple]):
        self.rows: dict[str, list[tuple]] = defaultdict(list)
        for community, *facts in rows:
            self.rows[community].append(tuple(facts))
        self._ready: dict[tuple[str, str], tuple[int, list[date], list[int]]] = {}

    def eligible(self, community: str, version: PolicyVersion, day: date) -> int:
        key = (community, version.version)
        if key not in self._ready:
            min_age = version.age_tiers[0].min_age if version.age_tiers else None
            workers, dated = 0, []
            for birth, resident, category, verified, n in self.rows.get(community, ()):
                if category in version.welfare_categories and verified:
                    workers += n  # a worker is eligible whatever their age
                elif min_age is not None and (resident or not version.residency_required):
                    dated.append((_reaches(birth, min_age), n))
            dated.sort()
            running, totals = 0, []
            for _, n in dated:
                running += n
                totals.append(running)
            self._ready[key] = (workers, [d for d, _ in dated], totals)
        workers, dates, totals = self._ready[key]
        reached = bisect_right(dates, day)
        return workers + (totals[reached - 1] if reached else 0)


def attendance_check(conn, scope: Scope, rules: AnomalyRules,
                     meals: Mapping[tuple[str, date], int] | None = None) -> Check:
    """``attendance``: a canteen's live grants of a day above the eligible diners
    registered in its community × ``attendance_factor`` (see the module docstring for who
    counts as eligible).  ``meals`` are the live grants by canteen and date when the caller
    has counted them already (the claim has)."""
    factor = rules.checks.attendance_factor
    label = ("每日补贴餐数不超过合资格登记人数 × 出勤系数 " + f"{factor:g}",
             f"subsidised meals a day within registered eligible diners × attendance factor {factor:g}")
    if rules.policy is None:
        return Check("attendance", True, *label, "未提供政策，未核对", "no policy given: not checked")
    if meals is None:
        meals = {(code, day): n for code, day, n in conn.execute(
            select(G.c.canteen_id, G.c.business_date, func.count())
            .where(G.c.canteen_id.in_(scope.codes), G.c.business_date.between(scope.first, scope.last),
                   G.c.voided == false())
            .group_by(G.c.canteen_id, G.c.business_date))}
    days = sorted((key, n) for key, n in meals.items() if n)
    community = {c.code: c.community for c in scope.canteens}
    verified = case((D.c.worker_verified_by.is_(None), False), else_=True)
    facts = (D.c.community, D.c.birth_date, D.c.resident, D.c.worker_category, verified)
    registry = _Registry(conn.execute(
        select(*facts, func.count()).where(D.c.community.in_(set(community.values())), D.c.suspended == false())
        .group_by(*facts)).all() if days else ())
    limit = ppm(factor)
    checked, unchecked, zh, en, last = 0, defaultdict(int), [], [], ""
    for (code, day), n in days:
        version = rules.policy.in_force_or_none(day)
        eligible = registry.eligible(community[code], version, day) if version is not None else 0
        if not eligible:
            unchecked[community[code]] += 1
            continue
        checked += 1
        last = (f"补贴 {n} 餐，合资格 {eligible} 人", f"{n} subsidised meal(s), {eligible} eligible")
        if n * PPM > eligible * limit:
            zh.append(f"{scope.tag(code, day)}补贴 {n} 餐 > 合资格 {eligible} 人 × {factor:g}")
            en.append(f"{scope.tag(code, day)}{n} subsidised meal(s) > {eligible} eligible × {factor:g}")
    done_zh = (last[0] if len(days) == 1 and checked else f"已核对 {checked} 天")
    done_en = (last[1] if len(days) == 1 and checked else f"{checked} day(s) checked")
    skip_zh = "".join(f"；{c} 无登记的合资格就餐者，{d} 天未核对" for c, d in sorted(unchecked.items()))
    skip_en = "".join(f"; {d} day(s) not checked: no eligible diner registered in {c}"
                      for c, d in sorted(unchecked.items()))
    return Check("attendance", not zh, *label,
                 (listed(zh, True) if zh else done_zh) + skip_zh, (listed(en, False) if en else done_en) + skip_en)
