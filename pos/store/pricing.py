"""Pricing an order and deciding its subsidy, as a sale now would — with no side effects.

Prices come from this canteen's menu (never from the till); the rules engine
(:func:`subsidies.engine.decide`) proposes the subsidy from the diner's facts and today's
counters as the store reads them.  :mod:`pos.store.sales` records what this module
quotes, reading the same facts inside its write transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import NamedTuple

from pos.clock import naive_utc
from pos.config import Settings
from pos.store import credentials
from pos.store.credentials import Credential, CredentialRequest
from pos.refusal import Refusal
from pos.tx import Tx
from subsidies.business_day import business_moment, week_of
from subsidies.engine import Counters, Decision, DinerFacts, Order, OrderLine, decide, period_key
from subsidies.policy import PolicyError, PolicyVersion

MAX_LINES = 50
MAX_QTY = 99
ANONYMOUS = DinerFacts(kind="anonymous")


class LineRequest(NamedTuple):
    """One line as the till sends it: a menu item and how many."""

    item_id: str
    qty: int


@dataclass(frozen=True)
class Moment:
    """When a sale happens, in the canteen's terms."""

    business_date: date
    local_time: time
    sold_at: datetime  # naive UTC, as stored


def moment_of(instant: datetime, tz: str) -> Moment:
    """The business date and local time at an aware ``instant`` in the canteen's time zone."""
    day, local = business_moment(instant, tz)
    return Moment(day, local, naive_utc(instant))


@dataclass(frozen=True)
class PricedLine:
    """A line priced from the menu: the name and unit price it is sold at."""

    line_no: int
    item_id: str
    name: str
    name_en: str
    unit_price_fen: int
    qty: int
    welfare_meal: bool

    @property
    def line_total_fen(self) -> int:
        return self.unit_price_fen * self.qty


class DinerMeals(NamedTuple):
    """The diner's live subsidised meals as the store read them: in the span the daily
    limit counts over (the business date or the meal period), and this week (Monday–Sunday
    of the business date, read only when the policy sets ``per_week``; else 0)."""

    today: int
    week: int = 0


class FreeMeals(NamedTuple):
    """Today's free welfare meals at a canteen."""

    cap: int
    used: int

    @property
    def left(self) -> int:
        return max(self.cap - self.used, 0)


@dataclass(frozen=True)
class Quote:
    """A priced order with its subsidy decision, as the server would record it now."""

    canteen_id: str
    moment: Moment
    policy: PolicyVersion
    lines: tuple[PricedLine, ...]
    decision: Decision
    credential: Credential | None
    free_meals: FreeMeals
    # Only a sale a till made offline has these (pos.store.offline_sales): the till's lease
    # its free meal came from (counted when it was leased, so not taken from the day's
    # counter again), and a subsidy the till gave that the server does not grant — the
    # diner paid without it, and it is a serving exception, never claimed.
    lease_id: str | None = None
    given_offline_fen: int = 0

    @property
    def gross_fen(self) -> int:
        return sum(line.line_total_fen for line in self.lines)

    @property
    def subsidy_fen(self) -> int:
        return self.decision.amount_fen if self.decision.granted else self.given_offline_fen

    @property
    def due_fen(self) -> int:
        return self.gross_fen - self.subsidy_fen

    def line_subsidy(self, line: PricedLine) -> int:
        """What the subsidy takes off this line (a free meal covers one line)."""
        d = self.decision
        if d.granted and d.applies_to == "line" and d.line_index is not None and self.lines[d.line_index] is line:
            return d.amount_fen
        return 0


def policy_for(settings: Settings, business_date: date) -> PolicyVersion:
    """The policy version in force on the date; refuses (``no_policy``) before every version."""
    try:
        return settings.policy.in_force(business_date)
    except PolicyError as e:
        raise Refusal("no_policy", "今天没有生效的补贴政策，请联系管理员", str(e)) from None


def price_lines(tx: Tx, *, canteen_id: str, lines: tuple[LineRequest, ...]) -> tuple[PricedLine, ...]:
    """Price ``lines`` from this canteen's menu; refuses an empty order, more than
    ``MAX_LINES`` lines, quantities outside 1..``MAX_QTY`` and unknown or unavailable items."""
    if not lines:
        raise Refusal("empty_order", "订单为空，请先点餐", "the order is empty: add dishes first")
    if len(lines) > MAX_LINES:
        raise Refusal("too_many_lines", f"一单最多 {MAX_LINES} 行", f"at most {MAX_LINES} lines per sale")
    for line in lines:
        if not isinstance(line.qty, int) or isinstance(line.qty, bool) or not 1 <= line.qty <= MAX_QTY:
            raise Refusal("invalid_qty", f"数量须为 1–{MAX_QTY}", f"qty must be a whole number 1..{MAX_QTY}")
    ids = sorted({line.item_id for line in lines})
    params = {f"i{k}": item_id for k, item_id in enumerate(ids)}
    marks = ", ".join(f":i{k}" for k in range(len(ids)))
    rows = tx.all("SELECT id, name, name_en, price_fen, welfare_meal, available FROM menu_items "
                  f"WHERE canteen_id = :c AND id IN ({marks})", {**params, "c": canteen_id})
    menu = {r[0]: r for r in rows}
    out = []
    for n, line in enumerate(lines, start=1):
        item = menu.get(line.item_id)
        if item is None:
            raise Refusal("unknown_item", "菜单中没有这道菜，请刷新菜单", "unknown menu item: refresh the menu",
                          item_id=line.item_id)
        item_id, name, name_en, price_fen, welfare_meal, available = item
        if not available:
            raise Refusal("item_unavailable", f"“{name}”今天已售罄或停售", f"{name_en or name} is not available today",
                          item_id=item_id)
        out.append(PricedLine(n, item_id, name, name_en, price_fen, line.qty, bool(welfare_meal)))
    return tuple(out)


def free_meals_today(tx: Tx, *, policy: PolicyVersion | None, canteen_id: str, business_date: date) -> FreeMeals:
    """The canteen's free-meal counter on the date; before the first free meal makes the
    day's counter row, the cap of ``policy`` (0 without one) and none used."""
    row = tx.one("SELECT cap, used FROM free_meal_counters WHERE canteen_id = :c AND business_date = :d",
                 {"c": canteen_id, "d": business_date})
    if row is not None:
        return FreeMeals(row[0], row[1])
    return FreeMeals(policy.free_meals_per_day if policy is not None else 0, 0)


def counters_today(tx: Tx, *, policy: PolicyVersion, canteen_id: str, moment: Moment,
                   credential: Credential | None) -> tuple[FreeMeals, DinerMeals]:
    """What the engine's counters need, read in one statement: the canteen's free meals
    today (:func:`free_meals_today`) and the diner's live subsidised meals (:class:`DinerMeals`)
    in the span the policy's limit counts over now — the business date, or the meal
    period; a one-time ticket's, ever; none for no diner (or outside every meal period) —
    and, when the policy sets ``per_week``, this week across the district (a ticket has
    no weekly limit)."""
    key = credential.diner_key if credential is not None else None
    period = period_key(policy, moment.local_time)
    week = "0"
    if not key or period is None:
        grants = "0"
    elif credential.kind == "ticket":  # a ticket is spent once, whatever the date or period
        grants = "(SELECT COUNT(*) FROM subsidy_grants WHERE diner_key = :k AND voided = :no)"
    else:
        grants = ("(SELECT COUNT(*) FROM subsidy_grants WHERE diner_key = :k AND business_date = :d "
                  "AND period = :p AND voided = :no)")
        if policy.per_week is not None:
            week = WEEK_GRANTS
    monday, sunday = week_of(moment.business_date)
    cap, used, subsidised, this_week = tx.one(
        f"SELECT c.cap, c.used, {grants}, {week} FROM (SELECT 1 AS one) AS one "
        "LEFT JOIN free_meal_counters c ON c.canteen_id = :c AND c.business_date = :d",
        {"c": canteen_id, "d": moment.business_date, "k": key, "p": period, "no": False,
         "w0": monday, "w1": sunday})
    free_meals = FreeMeals(cap, used) if cap is not None else FreeMeals(policy.free_meals_per_day, 0)
    return free_meals, DinerMeals(subsidised, this_week)


#: A diner's live grants in a week (``:k`` the diner key, ``:w0``–``:w1`` its Monday and
#: Sunday), at every canteen of the district: what the engine reads, and what a week's
#: counter row starts from (:func:`pos.store.sales.write_sale`).
WEEK_GRANTS = ("(SELECT COUNT(*) FROM subsidy_grants WHERE diner_key = :k AND business_date >= :w0 "
               "AND business_date <= :w1 AND voided = :no)")


def decide_quote(*, canteen_id: str, moment: Moment, policy: PolicyVersion, lines: tuple[PricedLine, ...],
                 credential: Credential | None, free_meals: FreeMeals, subsidised: DinerMeals) -> Quote:
    """Ask the rules engine about this order with the counters read; no side effects."""
    counters = Counters(free_meals_used=min(free_meals.used, policy.free_meals_per_day),
                        diner_subsidised=subsidised.today, diner_week=subsidised.week)
    order = Order(tuple(OrderLine(item_id=line.item_id, name=line.name, unit_price_fen=line.unit_price_fen,
                                  qty=line.qty, welfare_meal=line.welfare_meal) for line in lines))
    decision = decide(policy=policy, diner=credential.facts if credential is not None else ANONYMOUS, order=order,
                      business_date=moment.business_date, local_time=moment.local_time, counters=counters)
    return Quote(canteen_id, moment, policy, lines, decision, credential, free_meals)


def quote(tx: Tx, *, settings: Settings, canteen_id: str, lines: tuple[LineRequest, ...],
          credential: CredentialRequest | None, instant: datetime) -> Quote:
    """Price an order and decide its subsidy as a sale now would; records nothing."""
    moment = moment_of(instant, settings.canteen(canteen_id).timezone)
    policy = policy_for(settings, moment.business_date)
    priced = price_lines(tx, canteen_id=canteen_id, lines=lines)
    cred = credentials.resolve(tx, settings=settings, request=credential, today=moment.business_date,
                               canteen_id=canteen_id)
    free_meals, subsidised = counters_today(tx, policy=policy, canteen_id=canteen_id, moment=moment, credential=cred)
    return decide_quote(canteen_id=canteen_id, moment=moment, policy=policy, lines=priced, credential=cred,
                        free_meals=free_meals, subsidised=subsidised)
