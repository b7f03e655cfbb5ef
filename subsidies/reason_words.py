"""The reasons of :mod:`subsidies.reasons` as templates with named blanks, for a port of the
engine that must say the same words to the letter (the till's ``pos/web/static/decide.js``,
which decides while the network is down).

The words are not copied: each template is taken from ``reasons.py`` itself, by asking for
the reason with marker values and putting a blank (``{amount}``, ``{until}``…) where each
marker appears.  A port fills the blanks — ``{amount}`` with the yuan of integer fen,
dates as ``YYYY-MM-DD``, ``{name}`` and ``{period}`` with the meal period's name from
``meal_period_names`` — and picks the variant the engine picks.
"""
from __future__ import annotations

import re
from datetime import date, time

from subsidies import reasons
from subsidies.money import yuan
from subsidies.policy import MealPeriod
from subsidies.vocabulary import MEAL_PERIOD_NAMES

# Marker values that cannot occur in the words themselves; each becomes the blank of its name.
_NUMBERS = {"min_age": 97101, "age": 97102, "youngest": 97103, "used": 97104, "per_day": 97105,
            "limit": 97106, "per_week": 97107}
_AMOUNT = 9876543201
_DATES = {"birth_date": date(1901, 2, 3), "business_date": date(1902, 3, 4), "until": date(1903, 4, 5),
          "ticket_date": date(1904, 5, 6), "on": date(1905, 6, 7)}
_PERIOD = "@period@"
N, D = _NUMBERS, _DATES

_CALLS = {
    "age_tier_granted": lambda: reasons.age_tier_granted(N["min_age"], _AMOUNT, capped=False),
    "age_tier_granted_capped": lambda: reasons.age_tier_granted(N["min_age"], _AMOUNT, capped=True),
    "free_meal_granted": lambda: reasons.free_meal_granted(_AMOUNT),
    "no_birth_date": reasons.no_birth_date,
    "birth_date_after": lambda: reasons.birth_date_after(D["birth_date"], D["business_date"]),
    "too_young": lambda: reasons.too_young(N["age"], N["youngest"]),
    "no_age_tiers": lambda: reasons.too_young(N["age"], None),
    "not_resident": lambda: reasons.not_resident(walk_in=False),
    "not_resident_walk_in": lambda: reasons.not_resident(walk_in=True),
    "not_a_worker": lambda: reasons.not_a_worker(walk_in=False),
    "not_a_worker_walk_in": lambda: reasons.not_a_worker(walk_in=True),
    "worker_not_verified": reasons.worker_not_verified,
    "worker_proof_expired": lambda: reasons.worker_proof_expired(D["until"]),
    "worker_proof_expired_undated": lambda: reasons.worker_proof_expired(None),
    "residency_proof_expired": lambda: reasons.residency_proof_expired(D["until"]),
    "residency_proof_expired_undated": lambda: reasons.residency_proof_expired(None),
    "ticket_wrong_date": lambda: reasons.ticket_wrong_date(D["ticket_date"]),
    "ticket_undated": lambda: reasons.ticket_wrong_date(None),
    "no_welfare_item": reasons.no_welfare_item,
    "free_meals_gone": lambda: reasons.free_meals_gone(N["used"], N["per_day"]),
    "no_credential": reasons.no_credential,
    "suspended": reasons.suspended,
    "deceased": lambda: reasons.left("deceased", D["on"]),
    "moved_away": lambda: reasons.left("moved_away", D["on"]),
    "ticket_used": lambda: reasons.limit_reached(ticket=True, limit_per="day", period="", limit=1),
    "limit_reached_day": lambda: reasons.limit_reached(ticket=False, limit_per="day", period="", limit=N["limit"]),
    "limit_reached_period": lambda: reasons.limit_reached(ticket=False, limit_per="period", period=_PERIOD,
                                                          limit=N["limit"]),
    "weekly_limit_reached": lambda: reasons.weekly_limit_reached(N["per_week"]),
    "empty_order": reasons.empty_order,
}


def _blanks(text: str) -> str:
    if "{" in text or "}" in text:
        raise ValueError(f"a reason may not contain braces, the templates' blanks: {text!r}")
    text = text.replace(yuan(_AMOUNT), "{amount}").replace(_PERIOD, "{period}")
    for name, day in _DATES.items():
        text = text.replace(day.isoformat(), "{%s}" % name)
    for name, number in _NUMBERS.items():
        text = text.replace(str(number), "{%s}" % name)
    return text


# Two marked periods show the words around the list, one period's words and what joins them.
_P1 = MealPeriod("@p1@", time(1, 2), time(3, 4))
_P2 = MealPeriod("@p2@", time(5, 6), time(7, 8))


def _period_list(text: str) -> tuple[str, str, str]:
    """``(the sentence with {periods}, one period with {name} {start} {end}, the separator)``."""
    found = re.fullmatch(r"(.*)(@p1@.*03:04)(.*)(@p2@.*07:08)(.*)", text, re.S)
    if found is None:
        raise ValueError(f"cannot find the meal periods in {text!r}")
    head, first, joint, second, tail = found.groups()
    item = first.replace("@p1@", "{name}").replace("01:02", "{start}").replace("03:04", "{end}")
    if second.replace("@p2@", "{name}").replace("05:06", "{start}").replace("07:08", "{end}") != item:
        raise ValueError(f"the meal periods are not listed alike in {text!r}")
    return _blanks(head) + "{periods}" + _blanks(tail), item, joint


def rules_words() -> dict:
    """Every reason as ``{key: [zh, en]}`` with blanks, the words of the list of meal periods,
    and the names of the usual meal periods."""
    words = {key: [_blanks(text) for text in call()] for key, call in _CALLS.items()}
    zh, en = reasons.outside_meal_period((_P1, _P2))
    (zh, zh_item, zh_joint), (en, en_item, en_joint) = _period_list(zh), _period_list(en)
    words["outside_meal_period"] = [zh, en]
    words["meal_period"] = [zh_item, en_item]
    words["meal_period_separator"] = [zh_joint, en_joint]
    return {
        "reasons": words,
        "meal_period_names": {code: [n.zh, n.en] for code, n in MEAL_PERIOD_NAMES.items()},
    }
