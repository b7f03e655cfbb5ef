"""Reading the audit log (:mod:`pos.store.audit` writes it): a page of entries, newest
first, filtered by local dates, actor, action and canteen, limited to what the reader may see.

Pages are cut by a keyset cursor (the last entry's time and id), not an offset: the log
grows with every sale, and an offset would shift under a reader paging back while the
tills keep selling, showing one entry twice or skipping one.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from types import MappingProxyType
from typing import Any, Collection, Iterator, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import and_, false, or_, select
from sqlmodel import Session

from pos.models import AuditEntry
from pos.refusal import Refusal
from subsidies.resident_id import mask_resident_id

_LOG = AuditEntry.__table__
MAX_PAGE = 500
# A resident ID number standing alone.  Entries should never hold one (pos.store.audit
# refuses nothing, it trusts its callers), so what is read is masked all the same.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
_CURSOR = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?)~([0-9A-Za-z_-]{1,64})$")


@dataclass(frozen=True)
class AuditFilter:
    """What to look for.  ``since`` and ``until`` are local dates (both included) in
    ``timezone``, the canteen's; the other fields match exactly when given."""

    since: date | None = None
    until: date | None = None
    timezone: str = "Asia/Shanghai"
    actor: str | None = None
    action: str | None = None
    canteen_id: str | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise Refusal("bad_date_range", f"开始日期 {self.since} 晚于结束日期 {self.until}",
                          f"the start date {self.since} is after the end date {self.until}")

    def utc_bounds(self) -> tuple[datetime | None, datetime | None]:
        """[start, end) in stored form (naive UTC): local midnight of ``since`` to local
        midnight after ``until``."""
        zone = ZoneInfo(self.timezone)

        def midnight(day: date) -> datetime:
            return datetime.combine(day, time(), zone).astimezone(timezone.utc).replace(tzinfo=None)

        return (midnight(self.since) if self.since else None,
                midnight(self.until + timedelta(days=1)) if self.until else None)


@dataclass(frozen=True)
class LoggedAction:
    """One entry of the log as read: ``at`` is naive UTC (as stored), ``detail`` the
    decoded JSON with any resident ID number masked."""

    id: str
    at: datetime
    actor: str
    canteen_id: str | None
    action: str
    target: str
    detail: Mapping[str, Any]
    address: str

    @property
    def cursor(self) -> str:
        """Where the page after this entry starts (see :func:`read_audit_log`)."""
        return f"{self.at.isoformat()}~{self.id}"


@dataclass(frozen=True)
class AuditPage:
    """Entries newest first, and the cursor of the next (older) page, None on the last."""

    entries: tuple[LoggedAction, ...]
    next_cursor: str | None


def _masked(text: str) -> str:
    return _ID_NUMBER.sub(lambda m: mask_resident_id(m.group(0)), text)


def _detail(text: str) -> Mapping[str, Any]:
    try:
        value = json.loads(_masked(text or "{}"))
    except ValueError:
        value = {"text": _masked(text)}  # written by hand, not by pos.store.audit: shown as it is
    return MappingProxyType(value if isinstance(value, dict) else {"value": value})


def _cursor(text: str) -> tuple[datetime, str]:
    m = _CURSOR.match(text)
    try:
        if m is None:
            raise ValueError(text)
        return datetime.fromisoformat(m.group(1)), m.group(2)
    except ValueError:
        raise Refusal("bad_cursor", "翻页位置无效，请从第一页重新查看",
                      f"the page position {text!r} is not valid; start again from the first page") from None


def read_audit_log(*, session: Session, filters: AuditFilter, canteen_ids: Collection[str] | None,
                   include_unplaced: bool, limit: int = 50, before: str | None = None) -> AuditPage:
    """A page of at most ``limit`` entries matching ``filters``, newest first, older than
    the entry ``before`` names (a :attr:`LoggedAction.cursor`) when given.

    Scope: ``canteen_ids`` are the canteens the reader may see (None: every canteen);
    ``include_unplaced`` adds the entries tied to no canteen (a district admin's sign-in,
    a command run on the server).  Refuses a malformed ``before`` (``bad_cursor``).
    """
    limit = max(1, min(limit, MAX_PAGE))
    c = _LOG.c
    where = []
    if canteen_ids is not None:
        placed = c.canteen_id.in_(sorted(canteen_ids)) if canteen_ids else false()
        where.append(or_(placed, c.canteen_id.is_(None)) if include_unplaced else placed)
    elif not include_unplaced:
        where.append(c.canteen_id.is_not(None))
    start, end = filters.utc_bounds()
    if start is not None:
        where.append(c.at >= start)
    if end is not None:
        where.append(c.at < end)
    if filters.actor:
        where.append(c.actor == filters.actor)
    if filters.action:
        where.append(c.action == filters.action)
    if filters.canteen_id:
        where.append(c.canteen_id == filters.canteen_id)
    if before:
        at, entry_id = _cursor(before)
        where.append(or_(c.at < at, and_(c.at == at, c.id < entry_id)))
    rows = session.connection().execute(
        select(c.id, c.at, c.actor, c.canteen_id, c.action, c.target, c.detail, c.address)
        .where(*where).order_by(c.at.desc(), c.id.desc()).limit(limit + 1)).all()
    entries = tuple(LoggedAction(id=r.id, at=r.at, actor=r.actor, canteen_id=r.canteen_id, action=r.action,
                                 target=_masked(r.target), detail=_detail(r.detail), address=r.address)
                    for r in rows[:limit])
    return AuditPage(entries=entries, next_cursor=entries[-1].cursor if len(rows) > limit else None)


def iter_audit_log(*, session: Session, filters: AuditFilter, canteen_ids: Collection[str] | None,
                   include_unplaced: bool, page_size: int = MAX_PAGE) -> Iterator[LoggedAction]:
    """Every entry matching ``filters``, newest first, read a page at a time."""
    before = None
    while True:
        page = read_audit_log(session=session, filters=filters, canteen_ids=canteen_ids,
                              include_unplaced=include_unplaced, limit=page_size, before=before)
        yield from page.entries
        if page.next_cursor is None:
            return
        before = page.next_cursor
