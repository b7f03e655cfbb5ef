"""The append-only audit log: who did what and when, with no plain personal data."""
from __future__ import annotations

import json
from typing import Any, Iterable

from sqlmodel import Session

from pos.clock import naive_utc
from pos.ids import new_id
from pos.models import AuditEntry
from pos.tx import Tx

_AUDIT = AuditEntry.__table__


def audit(*, tx: Tx | Session, action: str, actor: Any = None, canteen_id: str | None = None,
          target: str = "", detail: dict | None = None, address: str = "") -> str:
    """Append one entry in the caller's transaction (a :class:`Tx`, or a session's).
    ``actor`` is anyone with ``id`` and ``username`` (a staff member), a name, or None.

    ``detail`` must never carry a resident ID number, a name or a phone number: ids,
    masked forms and amounts only.  Written as one plain INSERT (it runs with every sale:
    an ORM object would cost as much as the rest of the sale); returns the entry's id.
    """
    row = _row(action=action, actor=actor, canteen_id=canteen_id, target=target, detail=detail, address=address)
    Tx.of(tx).insert(_AUDIT, row)
    return row["id"]


def audit_each(*, tx: Tx | Session, action: str, actor: Any, canteen_id: str | None, address: str,
               entries: Iterable[tuple[str, dict]], per_statement: int = 200) -> None:
    """Append one entry per ``(target, detail)`` of ``entries``, alike otherwise, a few
    hundred to a statement (a bulk import's registrations); the same rules as :func:`audit`."""
    rows = [_row(action=action, actor=actor, canteen_id=canteen_id, target=target, detail=detail, address=address)
            for target, detail in entries]
    for start in range(0, len(rows), per_statement):
        Tx.of(tx).insert(_AUDIT, rows[start:start + per_statement])


def _row(*, action: str, actor: Any, canteen_id: str | None, target: str, detail: dict | None, address: str) -> dict:
    if actor is None:
        actor_id, actor_name = None, "anonymous"
    elif isinstance(actor, str):
        actor_id, actor_name = None, actor
    else:
        actor_id, actor_name = actor.id, actor.username
    return {"id": new_id(), "at": naive_utc(), "actor_id": actor_id, "actor": actor_name, "canteen_id": canteen_id,
            "action": action, "target": target, "address": address,
            "detail": json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str)}
