"""Free-meal leases: a till's share of a day's free welfare meals, to grant while offline.

The daily cap is one row per canteen and business date in free_meal_counters, whose CHECK
keeps ``used <= cap``.  A sale takes one meal from it; a lease takes several at once the
same way,

    UPDATE free_meal_counters SET used = used + :n WHERE ... AND used + :n <= cap

so ``used`` is the meals granted plus the meals leased and not yet used or given back, at
every moment, and "left today" (cap − used) counts the leases with no change to anything
that reads it.  A meal a till grants offline from its lease is not taken from the counter
again (:func:`use_from_lease`): it was counted when it was leased.

A device has one lease a business date, made by its first take: taking again tops it up
to the configured size from what is left; returning gives its unused meals back; day
close and revoking the device end it, giving back what is unused.  ``size`` counts every
meal leased to it, ``used`` those granted from it, ``returned`` those given back, so the
device still holds ``size − used − returned``.

Locks are taken in one order — the canteen's chain, the device, the lease, the counter —
so two of these operations never wait on each other in a circle on PostgreSQL (SQLite
has one writer at a time).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pos.clock import naive_utc
from pos.ids import new_id
from pos.refusal import Refusal
from pos.store import ledger
from pos.store.audit import audit
from pos.tx import Tx


@dataclass(frozen=True)
class Lease:
    """A device's lease on a business date, and the canteen's free meals left that day
    (leases counted).  ``id`` is None when leases are off (``offline.lease_size = 0``)."""

    id: str | None
    device_id: str
    canteen_id: str
    business_date: date
    size: int
    used: int
    returned: int
    left_today: int
    ended: bool = False

    @property
    def outstanding(self) -> int:
        """Meals the device holds: leased, neither granted nor given back."""
        return self.size - self.used - self.returned


def _locked(tx: Tx, sql: str) -> str:
    # SQLite has one writer at a time, so the lock PostgreSQL needs is already held.
    return sql if tx.sqlite else sql + " FOR UPDATE"


def _counter(tx: Tx, canteen_id: str, business_date: date, cap: int) -> tuple[int, int]:
    """The day's counter row (made by the first claim, as a sale makes it): (cap, used)."""
    params = {"c": canteen_id, "d": business_date}
    tx.execute("INSERT INTO free_meal_counters (canteen_id, business_date, cap, used) VALUES (:c, :d, :cap, 0) "
               "ON CONFLICT (canteen_id, business_date) DO NOTHING", {**params, "cap": cap})
    return tx.one("SELECT cap, used FROM free_meal_counters WHERE canteen_id = :c AND business_date = :d", params)


def _take_from_counter(tx: Tx, canteen_id: str, business_date: date, want: int) -> int:
    """Take up to ``want`` of the day's meals, never more than are left; returns how many.
    The UPDATE re-checks the cap on the row it changes, so a sale that took a meal since
    the read makes it fail, and the next turn asks for what is left now."""
    params = {"c": canteen_id, "d": business_date}
    while True:
        cap, used = tx.one("SELECT cap, used FROM free_meal_counters WHERE canteen_id = :c AND business_date = :d",
                           params)
        n = min(want, cap - used)
        if n <= 0:
            return 0
        if tx.one("UPDATE free_meal_counters SET used = used + :n "
                  "WHERE canteen_id = :c AND business_date = :d AND used + :n <= cap RETURNING used",
                  {**params, "n": n}) is not None:
            return n


def _live_device(tx: Tx, device_id: str, canteen_id: str) -> None:
    """Lock the device's row (a revocation waits, or is waited for) and refuse a device
    that is unknown, revoked or of another canteen."""
    row = tx.one(_locked(tx, "SELECT canteen_id, revoked_at FROM till_devices WHERE id = :i"), {"i": device_id})
    if row is None:
        raise device_unknown()
    if row[1] is not None:
        raise device_revoked()
    if row[0] != canteen_id:
        raise device_other_canteen()


def take_lease(tx: Tx, *, device_id: str, canteen_id: str, business_date: date, lease_size: int, cap: int,
               now: datetime, actor, address: str = "") -> Lease:
    """Take (or top up) the device's lease of ``business_date``: it holds ``lease_size``
    meals afterwards, or fewer when fewer are left — 0 is an answer too, the till then
    grants no free meal offline.  ``cap`` is the policy's daily cap on the date (it makes
    the day's counter row when none exists yet).  Refuses a closed date (``day_closed``)
    and a device that is unknown, revoked or of another canteen."""
    ledger.open_chain(tx, canteen_id=canteen_id, business_date=business_date)
    _live_device(tx, device_id, canteen_id)
    if lease_size == 0:
        row = tx.one("SELECT cap, used FROM free_meal_counters WHERE canteen_id = :c AND business_date = :d",
                     {"c": canteen_id, "d": business_date})
        left = row[0] - row[1] if row is not None else cap
        return Lease(None, device_id, canteen_id, business_date, 0, 0, 0, left)
    at = naive_utc(now)
    tx.execute("INSERT INTO free_meal_leases (id, device_id, canteen_id, business_date, size, used, returned, "
               "taken_at) VALUES (:i, :dev, :c, :d, 0, 0, 0, :at) ON CONFLICT (device_id, business_date) DO NOTHING",
               {"i": new_id(), "dev": device_id, "c": canteen_id, "d": business_date, "at": at})
    lease_id, size, used, returned = tx.one(_locked(
        tx, "SELECT id, size, used, returned FROM free_meal_leases WHERE device_id = :dev AND business_date = :d"),
        {"dev": device_id, "d": business_date})
    _counter(tx, canteen_id, business_date, cap)
    added = _take_from_counter(tx, canteen_id, business_date, lease_size - (size - used - returned))
    if added:
        tx.execute("UPDATE free_meal_leases SET size = size + :n WHERE id = :i", {"n": added, "i": lease_id})
        size += added
    day_cap, day_used = tx.one("SELECT cap, used FROM free_meal_counters WHERE canteen_id = :c AND business_date = :d",
                               {"c": canteen_id, "d": business_date})
    if added:
        audit(tx=tx, action="free_meal_lease_taken", actor=actor, canteen_id=canteen_id, target=lease_id,
              address=address, detail={"device_id": device_id, "business_date": business_date, "added": added,
                                       "outstanding": size - used - returned, "left_today": day_cap - day_used})
    return Lease(lease_id, device_id, canteen_id, business_date, size, used, returned, day_cap - day_used)


def use_from_lease(tx: Tx, *, lease_id: str, canteen_id: str, business_date: date) -> bool:
    """Grant one free meal from a lease (a sale the till made offline, being recorded):
    True when the lease still held one.  The counter is not touched — the meal was
    counted when it was leased — and the sale recorded with it is what the audit log
    shows.  A lease of another canteen or date, a returned or an ended one gives none."""
    return tx.one("UPDATE free_meal_leases SET used = used + 1 "
                  "WHERE id = :l AND canteen_id = :c AND business_date = :d AND used + returned < size RETURNING used",
                  {"l": lease_id, "c": canteen_id, "d": business_date}) is not None


def _give_back(tx: Tx, row: tuple, at: datetime, *, end: bool) -> int:
    """Return a locked lease's unused meals to its day's counter; ``end`` also ends it."""
    lease_id, canteen_id, business_date, size, used, returned = row
    unused = size - used - returned
    if unused:
        tx.execute("UPDATE free_meal_counters SET used = used - :n WHERE canteen_id = :c AND business_date = :d",
                   {"n": unused, "c": canteen_id, "d": business_date})
    changes = ["returned = returned + :n", "returned_at = :at"] if unused else []
    changes += ["ended_at = :at"] if end else []
    if changes:
        tx.execute(f"UPDATE free_meal_leases SET {', '.join(changes)} WHERE id = :i",
                   {"n": unused, "at": at, "i": lease_id})
    return unused


_LEASE_COLUMNS = "SELECT id, canteen_id, business_date, size, used, returned FROM free_meal_leases "


def return_lease(tx: Tx, *, lease_id: str, device_id: str, cap: int, now: datetime, actor,
                 address: str = "") -> Lease:
    """Give the lease's unused meals back (the till is online again and its offline sales
    are recorded): they are left today again.  Returning twice gives nothing the second
    time.  Refuses a lease that is not the device's (``lease_unknown``)."""
    row = tx.one(_locked(tx, _LEASE_COLUMNS + "WHERE id = :l AND device_id = :dev"), {"l": lease_id, "dev": device_id})
    if row is None:
        raise Refusal("lease_unknown", "本机没有这份离线名额", "this device holds no such lease")
    given = _give_back(tx, row, naive_utc(now), end=False)
    canteen_id, business_date = row[1], tx.date(row[2])
    if given:
        audit(tx=tx, action="free_meal_lease_returned", actor=actor, canteen_id=canteen_id, target=lease_id,
              address=address, detail={"device_id": device_id, "business_date": business_date, "returned": given})
    return lease_of(tx, device_id=device_id, canteen_id=canteen_id, business_date=business_date, cap=cap)


def end_leases(tx: Tx, *, canteen_id: str, business_date: date, now: datetime, actor, address: str = "") -> int:
    """End every open lease of the date (day close, in its transaction): the unused meals
    go back, so the counter equals the meals granted.  Returns how many went back."""
    rows = tx.all(_locked(tx, _LEASE_COLUMNS + "WHERE canteen_id = :c AND business_date = :d AND ended_at IS NULL "
                                               "ORDER BY id"), {"c": canteen_id, "d": business_date})
    at = naive_utc(now)
    given = sum(_give_back(tx, row, at, end=True) for row in rows)
    if rows:
        audit(tx=tx, action="free_meal_leases_ended", actor=actor, canteen_id=canteen_id,
              target=business_date.isoformat(), address=address, detail={"leases": len(rows), "returned": given})
    return given


def end_device_leases(tx: Tx, *, device_id: str, now: datetime) -> int:
    """End the open leases of a device being revoked (every date still open): the unused
    meals go back at once.  The revocation's audit entry says how many."""
    rows = tx.all(_locked(tx, _LEASE_COLUMNS + "WHERE device_id = :dev AND ended_at IS NULL ORDER BY id"),
                  {"dev": device_id})
    at = naive_utc(now)
    return sum(_give_back(tx, row, at, end=True) for row in rows)


def lease_of(tx: Tx, *, device_id: str, canteen_id: str, business_date: date, cap: int) -> Lease | None:
    """The device's lease of the date (None before its first), with the day's meals left."""
    row = tx.one("SELECT l.id, l.size, l.used, l.returned, l.ended_at, c.cap, c.used FROM free_meal_leases l "
                 "LEFT JOIN free_meal_counters c ON c.canteen_id = l.canteen_id AND c.business_date = l.business_date "
                 "WHERE l.device_id = :dev AND l.business_date = :d", {"dev": device_id, "d": business_date})
    if row is None:
        return None
    left = (row[5] - row[6]) if row[5] is not None else cap
    return Lease(row[0], device_id, canteen_id, business_date, row[1], row[2], row[3], left, row[4] is not None)


def device_unknown() -> Refusal:
    return Refusal("device_unknown", "这台收银机未登记或凭证不对，请主管重新登记",
                   "this till is not registered or its device token is wrong: ask a supervisor to register it")


def device_revoked() -> Refusal:
    return Refusal("device_revoked", "这台收银机已停用，请主管重新登记",
                   "this till has been revoked: ask a supervisor to register it again")


def device_other_canteen() -> Refusal:
    return Refusal("device_other_canteen", "这台收银机登记在别的食堂", "this till is registered to another canteen")
