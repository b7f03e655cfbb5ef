"""What every kind of credential gives the sale: a :class:`Credential`.

A credential is who is paying, as far as the subsidy is concerned: the facts the rules
engine decides on (:class:`subsidies.engine.DinerFacts`), the key of the one-meal-a-day
limit, and what the cashier may see — a masked name and a benefit band.  Registered
diners reach the till by voucher or by their resident ID number; both become the same
credential through :func:`registered`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from pos.config import Settings
from pos.store.diners import mask_name
from pos.tx import Tx
from subsidies.bands import band
from subsidies.engine import DinerFacts


class CredentialRequest(NamedTuple):
    """What the till sends: what the scanner or camera typed (``scan``), or a resident ID
    number typed on the keypad (``id_number``) — exactly one of them."""

    scan: str | None = None
    id_number: str | None = None


@dataclass(frozen=True)
class Credential:
    """Who is paying, as far as the subsidy is concerned.

    ``kind`` is how they identified themselves (a kind's ``NAME``: ``voucher``,
    ``resident_id``, ``ticket``); ``facts`` is what the rules engine decides on.
    ``diner_key`` is the key of the one-meal-a-day limit: the diner's pseudonym (HMAC of
    the resident ID) or ``ticket:<id>``.  ``band_zh``/``band_en`` is what the cashier
    sees, e.g. "80岁以上".  Never the ID number, the pseudonym's source or a full name.
    """

    kind: str
    facts: DinerFacts
    diner_key: str | None = None
    diner_id: str | None = None
    ticket_id: str | None = None
    voucher_id: str | None = None
    masked_name: str = ""
    band_zh: str = ""
    band_en: str = ""


class DinerRow(NamedTuple):
    """The columns of a registered diner a credential is made from."""

    id: str
    name: str
    id_hmac: str
    birth_date: date
    resident: bool
    worker_category: str | None
    worker_verified_by: str | None
    suspended: bool


_DINER = ("SELECT id, name, id_hmac, birth_date, resident, worker_category, worker_verified_by, suspended "
          "FROM diners WHERE ")


def _diner(tx: Tx, row: tuple | None) -> DinerRow | None:
    if row is None:
        return None
    diner_id, name, id_hmac, birth, resident, category, verified_by, suspended = row
    return DinerRow(diner_id, name, id_hmac, tx.date(birth), bool(resident), category, verified_by, bool(suspended))


def diner_by_id(tx: Tx, diner_id: str) -> DinerRow | None:
    """The registered diner with this id, or None."""
    return _diner(tx, tx.one(_DINER + "id = :i", {"i": diner_id}))


def diner_by_key(tx: Tx, key: str) -> DinerRow | None:
    """The registered diner whose resident ID has the pseudonym ``key``."""
    return _diner(tx, tx.one(_DINER + "id_hmac = :k", {"k": key}))


def registered(settings: Settings, diner: DinerRow, *, kind: str, today: date,
               voucher_id: str | None = None) -> Credential:
    """The credential of a registered diner (by voucher or by their resident ID number).
    A suspended diner is not refused here: ``facts.suspended`` lets the engine say why."""
    facts = DinerFacts(kind="registered", birth_date=diner.birth_date, resident=diner.resident,
                       worker_category=diner.worker_category, worker_verified=diner.worker_verified_by is not None,
                       suspended=diner.suspended)
    zh, en = band(settings.policy.in_force_or_none(today), today=today, birth_date=diner.birth_date,
                  worker_category=diner.worker_category, worker_verified=facts.worker_verified,
                  resident=diner.resident)
    if diner.suspended:
        zh, en = f"已停用 · {zh}", f"suspended · {en}"
    return Credential(kind=kind, facts=facts, diner_key=diner.id_hmac, diner_id=diner.id, voucher_id=voucher_id,
                      masked_name=mask_name(diner.name), band_zh=zh, band_en=en)
