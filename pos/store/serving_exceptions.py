"""What a supervisor follows up after tills sold offline (the exceptions page): serving
exceptions — subsidies a till gave offline that the server would not grant, recorded with
the sale and never claimed — and offline sales that arrived after their day was closed,
kept for a correction (:mod:`pos.store.offline_sales` writes both).  Each is marked
resolved with a note; nothing else about it changes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pos.clock import naive_utc
from pos.refusal import Refusal
from pos.store.audit import audit
from pos.tx import Tx

MAX_NOTE = 200
RECENT_DAYS = 31  # resolved ones stay listed this long; unresolved ones until resolved


@dataclass(frozen=True)
class ExceptionRow:
    id: str
    business_date: date
    sold_at: datetime
    receipt_no: int
    kind: str
    amount_fen: int
    reason_zh: str
    reason_en: str
    resolved_at: datetime | None
    resolved_by: str | None
    note: str


@dataclass(frozen=True)
class LateRow:
    id: str
    business_date: date
    received_at: datetime
    device: str
    offline_no: int | None
    due_fen: int | None
    resolved_at: datetime | None
    resolved_by: str | None
    note: str


def _since(today: date) -> date:
    return today - timedelta(days=RECENT_DAYS)


def exceptions_of(tx: Tx, *, canteen_id: str, today: date) -> list[ExceptionRow]:
    """The canteen's serving exceptions: every unresolved one and the recent others, newest first."""
    rows = tx.all("SELECT e.id, e.business_date, s.sold_at, s.receipt_no, e.kind, e.amount_fen, e.reason_zh, "
                  "e.reason_en, e.resolved_at, u.display_name, e.note FROM serving_exceptions e "
                  "JOIN sales s ON s.id = e.sale_id LEFT JOIN staff_users u ON u.id = e.resolved_by "
                  "WHERE e.canteen_id = :c AND (e.resolved_at IS NULL OR e.business_date >= :since) "
                  "ORDER BY e.business_date DESC, s.sold_at DESC", {"c": canteen_id, "since": _since(today)})
    return [ExceptionRow(r[0], tx.date(r[1]), _moment(r[2]), *r[3:8], _moment(r[8]), r[9], r[10]) for r in rows]


def late_sales_of(tx: Tx, *, canteen_id: str, today: date) -> list[LateRow]:
    """The canteen's offline sales kept after their day was closed, as :func:`exceptions_of`."""
    rows = tx.all("SELECT l.id, l.business_date, l.received_at, d.name, l.payload_json, l.resolved_at, "
                  "u.display_name, l.note FROM late_offline_sales l JOIN till_devices d ON d.id = l.device_id "
                  "LEFT JOIN staff_users u ON u.id = l.resolved_by "
                  "WHERE l.canteen_id = :c AND (l.resolved_at IS NULL OR l.business_date >= :since) "
                  "ORDER BY l.business_date DESC, l.received_at DESC", {"c": canteen_id, "since": _since(today)})
    out = []
    for r in rows:
        payload = json.loads(r[4])
        out.append(LateRow(r[0], tx.date(r[1]), _moment(r[2]), r[3], (payload.get("offline") or {}).get("offline_no"),
                           payload.get("due_fen"), _moment(r[5]), r[6], r[7]))
    return out


def _moment(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _note(note: str) -> str:
    note = (note or "").strip()
    if not note or len(note) > MAX_NOTE:
        raise Refusal("invalid_resolution_note", f"请填写处理说明（1–{MAX_NOTE} 字）",
                      f"say how it was resolved (1-{MAX_NOTE} characters)")
    return note


def canteen_of(tx: Tx, *, table: str, row_id: str) -> str | None:
    """The canteen of a serving exception (``serving_exceptions``) or late sale (``late_offline_sales``)."""
    assert table in ("serving_exceptions", "late_offline_sales")
    row = tx.one(f"SELECT canteen_id FROM {table} WHERE id = :i", {"i": row_id})
    return row[0] if row is not None else None


def resolve(tx: Tx, *, table: str, row_id: str, note: str, actor, now: datetime, address: str = "") -> None:
    """Mark a serving exception or a late sale resolved with ``note`` (audited).  Refuses an
    unknown one and one already resolved (``already_resolved``)."""
    assert table in ("serving_exceptions", "late_offline_sales")
    note = _note(note)
    done = tx.one(f"UPDATE {table} SET resolved_at = :at, resolved_by = :by, note = :n "
                  "WHERE id = :i AND resolved_at IS NULL RETURNING canteen_id",
                  {"at": naive_utc(now), "by": actor.id, "n": note, "i": row_id})
    if done is None:
        if canteen_of(tx, table=table, row_id=row_id) is None:
            what = "serving_exception" if table == "serving_exceptions" else "late_offline_sale"
            raise Refusal(f"{what}_not_found", "没有这条记录", "no such record")
        raise Refusal("already_resolved", "这条记录已经处理过了", "this one is already resolved")
    audit(tx=tx, action="serving_exception_resolved" if table == "serving_exceptions" else "late_offline_sale_resolved",
          actor=actor, canteen_id=done[0], target=row_id, address=address, detail={"note": note})
