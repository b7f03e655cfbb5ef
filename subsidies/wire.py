"""The rules' data as plain JSON: what the server sends a till as "the policy in force", and
what a port of the engine (the till's ``pos/web/static/decide.js``) reads and answers.

Dates are ISO (``2026-03-01``), times ``HH:MM:SS`` in the canteen's local time, money
integer fen, and every field keeps the name it has in :mod:`subsidies.engine` and
:mod:`subsidies.policy`.  ``X_from_json(X_to_json(x)) == x`` for each kind of object.

Reading is strict, because a till deciding offline must never guess: an unknown key, a
missing required key or a value of the wrong type raises :class:`WireError` naming the
field (``diner.birth_date``); a field with a default may be left out.
"""
from __future__ import annotations

import re
from dataclasses import MISSING, fields
from datetime import date, time
from typing import Any, Callable

from subsidies.engine import Consideration, Counters, Decision, DinerFacts, Order, OrderLine
from subsidies.policy import AgeTier, MealPeriod, PolicyError, PolicyVersion
from subsidies.vocabulary import WORKER_CATEGORIES


class WireError(ValueError):
    """JSON that is not the plain form of the rules' data; the message names the field."""


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{2}:\d{2}:\d{2}")


def date_to_json(day: date | None) -> str | None:
    """``2026-03-01``, or None."""
    return day.isoformat() if day is not None else None


def time_to_json(moment: time) -> str:
    """``12:00:00``.  A fraction of a second is dropped: meal periods are whole seconds
    (:func:`policy_to_json` refuses any other), so dropping it changes no decision."""
    return moment.strftime("%H:%M:%S")


def _date(value: Any, where: str) -> date:
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise WireError(f"{where} must be a date YYYY-MM-DD, got {value!r}")


def _time(value: Any, where: str) -> time:
    if isinstance(value, str) and _TIME.fullmatch(value):
        try:
            return time.fromisoformat(value)
        except ValueError:
            pass
    raise WireError(f"{where} must be a time HH:MM:SS, got {value!r}")


def _optional(read: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    return lambda value, where: None if value is None else read(value, where)


def _of(kind: type) -> Callable[[Any, str], Any]:
    def read(value: Any, where: str) -> Any:
        # bool is an int in Python; a JSON true is never a count, nor 1 a flag
        if type(value) is not kind:
            raise WireError(f"{where} must be {_KIND_NAMES[kind]}, got {value!r}")
        return value
    return read


_KIND_NAMES = {int: "a whole number", bool: "true or false", str: "text"}
_INT, _BOOL, _STR = _of(int), _of(bool), _of(str)


def _list(read: Callable[[Any, str], Any]) -> Callable[[Any, str], tuple]:
    def read_all(value: Any, where: str) -> tuple:
        if not isinstance(value, list):
            raise WireError(f"{where} must be a list, got {value!r}")
        return tuple(read(item, f"{where}[{i}]") for i, item in enumerate(value))
    return read_all


def _read(cls: type, data: Any, where: str, readers: dict[str, Callable[[Any, str], Any]]) -> Any:
    """Build ``cls`` from a JSON object, each field through its reader; the dataclass's own
    checks still run, and what they refuse becomes a WireError naming ``where``."""
    if not isinstance(data, dict):
        raise WireError(f"{where} must be an object, got {data!r}")
    known = {f.name: f for f in fields(cls) if f.name in readers}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise WireError(f"{where} has unknown keys: {', '.join(unknown)}")
    values = {}
    for name, f in known.items():
        if name in data:
            values[name] = readers[name](data[name], f"{where}.{name}")
        elif f.default is MISSING and f.default_factory is MISSING:
            raise WireError(f"{where}.{name} is missing")
    try:
        return cls(**values)
    except (PolicyError, ValueError) as e:
        raise WireError(f"{where}: {e}") from None


# -- the policy version ------------------------------------------------------------------------

def policy_to_json(policy: PolicyVersion) -> dict:
    """The policy version as the till receives it (welfare categories in the vocabulary's order)."""
    for period in policy.meal_periods:
        if period.start.microsecond or period.end.microsecond:
            raise WireError(f"meal period {period.name!r} must start and end on a whole second")
    return {
        "version": policy.version,
        "effective_from": date_to_json(policy.effective_from),
        "age_tiers": [{"min_age": t.min_age, "discount_fen": t.discount_fen} for t in policy.age_tiers],
        "residency_required": policy.residency_required,
        "walk_in_id_counts_as_resident": policy.walk_in_id_counts_as_resident,
        "welfare_categories": [c for c in WORKER_CATEGORIES if c in policy.welfare_categories],
        "free_meals_per_day": policy.free_meals_per_day,
        "limit_per": policy.limit_per,
        "meals_per_limit": policy.meals_per_limit,
        "meal_periods": [{"name": p.name, "start": time_to_json(p.start), "end": time_to_json(p.end)}
                         for p in policy.meal_periods],
        "per_week": policy.per_week,
    }


def _tier(value: Any, where: str) -> AgeTier:
    return _read(AgeTier, value, where, {"min_age": _INT, "discount_fen": _INT})


def _period(value: Any, where: str) -> MealPeriod:
    return _read(MealPeriod, value, where, {"name": _STR, "start": _time, "end": _time})


def policy_from_json(data: Any) -> PolicyVersion:
    """The policy version back from its JSON form; it checks itself as when it is configured."""
    return _read(PolicyVersion, data, "policy", {
        "version": _STR, "effective_from": _date, "age_tiers": _list(_tier),
        "residency_required": _BOOL, "walk_in_id_counts_as_resident": _BOOL,
        "welfare_categories": _list(_STR), "free_meals_per_day": _INT, "limit_per": _STR,
        "meals_per_limit": _INT, "meal_periods": _list(_period), "per_week": _optional(_INT),
    })


# -- the facts of one order ----------------------------------------------------------------------

_DINER_DATES = ("birth_date", "ticket_date", "worker_verified_until", "residency_verified_until", "left_on")


def diner_to_json(diner: DinerFacts) -> dict:
    """What the till knows about the person paying, every field named."""
    data = {f.name: getattr(diner, f.name) for f in fields(DinerFacts)}
    data.update({name: date_to_json(data[name]) for name in _DINER_DATES})
    return data


def diner_from_json(data: Any) -> DinerFacts:
    readers = {name: _optional(_date) for name in _DINER_DATES}
    readers.update(kind=_STR, resident=_BOOL, worker_category=_optional(_STR), worker_verified=_BOOL,
                   suspended=_BOOL, left=_optional(_STR))
    return _read(DinerFacts, data, "diner", readers)


def order_to_json(order: Order) -> dict:
    """The order's lines: ``item_id``, ``name``, ``unit_price_fen``, ``qty``, ``welfare_meal``."""
    return {"lines": [{f.name: getattr(line, f.name) for f in fields(OrderLine)} for line in order.lines]}


def _line(value: Any, where: str) -> OrderLine:
    return _read(OrderLine, value, where, {"item_id": _INT, "name": _STR, "unit_price_fen": _INT, "qty": _INT,
                                           "welfare_meal": _BOOL})


def order_from_json(data: Any) -> Order:
    return _read(Order, data, "order", {"lines": _list(_line)})


def counters_to_json(counters: Counters) -> dict:
    """Today's counts: ``free_meals_used``, ``diner_subsidised``, ``diner_week``."""
    return {f.name: getattr(counters, f.name) for f in fields(Counters)}


def counters_from_json(data: Any) -> Counters:
    return _read(Counters, data, "counters", {f.name: _INT for f in fields(Counters)})


# -- the decision ----------------------------------------------------------------------------------

def decision_to_json(decision: Decision) -> dict:
    """The decision as the API answers it (:meth:`Decision.as_dict`, with ``granted``)."""
    return decision.as_dict()


def _consideration(value: Any, where: str) -> Consideration:
    return _read(Consideration, value, where, {
        "kind": _STR, "eligible": _BOOL, "amount_fen": _INT, "rule_id": _optional(_STR), "code": _STR,
        "reason_zh": _STR, "reason_en": _STR})


def decision_from_json(data: Any) -> Decision:
    """The decision back from its JSON form; ``granted``, when present, must agree with it."""
    if not isinstance(data, dict):
        raise WireError(f"decision must be an object, got {data!r}")
    rest = {k: v for k, v in data.items() if k != "granted"}
    decision = _read(Decision, rest, "decision", {
        "kind": _optional(_STR), "amount_fen": _INT, "applies_to": _STR, "line_index": _optional(_INT),
        "rule_id": _optional(_STR), "policy_version": _STR, "period": _STR, "code": _STR,
        "reason_zh": _STR, "reason_en": _STR, "considered": _list(_consideration)})
    if "granted" in data and data["granted"] is not decision.granted:
        raise WireError(f"decision.granted is {data['granted']!r}, but the decision says {decision.granted!r}")
    return decision


def business_date_from_json(value: Any) -> date:
    """A business date, ``YYYY-MM-DD``."""
    return _date(value, "business_date")


def local_time_from_json(value: Any) -> time:
    """A local time, ``HH:MM:SS``."""
    return _time(value, "local_time")
