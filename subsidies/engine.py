"""The subsidy decision: who gets how much off one order, and why.

Everything the rules need is gathered first into frozen data — the policy version in
force on the business date, the diner's facts, the order, the local time and today's
counters — and :func:`decide` turns it into a :class:`Decision`.  "Not eligible" is a
normal answer with a reason, never an exception.

The engine only *proposes*.  The store grants the benefit in the same transaction as the
sale and enforces what must hold under concurrency (the free-meal cap, one subsidised
meal per diner); the counters passed here are what the store read.

The rules, in the order they are applied:

1. No credential (anonymous diner) → menu price.
2. A suspended diner, revoked or invalid voucher → menu price.  So is a diner recorded
   as deceased or moved away, from the date of that event on (``left_on``): benefits stop
   on that date.
3. When the limit is per meal period and the time is outside every period → nothing.
4. The diner already had ``meals_per_limit`` subsidised meals today (or this period) →
   nothing; nor when the policy sets ``per_week`` and the diner already had that many
   this week (Monday–Sunday).  A one-time ticket's only limit is itself: once used, it
   is spent.
5. An empty order (nothing to pay) → nothing.
6. Otherwise each benefit is considered:

   * **age tier** (registered diners and walk-ins with a resident ID): the highest tier
     whose ``min_age`` is at most the diner's age in full years on the business date;
     residents only when the policy requires it (a walk-in counts as resident only when
     ``walk_in_id_counts_as_resident``); it comes off the order total, never below zero.
     A registered resident whose proof of residency has expired
     (``residency_verified_until`` before the business date) does not count as one.
   * **free meal**: a registered, verified worker of a welfare category, or a one-time
     ticket valid on the business date (a worker's proof of work counts until
     ``worker_verified_until``; after it, no free meal until it is renewed); one unit of
     the welfare set meal in the order
     (the most expensive one if there are several) is free, while free meals remain today.

   The most favourable eligible benefit wins (largest amount; a tie goes to the free
   meal, which leaves the cash total simplest).  So a 62-year-old worker gets the free
   meal while any are left, and the age discount once they are gone.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, time
from typing import Literal

from subsidies import reasons
from subsidies.age import age_on
from subsidies.expiry import expired
from subsidies.policy import PolicyVersion

DinerKind = Literal["registered", "walk_in", "ticket", "anonymous"]
DINER_KINDS: tuple[str, ...] = ("registered", "walk_in", "ticket", "anonymous")

#: Every machine code a decision or consideration can carry.
CODES: tuple[str, ...] = (
    "age_tier", "free_meal", "no_credential", "too_young", "no_birth_date", "not_resident",
    "not_a_worker", "worker_not_verified", "no_welfare_item", "free_meals_gone",
    "limit_reached", "suspended", "outside_meal_period", "ticket_wrong_date", "empty_order",
    "weekly_limit_reached",
    "worker_proof_expired", "residency_proof_expired", "deceased", "moved_away",
)

# When no benefit applies, the decision explains the refusal closest to succeeding: a
# worker whose free meals ran out hears that, not that they are too young.
_REFUSAL_ORDER: tuple[str, ...] = (
    "free_meals_gone", "no_welfare_item", "ticket_wrong_date", "worker_proof_expired", "worker_not_verified",
    "residency_proof_expired", "not_resident", "too_young", "no_birth_date", "not_a_worker",
)


def _whole(name: str, value: object, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class DinerFacts:
    """What the till knows about the person paying.

    ``kind``: ``registered`` (a community-registered diner, usually via a QR voucher),
    ``walk_in`` (a valid resident ID typed at the till, not registered), ``ticket`` (a
    one-time daily free-meal ticket) or ``anonymous`` (no credential: menu price).
    ``suspended`` covers a suspended diner as well as a revoked or invalid credential.
    ``resident`` matters for registered diners only: whether a walk-in counts as a
    resident is the policy's choice (``walk_in_id_counts_as_resident``).
    ``worker_verified_until`` / ``residency_verified_until``: the last day the proof seen
    by staff counts (None: it does not expire).  ``left`` (``deceased`` or
    ``moved_away``) and ``left_on``: a life event that ends every benefit from that date.
    """

    kind: DinerKind
    birth_date: date | None = None
    resident: bool = False
    worker_category: str | None = None
    worker_verified: bool = False
    suspended: bool = False
    ticket_date: date | None = None
    worker_verified_until: date | None = None
    residency_verified_until: date | None = None
    left: str | None = None
    left_on: date | None = None

    def __post_init__(self) -> None:
        if self.kind not in DINER_KINDS:
            raise ValueError(f"diner kind must be one of {DINER_KINDS}, got {self.kind!r}")
        if self.left not in (None, *LEFT_CODES) or (self.left is None) != (self.left_on is None):
            raise ValueError(f"left must be one of {LEFT_CODES} with its date, got {self.left!r} / {self.left_on!r}")


#: The life events that end a diner's benefits (the codes of :data:`subsidies.vocabulary.LIFE_EVENTS`).
LEFT_CODES: tuple[str, ...] = ("deceased", "moved_away")


def has_left(diner: DinerFacts, business_date: date) -> bool:
    """Whether a life event (death, moving away) has ended the diner's benefits on ``business_date``."""
    return diner.left_on is not None and business_date >= diner.left_on


def standing(diner: DinerFacts, business_date: date) -> tuple[str, reasons.Reason] | None:
    """What stands against a registered diner on ``business_date`` whatever they order —
    a life event, or an expired proof of work or of residency — as ``(code, (zh, en))``,
    in the engine's own words; None when nothing does.  The till's banner and the diner's
    own voucher page say it before any order."""
    if has_left(diner, business_date):
        return diner.left, reasons.left(diner.left, diner.left_on)
    if diner.worker_category and diner.worker_verified and expired(diner.worker_verified_until, business_date):
        return "worker_proof_expired", reasons.worker_proof_expired(diner.worker_verified_until)
    if diner.resident and expired(diner.residency_verified_until, business_date):
        return "residency_proof_expired", reasons.residency_proof_expired(diner.residency_verified_until)
    return None


@dataclass(frozen=True)
class OrderLine:
    """One dish on the order: ``qty`` units at ``unit_price_fen`` each.

    ``welfare_meal`` marks the welfare set meal (公益套餐), the item a free meal covers.
    """

    item_id: int
    name: str
    unit_price_fen: int
    qty: int
    welfare_meal: bool = False

    def __post_init__(self) -> None:
        _whole("unit_price_fen", self.unit_price_fen, 0)
        _whole("qty", self.qty, 1)

    @property
    def line_total_fen(self) -> int:
        """``unit_price_fen × qty``, in fen."""
        return self.unit_price_fen * self.qty


@dataclass(frozen=True)
class Order:
    """The dishes being paid for, before any subsidy."""

    lines: tuple[OrderLine, ...]

    def __post_init__(self) -> None:
        # Accept a list from callers but keep the object immutable and hashable.
        object.__setattr__(self, "lines", tuple(self.lines))

    @property
    def gross_fen(self) -> int:
        """The menu-price total of every line, in fen."""
        return sum(line.line_total_fen for line in self.lines)


@dataclass(frozen=True)
class Counters:
    """Today's counts as the store read them.

    ``free_meals_used``: free welfare meals already granted today at this canteen.
    ``diner_subsidised``: subsidised meals this diner already had today (this meal period
    when the policy limits per period); for a walk-in, counted under the pseudonym of the
    resident ID (``subsidies.resident_id.pseudonym``), never the number; for a ticket,
    the times the ticket was used.
    ``diner_week``: subsidised meals this diner already had this week (Monday–Sunday of
    the business date, ``subsidies.business_day.week_of``) across the district; read only
    when the policy sets ``per_week``.
    """

    free_meals_used: int = 0
    diner_subsidised: int = 0
    diner_week: int = 0

    def __post_init__(self) -> None:
        _whole("free_meals_used", self.free_meals_used, 0)
        _whole("diner_subsidised", self.diner_subsidised, 0)
        _whole("diner_week", self.diner_week, 0)


@dataclass(frozen=True)
class Consideration:
    """One benefit that was considered for this order, and whether it applies.

    ``amount_fen`` is what it would take off (0 when not eligible); ``rule_id`` names the
    rule looked at (``age_tier:80``, ``free_meal``) or is None when no rule was reached.
    """

    kind: str
    eligible: bool
    amount_fen: int
    rule_id: str | None
    code: str
    reason_zh: str
    reason_en: str


@dataclass(frozen=True)
class Decision:
    """The outcome for one order: the benefit granted (if any), how much, and why.

    ``applies_to`` is ``total`` for an age discount, ``line`` for a free meal (then
    ``line_index`` points into ``order.lines``) and ``none`` when nothing is granted.
    ``considered`` lists every benefit looked at, eligible or not, with its own reason.
    """

    kind: str | None
    amount_fen: int
    applies_to: str
    line_index: int | None
    rule_id: str | None
    policy_version: str
    period: str
    code: str
    reason_zh: str
    reason_en: str
    considered: tuple[Consideration, ...] = ()

    @property
    def granted(self) -> bool:
        """True when a benefit with a positive amount was granted."""
        return self.kind is not None and self.amount_fen > 0

    def as_dict(self) -> dict:
        """The decision as JSON-ready data (amounts in integer fen), as the API returns it."""
        d = asdict(self)
        d["considered"] = [asdict(c) for c in self.considered]
        d["granted"] = self.granted
        return d


def period_key(policy: PolicyVersion, local_time: time) -> str | None:
    """The span a diner's limit counts over at ``local_time``.

    ``""`` when the policy limits per day; the meal period's name when it limits per
    meal period; None when it limits per period and ``local_time`` is outside every one.
    """
    if policy.limit_per == "day":
        return ""
    period = policy.period_at(local_time)
    return period.name if period is not None else None


def decide(
    *,
    policy: PolicyVersion,
    diner: DinerFacts,
    order: Order,
    business_date: date,
    local_time: time,
    counters: Counters,
) -> Decision:
    """Decide the subsidy for one order (see the module docstring for the rules).

    ``policy`` is the version in force on ``business_date`` (``Policy.in_force``);
    ``business_date`` and ``local_time`` are in the canteen's time zone
    (``subsidies.business_day.business_moment``).  Returns a :class:`Decision`; a policy
    version is checked when it is built, so there is nothing here to raise.
    """
    key = period_key(policy, local_time)
    period = key or ""

    def refuse(code: str, reason: reasons.Reason,
               considered: tuple[Consideration, ...] = ()) -> Decision:
        return Decision(kind=None, amount_fen=0, applies_to="none", line_index=None,
                        rule_id=None, policy_version=policy.version, period=period,
                        code=code, reason_zh=reason[0], reason_en=reason[1],
                        considered=considered)

    if diner.kind == "anonymous":
        return refuse("no_credential", reasons.no_credential())
    if diner.suspended:
        return refuse("suspended", reasons.suspended())
    if has_left(diner, business_date):
        return refuse(diner.left, reasons.left(diner.left, diner.left_on))
    if key is None:
        return refuse("outside_meal_period", reasons.outside_meal_period(policy.meal_periods))
    is_ticket = diner.kind == "ticket"
    limit = 1 if is_ticket else policy.meals_per_limit
    if counters.diner_subsidised >= limit:
        return refuse("limit_reached", reasons.limit_reached(
            ticket=is_ticket, limit_per=policy.limit_per, period=period, limit=limit))
    if not is_ticket and policy.per_week is not None and counters.diner_week >= policy.per_week:
        return refuse("weekly_limit_reached", reasons.weekly_limit_reached(policy.per_week))
    gross = order.gross_fen
    if gross == 0:
        return refuse("empty_order", reasons.empty_order())

    considered: list[Consideration] = []
    if not is_ticket:
        considered.append(_consider_age(policy, diner, gross, business_date))
    free_meal, line_index = _consider_free_meal(policy, diner, order, business_date, counters)
    considered.append(free_meal)

    eligible = [c for c in considered if c.eligible and c.amount_fen > 0]
    if not eligible:
        closest = min(considered, key=lambda c: _REFUSAL_ORDER.index(c.code))
        return refuse(closest.code, (closest.reason_zh, closest.reason_en), tuple(considered))
    best = max(eligible, key=lambda c: (c.amount_fen, c.kind == "free_meal"))
    on_line = best.kind == "free_meal"
    return Decision(
        kind=best.kind,
        amount_fen=best.amount_fen,
        applies_to="line" if on_line else "total",
        line_index=line_index if on_line else None,
        rule_id=best.rule_id,
        policy_version=policy.version,
        period=period,
        code=best.code,
        reason_zh=best.reason_zh,
        reason_en=best.reason_en,
        considered=tuple(considered),
    )


def _not_eligible(kind: str, code: str, reason: reasons.Reason,
                  rule_id: str | None = None) -> Consideration:
    return Consideration(kind=kind, eligible=False, amount_fen=0, rule_id=rule_id,
                         code=code, reason_zh=reason[0], reason_en=reason[1])


def _consider_age(policy: PolicyVersion, diner: DinerFacts, gross_fen: int,
                  business_date: date) -> Consideration:
    """The age discount: the highest tier reached on the business date, residents only
    when the policy says so, never more than the order total."""
    if diner.birth_date is None:
        return _not_eligible("age_tier", "no_birth_date", reasons.no_birth_date())
    if diner.birth_date > business_date:
        return _not_eligible("age_tier", "no_birth_date",
                             reasons.birth_date_after(diner.birth_date, business_date))
    age = age_on(diner.birth_date, business_date)
    tier = policy.tier_for(age)
    if tier is None:
        youngest = policy.age_tiers[0].min_age if policy.age_tiers else None
        return _not_eligible("age_tier", "too_young", reasons.too_young(age, youngest))
    if policy.residency_required:
        walk_in = diner.kind == "walk_in"
        counts = policy.walk_in_id_counts_as_resident if walk_in else diner.resident
        if not counts:
            return _not_eligible("age_tier", "not_resident",
                                 reasons.not_resident(walk_in=walk_in), tier.rule_id)
        if not walk_in and expired(diner.residency_verified_until, business_date):
            return _not_eligible("age_tier", "residency_proof_expired",
                                 reasons.residency_proof_expired(diner.residency_verified_until), tier.rule_id)
    amount = min(tier.discount_fen, gross_fen)
    zh, en = reasons.age_tier_granted(tier.min_age, amount, capped=amount < tier.discount_fen)
    return Consideration(kind="age_tier", eligible=True, amount_fen=amount,
                         rule_id=tier.rule_id, code="age_tier", reason_zh=zh, reason_en=en)


def _consider_free_meal(policy: PolicyVersion, diner: DinerFacts, order: Order,
                        business_date: date, counters: Counters
                        ) -> tuple[Consideration, int | None]:
    """The free welfare meal: who may have one, whether any are left today, and which
    line it covers (one unit of the most expensive welfare set meal; first on a tie)."""
    rule = "free_meal"
    if diner.kind == "ticket":
        if diner.ticket_date != business_date:
            return _not_eligible("free_meal", "ticket_wrong_date",
                                 reasons.ticket_wrong_date(diner.ticket_date), rule), None
    elif diner.kind != "registered" or diner.worker_category not in policy.welfare_categories:
        return _not_eligible("free_meal", "not_a_worker",
                             reasons.not_a_worker(walk_in=diner.kind == "walk_in"), rule), None
    elif not diner.worker_verified:
        return _not_eligible("free_meal", "worker_not_verified",
                             reasons.worker_not_verified(), rule), None
    elif expired(diner.worker_verified_until, business_date):
        return _not_eligible("free_meal", "worker_proof_expired",
                             reasons.worker_proof_expired(diner.worker_verified_until), rule), None
    if counters.free_meals_used >= policy.free_meals_per_day:
        return _not_eligible("free_meal", "free_meals_gone", reasons.free_meals_gone(
            counters.free_meals_used, policy.free_meals_per_day), rule), None
    line_index = None
    price = 0
    for i, line in enumerate(order.lines):
        if line.welfare_meal and line.unit_price_fen > price:
            line_index, price = i, line.unit_price_fen
    if line_index is None:
        return _not_eligible("free_meal", "no_welfare_item", reasons.no_welfare_item(), rule), None
    zh, en = reasons.free_meal_granted(price)
    return Consideration(kind="free_meal", eligible=True, amount_fen=price, rule_id=rule,
                         code="free_meal", reason_zh=zh, reason_en=en), line_index
