"""Free-meal leases: while online a till holds a few of today's free meals, never more than
are left, counted in "left today"; offline it grants only from them; what it did not use
goes back when it returns the lease, when it is revoked and at day close.  On SQLite and
PostgreSQL, through the API the till uses."""
from __future__ import annotations

from dataclasses import replace

import pytest

from till.device_helpers import books, device_headers, register_device, scalar, set_used, today, use_from_lease
from pos.config import OfflineConfig
from support import api_token


@pytest.fixture
def device(client):
    return register_device(client)


@pytest.fixture
def on_device(till, device):
    """The demo cashier's headers on the registered till."""
    return device_headers(till.headers, device)


def take(client, headers) -> dict:
    r = client.post("/api/v1/devices/lease", headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def give_back(client, headers, lease_id: str) -> dict:
    r = client.post("/api/v1/devices/lease/return", json={"lease_id": lease_id}, headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


@pytest.mark.parametrize("left, lease_size, held", [
    (40, 5, 5),   # plenty left: the configured size
    (6, 5, 5),
    (5, 5, 5),    # exactly the size left: all of it
    (3, 5, 3),    # fewer left than the size: only what is left
    (1, 5, 1),
    (0, 5, 0),    # none left: a lease of none (the till grants no free meal offline)
    (40, 40, 40),
])
def test_a_lease_holds_the_configured_size_but_never_more_than_are_left(app, client, on_device, left, lease_size,
                                                                        held):
    app.config["CANTEEN"] = replace(app.config["CANTEEN"], offline=OfflineConfig(lease_size=lease_size))
    set_used(app, 40 - left)
    lease = take(client, on_device)
    assert (lease["size"], lease["outstanding"], lease["used"], lease["returned"]) == (held, held, 0, 0)
    assert lease["left_today"] == left - held
    cap, used, *_ = books(app)
    assert used == 40 - left + held <= cap == 40


def test_with_lease_size_0_a_till_holds_no_lease(app, client, on_device):
    app.config["CANTEEN"] = replace(app.config["CANTEEN"], offline=OfflineConfig(lease_size=0))
    lease = take(client, on_device)
    assert lease["lease_id"] is None and lease["size"] == lease["outstanding"] == 0
    assert lease["left_today"] == 40
    assert scalar(app, "SELECT COUNT(*) FROM free_meal_leases") == 0


def test_taking_again_tops_the_lease_up_to_its_size_from_what_is_left(app, client, on_device):
    first = take(client, on_device)
    assert (first["size"], first["left_today"]) == (5, 35)
    again = take(client, on_device)  # nothing used: nothing more to take
    assert (again["lease_id"], again["size"], again["left_today"]) == (first["lease_id"], 5, 35)
    assert use_from_lease(app, first["lease_id"]) and use_from_lease(app, first["lease_id"])
    topped = take(client, on_device)  # two granted offline: two more, so it holds 5 again
    assert (topped["lease_id"], topped["size"], topped["used"], topped["outstanding"]) == (first["lease_id"], 7, 2, 5)
    assert topped["left_today"] == 33
    assert scalar(app, "SELECT COUNT(*) FROM free_meal_leases") == 1  # one lease a device and date
    set_used(app, 39)  # the other tills granted all but one meal meanwhile
    assert use_from_lease(app, first["lease_id"]) and use_from_lease(app, first["lease_id"])
    last = take(client, on_device)
    assert (last["size"], last["outstanding"], last["left_today"]) == (8, 4, 0)


def test_leases_count_in_the_free_meals_left_the_till_back_office_and_public_page_show(app, client, till, on_device,
                                                                                       workers):
    take(client, on_device)
    quota = client.get("/api/v1/quota/today", headers=till.headers).get_json()
    assert quota["free_meals"] == {"cap": 40, "used": 5, "left": 35}
    live = client.get("/today/YLW01/live.json")
    if live.status_code != 404:  # the public screen, where it is installed
        assert live.get_json()["free_meals_left"] == 35
    # An online sale of a free meal takes the 6th; the lease is not touched.
    worker_sale = till.sell([{"item_id": till.welfare["id"], "qty": 1}], {"id_number": workers[0]})
    assert worker_sale.status_code == 201 and worker_sale.get_json()["subsidy"]["kind"] == "free_meal"
    assert books(app) == (40, 6, 1, 0, 5)


def test_using_from_a_lease_never_goes_beyond_it(app, client, on_device):
    lease = take(client, on_device)
    granted = [use_from_lease(app, lease["lease_id"]) for _ in range(8)]
    assert granted == [True] * 5 + [False] * 3
    assert books(app) == (40, 5, 0, 5, 0)  # counted once, when leased
    # Only for its own canteen and date.
    from pos.store import leases

    with app.extensions["canteen_db"].tx(write=True) as tx:
        assert not leases.use_from_lease(tx, lease_id=lease["lease_id"], canteen_id="JM01", business_date=today(app))


def test_returning_gives_back_exactly_the_unused_meals_once(app, client, on_device):
    lease = take(client, on_device)
    assert use_from_lease(app, lease["lease_id"]) and use_from_lease(app, lease["lease_id"])
    back = give_back(client, on_device, lease["lease_id"])
    assert (back["size"], back["used"], back["returned"], back["outstanding"], back["left_today"]) == (5, 2, 3, 0, 38)
    assert give_back(client, on_device, lease["lease_id"])["returned"] == 3  # nothing more the second time
    assert books(app) == (40, 2, 0, 2, 0)
    assert not use_from_lease(app, lease["lease_id"])  # a returned meal is no longer held
    assert scalar(app, "SELECT COUNT(*) FROM audit_log WHERE action = 'free_meal_lease_returned'") == 1
    again = take(client, on_device)  # online again later: the same lease, topped up
    assert again["lease_id"] == lease["lease_id"]
    assert (again["size"], again["outstanding"], again["left_today"]) == (10, 5, 33)


def test_a_device_returns_only_its_own_lease(app, client, till, on_device):
    lease = take(client, on_device)
    other = device_headers(till.headers, register_device(client, "2号收银台"))
    r = client.post("/api/v1/devices/lease/return", json={"lease_id": lease["lease_id"]}, headers=other)
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "lease_unknown"
    assert books(app)[1] == 5


def test_day_close_ends_the_leases_and_the_counter_then_equals_the_free_meal_grants(app, client, till, on_device,
                                                                                   workers):
    second = device_headers(till.headers, register_device(client, "2号收银台"))
    welfare = [{"item_id": till.welfare["id"], "qty": 1}]
    for number in workers[:2]:
        assert till.sell(welfare, {"id_number": number}).status_code == 201
    take(client, on_device)
    take(client, second)
    assert books(app) == (40, 12, 2, 0, 10)
    shift = client.get("/api/v1/shifts/current", headers=till.headers).get_json()["shift"]
    r = client.post(f"/api/v1/shifts/{shift['id']}/close", json={"counted_cash_fen": shift["opening_float_fen"]},
                    headers=till.headers)
    assert r.status_code == 200, r.get_json()
    closed = client.post("/api/v1/day-close", json={"business_date": today(app).isoformat()},
                         headers=api_token(client, "supervisor"))
    assert closed.status_code == 201, closed.get_json()
    checks = {c["code"]: c["ok"] for c in closed.get_json()["checks"]}
    assert checks["free_meal_counter"] and checks["free_meal_cap"]
    assert books(app) == (40, 2, 2, 0, 0)
    assert scalar(app, "SELECT COUNT(*) FROM free_meal_leases WHERE ended_at IS NULL") == 0
    r = client.post("/api/v1/devices/lease", headers=on_device)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "day_closed"


def test_a_revoked_devices_lease_returns_at_once_and_it_can_take_no_other(app, client, device, on_device):
    lease = take(client, on_device)
    assert use_from_lease(app, lease["lease_id"])
    r = client.post(f"/api/v1/devices/{device['id']}/revoke", headers=api_token(client, "supervisor"))
    assert r.status_code == 200 and r.get_json()["live"] is False
    assert books(app) == (40, 1, 0, 1, 0)
    r = client.post("/api/v1/devices/lease", headers=on_device)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "device_revoked"
    assert books(app)[1] == 1


@pytest.mark.parametrize("value, words", [
    ("41", "offline.lease_size must be 0 to 40 free meals (0: no leases), got 41"),
    ("-1", "offline.lease_size must be a whole number of meals >= 0, got -1"),
    ('"5"', "offline.lease_size must be a whole number of meals >= 0, got '5'"),
    ("5\nsize = 3", "offline.size is not a known setting"),
])
def test_a_wrong_lease_size_stops_start_up_with_one_line_naming_the_key(tmp_path, value, words):
    from pos.config import ConfigError, load_settings
    from support import ROOT

    path = tmp_path / "config.toml"
    shipped = (ROOT / "config.toml").read_text(encoding="utf-8")
    path.write_text(shipped.replace("lease_size = 5", f"lease_size = {value}"), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_settings(path, env={"CANTEEN_ENV": "development"})
    assert words in str(e.value) and "\n" not in str(e.value)


def test_leases_default_to_5_meals_when_the_config_has_no_offline_table(tmp_path):
    from pos.config import load_settings
    from support import ROOT

    shipped = (ROOT / "config.toml").read_text(encoding="utf-8")
    path = tmp_path / "config.toml"
    path.write_text(shipped.replace("[offline]", "").replace("lease_size = 5", ""), encoding="utf-8")
    assert load_settings(path, env={"CANTEEN_ENV": "development"}).offline.lease_size == 5
