"""Idempotency keys: the same request, sent again, gets the first answer — never a second sale.

The tablet makes a key before it first sends a sale and sends it again with every retry
(over flaky Wi-Fi, after a double tap).  The sale claims its key first thing in its
transaction (:func:`claim`); the answer is kept with it before the commit
(:func:`remember`), so a retry that arrives after the commit finds it, and one that
arrives while the first is still being recorded waits for it (the key is a primary key:
PostgreSQL holds the second insert until the first transaction ends; SQLite runs one
writer at a time).  A key sent with a different request is refused: it is a mistake,
not a retry.

The request is remembered by a keyed digest (HMAC-SHA256 with the ID key), of a request
in which a resident ID number — typed, or scanned into the scan field — is already
only its pseudonym (:meth:`pos.store.sales.SaleOrder.request`): a plain hash of a body
holding the number could be reversed by trying numbers.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any, NamedTuple

from pos.refusal import Refusal
from pos.tx import Tx


class Answer(NamedTuple):
    """An answer as the caller made it: a status and the body, kept verbatim."""

    status: int
    body: str


def request_digest(request: Any, key: bytes) -> str:
    """HMAC-SHA256 of a request in canonical JSON (key order and spacing do not matter)."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def claim(tx: Tx, *, user_id: str, key: str, digest: str, at: datetime) -> Answer | None:
    """Claim this user's key for the request with ``digest``: None when the key is new
    (it is now taken, until the transaction ends), or the answer kept for it.  Refuses
    (``idempotency_key_reused``) a key kept for a different request."""
    params = {"u": user_id, "k": key}
    claimed = tx.execute("INSERT INTO idempotency_keys (user_id, key, request_sha256, status_code, response_json, "
                         "created_at) VALUES (:u, :k, :d, 0, '', :at) ON CONFLICT (user_id, key) DO NOTHING",
                         {**params, "d": digest, "at": at}).rowcount
    if claimed == 1:
        return None
    row = tx.one("SELECT request_sha256, status_code, response_json FROM idempotency_keys "
                 "WHERE user_id = :u AND key = :k", params)
    if row[0] != digest:
        raise Refusal("idempotency_key_reused", "该请求编号已用于另一笔不同的销售",
                      "this Idempotency-Key was used for a different sale; make a new key for a new sale")
    return Answer(row[1], row[2])


def remember(tx: Tx, *, user_id: str, key: str, answer: Answer) -> None:
    """Keep ``answer`` with the key this transaction claimed."""
    tx.execute("UPDATE idempotency_keys SET status_code = :s, response_json = :r WHERE user_id = :u AND key = :k",
               {"u": user_id, "k": key, "s": answer.status, "r": answer.body})
