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
from subsidies.engine import DinerFacts, standing
from subsidies.expiry import verified_until


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
    worker_verified_on: date | None = None
    residency_verified_on: date | None = None
    left_kind: str | None = None
    left_on: date | None = None


_DINER = ("SELECT id, name, id_hmac, birth_date, resident, worker_category, worker_verified_by, suspended, "
          "worker_verified_on, residency_verified_on, left_kind, left_on FROM diners WHERE ")


def _diner(tx: Tx, row: tuple | None) -> DinerRow | None:
    if row is None:
        return None
    diner_id, name, id_hmac, birth, resident, category, verified_by, suspended, worker_on, residency_on, left, left_on = row

    def day(value):
        return tx.date(value) if value is not None else None

    return DinerRow(diner_id, name, id_hmac, tx.date(birth), bool(resident), category, verified_by, bool(suspended),
                    day(worker_on), day(residency_on), left, day(left_on))


def diner_facts(settings: Settings, diner) -> DinerFacts:
    """The rules engine's facts about a registered diner (a :class:`DinerRow` or a
    :class:`pos.models.Diner`): their verifications with the last day each counts
    (``registry.worker_proof_months`` / ``residency_proof_months`` from the day staff saw
    the proof) and a life event that ended their benefits."""
    registry = settings.registry
    verified = diner.worker_verified_by is not None
    return DinerFacts(kind="registered", birth_date=diner.birth_date, resident=diner.resident,
                      worker_category=diner.worker_category, worker_verified=verified, suspended=diner.suspended,
                      worker_verified_until=verified_until(diner.worker_verified_on, registry.worker_proof_months)
                      if verified else None,
                      residency_verified_until=verified_until(diner.residency_verified_on,
                                                              registry.residency_proof_months)
                      if diner.resident else None,
                      left=diner.left_kind if diner.left_on is not None else None,
                      left_on=diner.left_on if diner.left_kind is not None else None)


def diner_by_id(tx: Tx, diner_id: str) -> DinerRow | None:
    """The registered diner with this id, or None."""
    return _diner(tx, tx.one(_DINER + "id = :i", {"i": diner_id}))


def diner_by_key(tx: Tx, key: str) -> DinerRow | None:
    """The registered diner whose resident ID has the pseudonym ``key``."""
    return _diner(tx, tx.one(_DINER + "id_hmac = :k", {"k": key}))


def registered(settings: Settings, diner: DinerRow, *, kind: str, today: date,
               voucher_id: str | None = None) -> Credential:
    """The credential of a registered diner (by voucher or by their resident ID number).
    A suspended diner is not refused here: ``facts.suspended`` lets the engine say why; nor
    one whose proof has expired or who has died or moved away (the banner says so first)."""
    facts = diner_facts(settings, diner)
    zh, en = band(settings.policy.in_force_or_none(today), today=today, birth_date=diner.birth_date,
                  worker_category=diner.worker_category, worker_verified=facts.worker_verified,
                  resident=diner.resident)
    if diner.suspended:
        zh, en = f"已停用 · {zh}", f"suspended · {en}"
    against = standing(facts, today)
    if against is not None:
        _code, (why_zh, why_en) = against
        zh, en = f"{why_zh} · {zh}", f"{why_en} · {en}"
    return Credential(kind=kind, facts=facts, diner_key=diner.id_hmac, diner_id=diner.id, voucher_id=voucher_id,
                      masked_name=mask_name(diner.name), band_zh=zh, band_en=en)
