"""The business date: the canteen's local date, not the server's and not UTC's.

A sale at 00:30 Beijing time on 1 March is 16:30 UTC on 28 February; it belongs to the
business date 1 March, and so do the age on that date and the policy version in force.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

#: The canteen's time zone unless the configuration says otherwise.
DEFAULT_TIME_ZONE = "Asia/Shanghai"


def business_moment(instant: datetime, tz: tzinfo | str = DEFAULT_TIME_ZONE) -> tuple[date, time]:
    """The business date and local wall-clock time of ``instant`` in time zone ``tz``.

    ``instant`` must be time-zone aware: a naive datetime could be anyone's clock, so it
    is refused with ``ValueError`` rather than guessed.  The business day runs from local
    midnight to local midnight.  The local time is returned without a time zone.
    """
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"need a time-zone-aware datetime, got naive {instant.isoformat()}")
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    local = instant.astimezone(zone)
    return local.date(), local.time().replace(tzinfo=None)


def week_of(business_date: date) -> tuple[date, date]:
    """The week ``business_date`` belongs to, for a weekly limit: its Monday and its
    Sunday, both counted.  The week follows the business date, so it too is the
    canteen's local week: a sale at 00:30 on Monday Beijing time opens a new week."""
    monday = business_date - timedelta(days=business_date.weekday())
    return monday, monday + timedelta(days=6)
