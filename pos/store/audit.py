"""The append-only audit log: who did what and when, with no plain personal data."""
from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session

from pos.clock import naive_utc
from pos.models import AuditEntry


def audit(*, session: Session, action: str, actor: Any = None, canteen_id: str | None = None,
          target: str = "", detail: dict | None = None, address: str = "") -> AuditEntry:
    """Append one entry in the caller's transaction.  ``actor`` is a StaffUser, a name or None.

    ``detail`` must never carry a resident ID number, a name or a phone number: ids,
    masked forms and amounts only.
    """
    if actor is None:
        actor_id, actor_name = None, "anonymous"
    elif isinstance(actor, str):
        actor_id, actor_name = None, actor
    else:
        actor_id, actor_name = actor.id, actor.username
    entry = AuditEntry(at=naive_utc(), actor_id=actor_id, actor=actor_name, canteen_id=canteen_id,
                       action=action, target=target,
                       detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str),
                       address=address)
    session.add(entry)
    return entry
