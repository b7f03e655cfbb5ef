"""The clock: "now" in UTC, and the business moment (date and local time) where a canteen is.

``CANTEEN_NOW`` (ISO 8601 with an offset, e.g. ``2026-03-01T00:30:00+08:00``) fixes now
for demos and tests.  The business date is the local date where the canteen is: a sale at
00:30 Beijing time belongs to that day, although UTC still says yesterday.  The rule
itself is :func:`subsidies.business_day.business_moment`; this module only supplies "now".
"""
from __future__ import annotations

import os
from datetime import date, datetime, time, timezone

from subsidies.business_day import business_moment


class ClockError(ValueError):
    pass


def now_utc() -> datetime:
    """Aware UTC now, or the instant fixed by CANTEEN_NOW."""
    fixed = os.environ.get("CANTEEN_NOW")
    if fixed:
        try:
            value = datetime.fromisoformat(fixed)
        except ValueError:
            raise ClockError(f"CANTEEN_NOW must be ISO 8601 with an offset, got {fixed!r}") from None
        if value.tzinfo is None:
            raise ClockError(f"CANTEEN_NOW must carry a UTC offset, got {fixed!r}")
        return value.astimezone(timezone.utc)
    return datetime.now(timezone.utc)


def naive_utc(moment: datetime | None = None) -> datetime:
    """UTC without tzinfo, the form stored in TIMESTAMP columns."""
    return (moment or now_utc()).astimezone(timezone.utc).replace(tzinfo=None)


def business_date(tz: str, moment: datetime | None = None) -> date:
    """The canteen's business date at ``moment`` (default now) in time zone ``tz``."""
    return business_moment(moment or now_utc(), tz)[0]


def local_time(tz: str, moment: datetime | None = None) -> time:
    """The canteen's wall-clock time at ``moment`` (default now) in time zone ``tz``."""
    return business_moment(moment or now_utc(), tz)[1]
