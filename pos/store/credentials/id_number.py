"""A resident ID number typed at the till (or scanned off the card).

The number is validated by :mod:`subsidies.resident_id` and used only to compute the
pseudonym and read the date of birth; it is never stored.  A registered diner with that
number gets their registered facts; anyone else is a walk-in, whose age counts when the
policy lets walk-ins count as residents.
"""
from __future__ import annotations

import re
from datetime import date

from pos.config import Settings
from pos.store.credentials.credential import Credential, diner_by_key, registered
from pos.store.diners import id_refusal
from pos.tx import Tx
from subsidies.bands import band
from subsidies.engine import DinerFacts
from subsidies.resident_id import ResidentIdError, normalise_resident_id, parse_resident_id, pseudonym
from subsidies.vocabulary import Names

NAME = "resident_id"
NAMES = Names("身份证", "resident ID")

# 15-18 characters of digits (and a final X): let the ID check explain what is wrong.
_ID_LIKE = re.compile(r"^[0-9]{14,17}[0-9X]$")


def looks_like(text: str) -> bool:
    """Whether the text looks like a resident ID number (right or mistyped)."""
    return _ID_LIKE.match(normalise_resident_id(text)) is not None


def recognise(text: str, *, settings: Settings) -> str | None:
    """The text, when it looks like a resident ID number (right or mistyped)."""
    return text if looks_like(text) else None


def look_up(tx: Tx, found: str, *, settings: Settings, today: date, canteen_id: str) -> Credential:
    """The credential of a resident ID number.  A bad number is refused
    (``resident_id_<code>``, with the engine's words)."""
    try:
        rid = parse_resident_id(found, today=today)
    except ResidentIdError as e:
        raise id_refusal(e) from None
    key = pseudonym(settings.id_key, rid.number)
    diner = diner_by_key(tx, key)
    if diner is not None:
        return registered(settings, diner, kind=NAME, today=today)
    zh, en = band(settings.policy.in_force_or_none(today), today=today, birth_date=rid.birth_date, walk_in=True)
    return Credential(kind=NAME, facts=DinerFacts(kind="walk_in", birth_date=rid.birth_date, resident=False),
                      diner_key=key, band_zh=zh, band_en=en)
