"""Speaking as a till that sold offline: the body of an offline sale as the till syncs it."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone


def offline_sale(till, on_device: dict, device: dict, *, lines: list[tuple[dict, int]], credential=None,
                 subsidy: tuple[str | None, int] = (None, 0), lease_id: str | None = None, no: int = 1,
                 sold_at: datetime | None = None, clock_behind_s: float = 0, key: str | None = None):
    """POST one sale made offline: ``lines`` are (menu item, qty) at the item's menu price;
    ``subsidy`` is what the till gave; ``clock_behind_s`` how far the tablet's clock is
    behind the server's when it sends.  Returns (response, body, key) for re-sending."""
    key = key or f"off-{uuid.uuid4()}"
    now = datetime.now(timezone.utc)
    sold_at = sold_at or now - timedelta(minutes=1)
    gross = sum(item["price_fen"] * qty for item, qty in lines)
    due = gross - subsidy[1]
    body = {"lines": [{"item_id": item["id"], "qty": qty} for item, qty in lines], "due_fen": due,
            "tender": {"method": "free"} if due == 0 else {"method": "cash", "tendered_fen": due},
            "offline": {"device_id": device["id"], "sold_at": sold_at.isoformat(),
                        "sent_at": (now - timedelta(seconds=clock_behind_s)).isoformat(), "offline_no": no,
                        "lease_id": lease_id, "decision": {"kind": subsidy[0], "amount_fen": subsidy[1]},
                        "unit_prices_fen": [item["price_fen"] for item, _ in lines]}}
    if credential is not None:
        body["credential"] = credential
    return send(till.client, on_device, body, key), body, key


def send(client, headers: dict, body: dict, key: str):
    return client.post("/api/v1/sales", json=body, headers={**headers, "Idempotency-Key": key})
