"""Till devices: each tablet that sells, offline too, is registered to one canteen.

A supervisor (or an admin) registers a till by name ("1号收银台") and is shown its secret
once; the till sends ``<id>:<secret>`` with every call that concerns the device (its
free-meal lease, its heartbeat).  Only the SHA-256 of the secret is stored.  Revoking a
device (a lost tablet) refuses it from then on and gives back the free meals its leases
still hold (:mod:`pos.store.leases`).  A heartbeat records when the device was last seen,
how many offline sales it says it holds, and — when it holds none — that it was in sync.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from pos.clock import naive_utc
from pos.ids import new_id
from pos.refusal import Refusal
from pos.store import leases
from pos.store.audit import audit
from pos.tx import Tx

MAX_NAME = 40
#: More offline sales than a till could make in a day: a bigger count is a broken till.
MAX_QUEUED = 100_000

device_unknown, device_revoked, device_other_canteen = (leases.device_unknown, leases.device_revoked,
                                                        leases.device_other_canteen)


@dataclass(frozen=True)
class Device:
    """A registered till; ``outstanding`` is what its lease holds on the date it was read for."""

    id: str
    canteen_id: str
    name: str
    registered_at: datetime
    revoked_at: datetime | None
    last_seen_at: datetime | None
    last_sync_at: datetime | None
    queued: int
    outstanding: int = 0

    @property
    def live(self) -> bool:
        return self.revoked_at is None


_COLUMNS = "d.id, d.canteen_id, d.name, d.registered_at, d.revoked_at, d.last_seen_at, d.last_sync_at, d.queued"


def _device(tx: Tx, row: tuple, outstanding: int = 0) -> Device:
    return Device(row[0], row[1], row[2], tx.datetime(row[3]), tx.datetime(row[4]), tx.datetime(row[5]),
                  tx.datetime(row[6]), row[7], outstanding)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def register(tx: Tx, *, canteen_id: str, name: str, actor, now: datetime, address: str = "") -> tuple[str, Device]:
    """Register a till for the canteen; returns its secret (shown this once) and the
    device.  Refuses an empty or over-long name (``invalid_device_name``) and the name of
    another live till of the canteen (``device_name_taken``)."""
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise Refusal("invalid_device_name", f"收银机名称须为 1 到 {MAX_NAME} 个字",
                      f"a till's name must be 1 to {MAX_NAME} characters")
    secret = secrets.token_urlsafe(32)
    at = naive_utc(now)
    made = tx.one("INSERT INTO till_devices (id, canteen_id, name, token_hash, registered_by, registered_at, queued) "
                  "VALUES (:i, :c, :n, :h, :by, :at, 0) ON CONFLICT DO NOTHING RETURNING id",
                  {"i": new_id(), "c": canteen_id, "n": name, "h": _digest(secret), "by": actor.id, "at": at})
    if made is None:  # the one live name per canteen (the secret is new, so it cannot collide)
        raise Refusal("device_name_taken", f"本食堂已有名为“{name}”的收银机",
                      f"this canteen already has a till named {name}")
    audit(tx=tx, action="device_registered", actor=actor, canteen_id=canteen_id, target=made[0], address=address,
          detail={"name": name})
    return secret, get_device(tx, device_id=made[0])


def get_device(tx: Tx, *, device_id: str, business_date: date | None = None) -> Device | None:
    """The device, with what its lease of ``business_date`` holds (none without a date)."""
    row = tx.one(f"SELECT {_COLUMNS}, COALESCE(l.size - l.used - l.returned, 0) FROM till_devices d "
                 "LEFT JOIN free_meal_leases l ON l.device_id = d.id AND l.business_date = :b WHERE d.id = :i",
                 {"i": device_id, "b": business_date})
    return _device(tx, row[:8], row[8]) if row is not None else None


def authenticate(tx: Tx, *, presented: str) -> Device:
    """The live device that sent ``<id>:<secret>``; refuses a wrong or unknown one
    (``device_unknown``) and a revoked one (``device_revoked``)."""
    device_id, _, secret = presented.strip().partition(":")
    row = tx.one(f"SELECT {_COLUMNS}, d.token_hash FROM till_devices d WHERE d.id = :i",
                 {"i": device_id[:64]}) if device_id and secret else None
    if row is None or not hmac.compare_digest(row[8], _digest(secret)):
        raise device_unknown()
    if row[4] is not None:
        raise device_revoked()
    return _device(tx, row)


def revoke(tx: Tx, *, device_id: str, actor, now: datetime, address: str = "") -> Device:
    """Stop a device: refused from now on; the free meals its leases hold go back at once.
    Refuses an unknown device (``device_not_found``) and a second revocation
    (``device_already_revoked``)."""
    at = naive_utc(now)
    done = tx.one("UPDATE till_devices SET revoked_at = :at, revoked_by = :by WHERE id = :i AND revoked_at IS NULL "
                  "RETURNING canteen_id", {"at": at, "by": actor.id, "i": device_id})
    if done is None:
        if get_device(tx, device_id=device_id) is None:
            raise Refusal("device_not_found", "没有这台收银机", "no such till")
        raise Refusal("device_already_revoked", "这台收银机已经停用", "this till is already revoked")
    given = leases.end_device_leases(tx, device_id=device_id, now=now)
    audit(tx=tx, action="device_revoked", actor=actor, canteen_id=done[0], target=device_id, address=address,
          detail={"free_meals_returned": given})
    return get_device(tx, device_id=device_id)


def heartbeat(tx: Tx, *, device_id: str, queued: int, now: datetime, business_date: date) -> Device:
    """Record that the device is online now and holds ``queued`` offline sales not yet
    recorded; with none, it is in sync now.  Not audited: a till beats every minute or so,
    and it changes nothing but these figures."""
    if not 0 <= queued <= MAX_QUEUED:
        raise Refusal("invalid_queued", "待同步笔数无效", f"queued must be 0 to {MAX_QUEUED}")
    at = naive_utc(now)
    sync = ", last_sync_at = :at" if queued == 0 else ""
    if tx.one(f"UPDATE till_devices SET last_seen_at = :at, queued = :q{sync} WHERE id = :i AND revoked_at IS NULL "
              "RETURNING id", {"at": at, "q": queued, "i": device_id}) is None:
        raise device_revoked()
    return get_device(tx, device_id=device_id, business_date=business_date)


def devices_of(tx: Tx, *, canteen_id: str, business_date: date) -> list[Device]:
    """The canteen's tills, live ones first (by name), each with what its lease of
    ``business_date`` holds."""
    rows = tx.all(f"SELECT {_COLUMNS}, COALESCE(l.size - l.used - l.returned, 0) FROM till_devices d "
                  "LEFT JOIN free_meal_leases l ON l.device_id = d.id AND l.business_date = :b "
                  "WHERE d.canteen_id = :c ORDER BY CASE WHEN d.revoked_at IS NULL THEN 0 ELSE 1 END, d.name, d.id",
                  {"c": canteen_id, "b": business_date})
    return [_device(tx, row[:8], row[8]) for row in rows]
