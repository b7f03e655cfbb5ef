"""Three tills, each holding a lease of 5 free meals, lose the network with 30 outdoor workers
queueing, 10 at each, every one with a voucher; on SQLite and PostgreSQL.  Each till gives the
first five of its queue a free meal out of its lease and refuses the other five (the till says
本机离线名额已用完: tests/browser/test_till_twenty_offline_meals.py shows it); those five pay the
welfare meal's menu price.  On reconnect the three tills sync at the same time, exactly as the
till does (POST /api/v1/sales with the `offline` object and the lease it granted from), then
return their leases.  Exactly 15 free meals are granted, 5 out of each lease; after every synced
sale, read as one snapshot, the counter is within the cap and equals the grants plus what the
leases still hold; at the end the counter, the leases and the grants agree."""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from support import api_token
from till.device_helpers import books, device_headers, register_device, scalar, today
from till.offline_helpers import offline_sale

LEASE = 5
PER_TILL = 10


class _Poster:
    """What offline_sale posts through, over the live server's keep-alive connection."""

    def __init__(self, conn):
        self.conn = conn

    def post(self, path: str, json: dict, headers: dict):
        return self.conn.call("POST", path, json, headers)


class _TillOn:
    def __init__(self, conn):
        self.client = _Poster(conn)


def test_three_offline_tills_give_exactly_their_leases_and_the_books_agree(app, client, till, workers,
                                                                           voucher_for, http):
    assert app.config["CANTEEN"].offline.lease_size == LEASE
    cap = app.config["CANTEEN"].policy.free_meal_cap(today(app))
    welfare = till.welfare
    devices = [register_device(client, f"{n}号收银台") for n in (1, 2, 3)]
    cashier = api_token(client, "cashier")
    on = [device_headers(cashier, d) for d in devices]
    leases = []
    for headers in on:  # online: each till takes its lease
        r = client.post("/api/v1/devices/lease", headers=headers)
        assert r.status_code == 200, r.get_json()
        leases.append(r.get_json())
    assert [lease["size"] for lease in leases] == [LEASE] * 3
    assert books(app) == (cap, 3 * LEASE, 0, 0, 3 * LEASE)

    # Offline: each till's queue of 10 workers, decided by the till from its own lease.
    queues = []
    start = datetime.now(timezone.utc) - timedelta(minutes=20)
    for t in range(3):
        queue = []
        for i, number in enumerate(workers[t * PER_TILL:(t + 1) * PER_TILL]):
            free = i < LEASE
            queue.append(dict(lines=[(welfare, 1)], credential={"scan": voucher_for(number)}, no=i + 1,
                              subsidy=("free_meal", welfare["price_fen"]) if free else (None, 0),
                              lease_id=leases[t]["lease_id"] if free else None,
                              sold_at=start + timedelta(seconds=30 * i + t)))
        queues.append(queue)

    problems: list[str] = []
    lock = threading.Lock()

    def sync(t: int) -> list[int]:
        conn = http(cashier)
        statuses = []
        for sale in queues[t]:
            (status, raw), _, _ = offline_sale(_TillOn(conn), on[t], devices[t], **sale)
            assert status == 201, raw
            statuses.append(status)
            used_cap, used, granted, from_leases, held = books(app)
            with lock:
                if not used <= used_cap == cap or used != granted + held:
                    problems.append(f"till {t + 1} sale {sale['no']}: counter {used} of {used_cap}, "
                                    f"granted {granted} ({from_leases} from leases), held {held}")
        status, raw = conn.call("POST", "/api/v1/devices/lease/return", {"lease_id": leases[t]["lease_id"]}, on[t])
        assert status == 200 and json.loads(raw)["returned"] == 0, raw  # nothing unused to give back
        return statuses

    with ThreadPoolExecutor(3) as pool:  # the three tills reconnect together
        assert list(pool.map(sync, range(3))) == [[201] * PER_TILL] * 3
    assert problems == [], "\n".join(problems)

    # The counter, the leases and the grants agree: 15 free meals, 5 out of each lease.
    assert books(app) == (cap, 3 * LEASE, 3 * LEASE, 3 * LEASE, 0)
    for lease in leases:
        assert scalar(app, "SELECT used FROM free_meal_leases WHERE id = :i", i=lease["lease_id"]) == LEASE
    assert scalar(app, "SELECT COUNT(*) FROM offline_sales") == 3 * PER_TILL
    assert scalar(app, "SELECT COUNT(*) FROM sales s JOIN offline_sales o ON o.sale_id = s.id "
                       "WHERE s.subsidy_fen = 0 AND s.due_fen = :p", p=welfare["price_fen"]) == 3 * (PER_TILL - LEASE)
    assert scalar(app, "SELECT COUNT(*) FROM serving_exceptions") == 0
    assert scalar(app, "SELECT SUM(queued) FROM till_devices") == 0
