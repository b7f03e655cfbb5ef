"""How long a verification holds: a worker category's proof (and a resident's, when the
configuration says so) is valid for a number of months from the day staff saw it.

``verified_until(on, months)`` is the last day the proof counts: verified on 10 March
2026 for 12 months, it holds until 9 March 2027 and has expired on 10 March 2027.  A
month that has no such day ends the count on its last day (31 January + 1 month → valid
until 27 February, expired on 28 February).  ``months = 0`` means it never expires
(None).
"""
from __future__ import annotations

import calendar
from datetime import date, timedelta


def add_months(day: date, months: int) -> date:
    """``day`` moved ``months`` calendar months on (or back, when negative); a day the
    target month lacks becomes its last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def verified_until(verified_on: date | None, months: int) -> date | None:
    """The last day a proof seen on ``verified_on`` counts, or None when it does not expire
    (``months`` is 0) or was never seen (``verified_on`` is None)."""
    if verified_on is None or months <= 0:
        return None
    return add_months(verified_on, months) - timedelta(days=1)


def expired(until: date | None, on: date) -> bool:
    """Whether a proof valid until ``until`` (None: for good) has expired on ``on``."""
    return until is not None and on > until
