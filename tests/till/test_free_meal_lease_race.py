"""The daily cap stays exact while tills sell offline, on SQLite and PostgreSQL: three tills
take leases of 5 while online free-meal sales run over real HTTP; then 30 meals are
granted offline from the leases (10 a till) while the last online free meals race for
what is left, from 8 threads.  After every step, read as one snapshot, the counter is
within the cap and equals the meals granted online, plus those granted from leases, plus
those the leases still hold; at the end, with more asked for than there are, it is
exactly the cap."""
from __future__ import annotations

import json
import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from support import api_token
from till.device_helpers import books, device_headers, register_device, use_from_lease

THREADS = 8
CAP = 40


def test_leases_and_online_sales_never_pass_the_cap_together(app, client, till, workers, http):
    welfare = [{"item_id": till.welfare["id"], "qty": 1}]
    tills = [device_headers(api_token(client, "cashier"), register_device(client, f"{n}号收银台")) for n in (1, 2, 3)]
    sellers = [http(api_token(client, "cashier")) for _ in range(THREADS)]
    seen: list[tuple] = []
    problems: list[str] = []
    lock = threading.Lock()

    def check(step: str) -> None:
        cap, used, granted, from_leases, held = snapshot = books(app)
        with lock:
            seen.append(snapshot)
            if not used <= cap == CAP or used != granted + from_leases + held:
                problems.append(f"after {step}: cap {cap}, counter {used}, granted {granted}, "
                                f"from leases {from_leases}, held {held}")

    def sell(conn, number: str) -> int:
        body = {"lines": welfare, "credential": {"id_number": number}, "due_fen": 0, "tender": {"method": "free"}}
        status, raw = conn.call("POST", "/api/v1/sales", body, {"Idempotency-Key": str(uuid.uuid4())})
        assert status in (201, 409), raw
        if status == 409:
            assert json.loads(raw)["quote"]["subsidy"]["code"] == "free_meals_gone"
        check(f"an online sale ({status})")
        return status

    # 1. Three tills take their leases at the same moment as online sales to 10 workers.
    start = threading.Barrier(THREADS)
    leases: dict[int, dict] = {}
    online_first: list[int] = []

    def lane_one(i: int) -> None:
        start.wait()
        if i < 3:
            status, raw = sellers[i].call("POST", "/api/v1/devices/lease", headers=tills[i])
            assert status == 200, raw
            leases[i] = json.loads(raw)
            check("a lease")
        else:
            for number in workers[i - 3:10:THREADS - 3]:
                online_first.append(sell(sellers[i], number))

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lane_one, range(THREADS)))
    assert sorted(lease["size"] for lease in leases.values()) == [5, 5, 5]
    assert online_first == [201] * 10
    assert books(app) == (CAP, 25, 10, 0, 15)

    # 2. Offline, each till grants 10 free meals from its lease of 5 (30 diners queueing),
    #    while 25 more workers ask for one of the 15 meals left online.
    tasks = [("offline", leases[i % 3]["lease_id"]) for i in range(30)] + [("online", n) for n in workers[10:35]]
    random.Random(7).shuffle(tasks)
    outcomes: dict[str, list] = {"offline": [], "online": []}

    def lane_two(i: int) -> None:
        for kind, what in tasks[i::THREADS]:
            if kind == "offline":
                ok = use_from_lease(app, what)
                check("a meal granted from a lease")
                outcomes["offline"].append((what, ok))
            else:
                outcomes["online"].append(sell(sellers[i], what))

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lane_two, range(THREADS)))
    assert sum(ok for _, ok in outcomes["offline"]) == 15
    for lease in leases.values():  # exactly each lease's 5, never more
        assert sum(ok for lease_id, ok in outcomes["offline"] if lease_id == lease["lease_id"]) == 5
    assert sorted(outcomes["online"]) == [201] * 15 + [409] * 10
    assert books(app) == (CAP, CAP, 25, 15, 0)

    # 3. Online again: each till returns its lease (nothing unused to give back) and asks
    #    for a new one, of which there is none.
    for headers in tills:
        lease_id = leases[tills.index(headers)]["lease_id"]
        status, raw = sellers[0].call("POST", "/api/v1/devices/lease/return", {"lease_id": lease_id}, headers)
        assert status == 200 and json.loads(raw)["returned"] == 0, raw
        status, raw = sellers[0].call("POST", "/api/v1/devices/lease", headers=headers)
        assert status == 200 and json.loads(raw)["outstanding"] == 0 and json.loads(raw)["left_today"] == 0, raw
    assert books(app) == (CAP, CAP, 25, 15, 0)

    assert problems == [], "\n".join(problems)
    assert len(seen) == 3 + 10 + 30 + 25
    assert max(used for _, used, *_ in seen) == CAP
