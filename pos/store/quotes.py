"""Pricing an order and deciding its subsidy, as a sale now would — with no side effects.

Prices come from this canteen's menu (never from the till); the rules engine
(``subsidies.engine.decide``) proposes the subsidy from the diner's facts and today's
counters as the store reads them.  :mod:`pos.store.sales` records what this module quotes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from pos.clock import naive_utc
from pos.config import Settings
from pos.errors import ApiError
from pos.models import MenuItem
from pos.store.fastsql import Fast
from subsidies.engine import Counters, Decision, DinerFacts, Order, OrderLine, decide, period_key
from subsidies.policy import PolicyError, PolicyVersion

MAX_LINES = 50
MAX_QTY = 99
ANONYMOUS = DinerFacts(kind="anonymous")
_MENU = MenuItem.__table__
FREE_MEALS_USED_SQL = "SELECT used FROM free_meal_counters WHERE canteen_id = :c AND business_date = :d"
_LIVE_GRANTS_SQL = ("SELECT COUNT(*) FROM subsidy_grants WHERE diner_key = :k AND business_date = :d "
                    "AND period = :p AND voided = FALSE")
_LIVE_TICKET_GRANTS_SQL = "SELECT COUNT(*) FROM subsidy_grants WHERE diner_key = :k AND voided = FALSE"


def _menu_sql(n: int) -> str:
    marks = ", ".join(f":i{k}" for k in range(n))
    return ("SELECT id, name, name_en, price_fen, welfare_meal, available FROM menu_items "
            f"WHERE canteen_id = :c AND id IN ({marks})")


@dataclass(frozen=True)
class Moment:
    """When a sale happens, in the canteen's terms."""

    business_date: date
    local_time: time
    sold_at: datetime  # naive UTC, as stored


def moment_of(instant: datetime, tz: str) -> Moment:
    """The business date and local time at an aware ``instant`` in the canteen's time zone."""
    from zoneinfo import ZoneInfo

    local = instant.astimezone(ZoneInfo(tz))
    return Moment(local.date(), local.time().replace(tzinfo=None), naive_utc(instant))


@dataclass(frozen=True)
class PricedLine:
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


@dataclass(frozen=True)
class Quote:
    """A priced order with its subsidy decision, as the server would record it now."""

    canteen_id: str
    moment: Moment
    policy: PolicyVersion
    lines: tuple[PricedLine, ...]
    decision: Decision
    credential: Any  # pos.store.credentials.Credential, or None for an anonymous diner
    free_meals_used: int
    free_meals_cap: int

    @property
    def gross_fen(self) -> int:
        return sum(line.line_total_fen for line in self.lines)

    @property
    def subsidy_fen(self) -> int:
        return self.decision.amount_fen if self.decision.granted else 0

    @property
    def due_fen(self) -> int:
        return self.gross_fen - self.subsidy_fen

    def as_dict(self) -> dict:
        """The quote as the API answers it (money in fen)."""
        return {
            "canteen": self.canteen_id,
            "business_date": self.moment.business_date.isoformat(),
            "gross_fen": self.gross_fen, "subsidy_fen": self.subsidy_fen, "due_fen": self.due_fen,
            "subsidy": subsidy_view(self.decision),
            "lines": [_line_view(line, self._line_subsidy(line)) for line in self.lines],
            "credential": self.credential.as_dict() if self.credential is not None else None,
            "free_meals": free_meals_view(self.free_meals_cap, self.free_meals_used),
        }

    def _line_subsidy(self, line: PricedLine) -> int:
        d = self.decision
        if d.granted and d.applies_to == "line" and d.line_index is not None and self.lines[d.line_index] is line:
            return d.amount_fen
        return 0


def free_meals_view(cap: int, used: int) -> dict:
    return {"cap": cap, "used": used, "left": max(cap - used, 0)}


def subsidy_view(decision: Decision) -> dict:
    """The subsidy part of a quote or sale.  The reason names the benefit, never the
    diner's worker category (no overt identification)."""
    granted = decision.granted
    return {"kind": decision.kind if granted else None, "amount_fen": decision.amount_fen if granted else 0,
            "rule": decision.rule_id if granted else None, "policy_version": decision.policy_version,
            "code": decision.code, "reason": decision.reason_zh, "reason_en": decision.reason_en}


def _line_view(line: PricedLine, subsidy_fen: int = 0) -> dict:
    return {"line_no": line.line_no, "item_id": line.item_id, "name": line.name, "name_en": line.name_en,
            "unit_price_fen": line.unit_price_fen, "qty": line.qty, "line_total_fen": line.line_total_fen,
            "welfare_meal": line.welfare_meal, "subsidy_fen": subsidy_fen}


def price_lines(*, session: Session, canteen_id: str, lines: list[dict]) -> tuple[PricedLine, ...]:
    """Price ``[{item_id, qty}]`` from this canteen's menu; refuses unknown or unavailable
    items and quantities outside 1..99 (422)."""
    if not lines:
        raise ApiError(422, "empty_order", "订单为空，请先点餐", "the order is empty: add dishes first")
    if len(lines) > MAX_LINES:
        raise ApiError(422, "too_many_lines", f"一单最多 {MAX_LINES} 行", f"at most {MAX_LINES} lines per sale")
    for line in lines:
        qty = line.get("qty")
        if not isinstance(qty, int) or isinstance(qty, bool) or not 1 <= qty <= MAX_QTY:
            raise ApiError(422, "invalid_qty", f"数量须为 1–{MAX_QTY}", f"qty must be a whole number 1..{MAX_QTY}")
    ids = sorted({line["item_id"] for line in lines})
    params = {f"i{k}": item_id for k, item_id in enumerate(ids)}
    params["c"] = canteen_id
    menu = {r[0]: r for r in Fast(session).all(_menu_sql(len(ids)), params)}
    out = []
    for n, line in enumerate(lines, start=1):
        item = menu.get(line["item_id"])
        if item is None:
            raise ApiError(422, "unknown_item", "菜单中没有这道菜，请刷新菜单", "unknown menu item: refresh the menu",
                           item_id=line["item_id"])
        item_id, name, name_en, price_fen, welfare_meal, available = item
        if not available:
            raise ApiError(422, "item_unavailable", f"“{name}”今天已售罄或停售",
                           f"{name_en or name} is not available today", item_id=item_id)
        out.append(PricedLine(n, item_id, name, name_en, price_fen, line["qty"], bool(welfare_meal)))
    return tuple(out)


def resolve_credential(*, session: Session, settings: Settings, credential: dict | None, today: date,
                       canteen_id: str):
    """The Credential for ``{"scan": …}`` / ``{"id_number": …}``, or None for no credential."""
    if not credential:
        return None
    from pos.store import credentials

    if credential.get("scan") is not None:
        return credentials.resolve_scan(session=session, settings=settings, text=credential["scan"], today=today,
                                        canteen_id=canteen_id)
    return credentials.resolve_id_number(session=session, settings=settings, id_number=credential["id_number"],
                                         today=today)


def policy_for(settings: Settings, business_date: date) -> PolicyVersion:
    try:
        return settings.policy.in_force(business_date)
    except PolicyError as e:
        raise ApiError(409, "no_policy", "今天没有生效的补贴政策，请联系管理员", str(e)) from None


def free_meals_used(*, session: Session, canteen_id: str, business_date: date) -> int:
    return Fast(session).scalar(FREE_MEALS_USED_SQL, {"c": canteen_id, "d": business_date}) or 0


def live_grants_query(credential, policy: PolicyVersion, moment: Moment) -> tuple[str, dict] | None:
    """The statement counting the diner's live subsidised meals in the span the policy's
    limit counts over now (``:k``, ``:d``, ``:p``), or None when nothing needs counting
    (no diner, or outside every meal period)."""
    key = getattr(credential, "diner_key", None)
    period = period_key(policy, moment.local_time)
    if not key or period is None:
        return None
    if credential.kind == "ticket":  # a ticket is spent once, whatever the date or period
        return _LIVE_TICKET_GRANTS_SQL, {"k": key}
    return _LIVE_GRANTS_SQL, {"k": key, "d": moment.business_date, "p": period}


def decide_for(*, session: Session, policy: PolicyVersion, canteen_id: str, moment: Moment,
               lines: tuple[PricedLine, ...], credential, counts: tuple[int, int] | None = None) -> Quote:
    """Read today's counters and ask the rules engine under ``policy``; no side effects.
    ``counts`` is (free meals used today, the diner's live grants in the limit's span) when
    the caller has just read them in the same transaction."""
    if counts is None:
        grants = live_grants_query(credential, policy, moment)
        counts = (free_meals_used(session=session, canteen_id=canteen_id, business_date=moment.business_date),
                  (Fast(session).scalar(*grants) or 0) if grants is not None else 0)
    used, subsidised = counts
    facts = credential.facts if credential is not None else ANONYMOUS
    counters = Counters(free_meals_used=min(used, policy.free_meals_per_day) if used >= 0 else 0,
                        diner_subsidised=subsidised)
    order = Order(tuple(OrderLine(item_id=line.item_id, name=line.name, unit_price_fen=line.unit_price_fen,
                                  qty=line.qty, welfare_meal=line.welfare_meal) for line in lines))
    decision = decide(policy=policy, diner=facts, order=order, business_date=moment.business_date,
                      local_time=moment.local_time, counters=counters)
    return Quote(canteen_id, moment, policy, lines, decision, credential, used, policy.free_meals_per_day)


def quote(*, session: Session, settings: Settings, canteen_id: str, lines: list[dict], credential: dict | None,
          instant: datetime) -> Quote:
    """Price an order and decide its subsidy as a sale now would; records nothing."""
    tz = settings.canteen(canteen_id).timezone
    moment = moment_of(instant, tz)
    priced = price_lines(session=session, canteen_id=canteen_id, lines=lines)
    cred = resolve_credential(session=session, settings=settings, credential=credential,
                              today=moment.business_date, canteen_id=canteen_id)
    return decide_for(session=session, policy=policy_for(settings, moment.business_date), canteen_id=canteen_id,
                      moment=moment, lines=priced, credential=cred)


def menu(*, session: Session, canteen_id: str) -> list[dict]:
    """The canteen's available menu items in menu order (categories appear in the order of their first item)."""
    rows = session.connection().execute(
        select(_MENU).where(_MENU.c.canteen_id == canteen_id, _MENU.c.available.is_(True))
        .order_by(_MENU.c.sort_order, _MENU.c.name)).mappings()
    return [{"id": r["id"], "name": r["name"], "name_en": r["name_en"], "price_fen": r["price_fen"],
             "category": r["category"], "welfare_meal": bool(r["welfare_meal"])} for r in rows]
