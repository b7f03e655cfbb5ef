"""Registering a till device and speaking as it, for the lease and device tests."""
from __future__ import annotations

from sqlalchemy import Date, bindparam, text

from support import api_token


def register_device(client, name: str = "1号收银台", supervisor: str = "supervisor") -> dict:
    """Register a till as ``supervisor``; returns the answer (``id``, ``token``…)."""
    r = client.post("/api/v1/devices", json={"name": name}, headers=api_token(client, supervisor))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def device_headers(cashier_headers: dict, device: dict) -> dict:
    """A cashier's headers on the registered till ``device``."""
    return {**cashier_headers, "X-Till-Device": f"{device['id']}:{device['token']}"}


def today(app):
    from pos.clock import business_date

    return business_date(app.config["CANTEEN"].default_canteen.timezone)


def scalar(app, sql: str, **params):
    """One value; ``:today`` is bound to the canteen's business date."""
    if ":today" in sql:
        params["today"] = today(app)
    with app.extensions["canteen_db"].session() as s:
        return s.execute(text(sql).bindparams(*(bindparam(k, type_=Date) for k in params if k == "today")),
                         params).scalar()


#: The day's free-meal books in one statement (one snapshot on either engine): the cap, the
#: counter, the live free-meal grants, the meals granted from leases and those the leases hold.
BOOKS_SQL = (
    "SELECT c.cap, c.used, "
    "(SELECT COUNT(*) FROM subsidy_grants g WHERE g.canteen_id = c.canteen_id AND g.business_date = c.business_date "
    " AND g.kind = 'free_meal' AND g.voided = :no), "
    "(SELECT COALESCE(SUM(l.used), 0) FROM free_meal_leases l WHERE l.canteen_id = c.canteen_id "
    " AND l.business_date = c.business_date), "
    "(SELECT COALESCE(SUM(l.size - l.used - l.returned), 0) FROM free_meal_leases l "
    " WHERE l.canteen_id = c.canteen_id AND l.business_date = c.business_date) "
    "FROM free_meal_counters c WHERE c.canteen_id = :c AND c.business_date = :d")


def books(app, canteen: str = "YLW01") -> tuple[int, int, int, int, int]:
    """(cap, used, granted, used from leases, held by leases) today, read as one snapshot."""
    with app.extensions["canteen_db"].tx() as tx:
        row = tx.one(BOOKS_SQL, {"c": canteen, "d": today(app), "no": False})
    return tuple(row) if row is not None else (None, 0, 0, 0, 0)


def set_used(app, used: int, canteen: str = "YLW01") -> None:
    """The day so far: ``used`` of today's free meals already granted (the counter row)."""
    cap = app.config["CANTEEN"].policy.free_meal_cap(today(app))
    with app.extensions["canteen_db"].tx(write=True) as tx:
        tx.execute("INSERT INTO free_meal_counters (canteen_id, business_date, cap, used) VALUES (:c, :d, :cap, :u) "
                   "ON CONFLICT (canteen_id, business_date) DO UPDATE SET used = :u",
                   {"c": canteen, "d": today(app), "cap": cap, "u": used})


def use_from_lease(app, lease_id: str, canteen: str = "YLW01") -> bool:
    """What recording a free meal granted offline does with the lease."""
    from pos.store import leases

    with app.extensions["canteen_db"].tx(write=True) as tx:
        return leases.use_from_lease(tx, lease_id=lease_id, canteen_id=canteen, business_date=today(app))
