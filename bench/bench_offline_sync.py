"""Syncing a till's queue of offline sales after reconnect, on SQLite.
A plain script: ``.venv/bin/python bench/bench_offline_sync.py [--sales 500]``.

Builds the database of bench/bench_offline_kit.py (the demo canteen and 2,000 diners with
vouchers), registers a till, takes its lease and its offline kit, then makes ``--sales``
sales offline as the till would — paid meals, and a third of them with a diner's voucher
whose subsidy the till decides from the kit with the rules engine — and times POSTing
them to /api/v1/sales in order, one after the other, each with its Idempotency-Key and
``offline`` object (through the app in-process: the server's own cost, no network).
Every answer must be 201.  Target: 500 sales ≤ 10 s.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import datetime, time as clock, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_offline_kit import build  # noqa: E402

TARGET_S = 10.0


def queue(client, headers, device: dict, kit: dict, n: int, voucher_urls: list[str]) -> list[tuple[str, dict]]:
    """``n`` offline sales as the till queues them: (Idempotency-Key, body)."""
    from pos.store.offline_kit import match_hash
    from pos.store.tokens import token_in
    from subsidies import wire
    from subsidies.engine import Counters, Order, OrderLine, decide

    policy = wire.policy_from_json(kit["policy"])
    by_match = {m: e for e in kit["entitlements"] for m in e["match"]}
    paid = [m for m in kit["menu"] if not m["welfare_meal"]]
    start = datetime.now(timezone.utc) - timedelta(seconds=n + 60)
    out = []
    for i in range(n):
        item = paid[i % len(paid)]
        lines = [{"item_id": item["id"], "qty": 1}]
        body = {"lines": lines, "offline": {"device_id": device["id"], "offline_no": i + 1, "lease_id": None,
                                            "sold_at": (start + timedelta(seconds=i)).isoformat(),
                                            "sent_at": datetime.now(timezone.utc).isoformat(),
                                            "unit_prices_fen": [item["price_fen"]],
                                            "decision": {"kind": None, "amount_fen": 0}}}
        subsidy = 0
        if i % 3 == 0 and voucher_urls:
            url = voucher_urls.pop()
            e = by_match[match_hash(token_in(url))]
            d = decide(policy=policy, diner=wire.diner_from_json(e["facts"]),
                       order=Order((OrderLine(item["id"], item["name"], item["price_fen"], 1, False),)),
                       business_date=datetime.fromisoformat(kit["business_date"]).date(), local_time=clock(12),
                       counters=Counters(diner_subsidised=e["counters"]["today"]))
            if d.granted:
                subsidy = d.amount_fen
                body["offline"]["decision"] = {"kind": d.kind, "amount_fen": d.amount_fen}
            body["credential"] = {"scan": url}
        due = item["price_fen"] - subsidy
        body["due_fen"] = due
        body["tender"] = {"method": "cash", "tendered_fen": due} if due else {"method": "free"}
        out.append((f"bench-{uuid.uuid4()}", body))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=500)
    parser.add_argument("--diners", type=int, default=2000)
    args = parser.parse_args()
    from pos.store import tokens

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        app, settings, _device, today = build(f"sqlite:///{tmp / 'sync.db'}", tmp, args.diners)
        client = app.test_client()

        def token(user):
            r = client.post("/api/v1/auth/token", json={"username": user, "password": user + "-demo-pass"})
            return {"Authorization": f"Bearer {r.get_json()['token']}"}

        cashier = token("cashier")
        assert client.post("/api/v1/shifts", json={"opening_float_fen": 20000}, headers=cashier).status_code == 201
        device = client.post("/api/v1/devices", json={"name": "基准收银台"}, headers=token("supervisor")).get_json()
        on_device = {**cashier, "X-Till-Device": f"{device['id']}:{device['token']}"}
        client.post("/api/v1/devices/lease", headers=on_device)
        kit = client.get("/api/v1/till/offline-kit", headers=on_device).get_json()
        with app.extensions["canteen_db"].tx() as tx:
            # The bench diners' vouchers (60+ and 80+ ones get a subsidy), as their QR URLs.
            urls = [tokens.voucher_url(settings.base_url, tokens.voucher_token(settings.secret_key, v, n))
                    for v, n in tx.all("SELECT v.id, v.version FROM vouchers v JOIN diners d ON d.id = v.diner_id "
                                       "WHERE v.status = 'active' AND d.worker_category IS NULL ORDER BY v.id")]
        sales = queue(client, on_device, device, kit, args.sales, urls)
        t0 = time.perf_counter()
        for key, body in sales:
            r = client.post("/api/v1/sales", json=body, headers={**on_device, "Idempotency-Key": key})
            if r.status_code != 201:
                print(f"sale answered {r.status_code}: {r.get_json()}")
                return 1
        elapsed = time.perf_counter() - t0
        subsidised = sum(1 for _, b in sales if b["offline"]["decision"]["amount_fen"])
        app.extensions["canteen_db"].dispose()
    print(f"synced {args.sales} offline sales ({subsidised} subsidised) in {elapsed:.2f} s "
          f"({elapsed / args.sales * 1000:.1f} ms each)   target ≤ {TARGET_S:.0f} s   "
          f"{'OK' if elapsed <= TARGET_S else 'MISSED'}")
    return 0 if elapsed <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
