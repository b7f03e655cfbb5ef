"""Closed business dates.  After day close, no sale or void for that date is accepted."""
from __future__ import annotations

from datetime import date

from sqlmodel import Session

from pos.errors import ApiError
from pos.store.fastsql import synced

DAY_CLOSED_SQL = "SELECT 1 FROM day_closes WHERE canteen_id = :c AND business_date = :d"


def ensure_day_open(*, session: Session, canteen_id: str, business_date: date) -> None:
    """Refuse (409 day_closed) when the canteen's business date has been closed.  One
    indexed lookup: it runs on every sale and void."""
    if synced(session).one(DAY_CLOSED_SQL, {"c": canteen_id, "d": business_date}) is not None:
        raise day_closed(business_date)


def day_closed(business_date: date) -> ApiError:
    """The refusal for a sale or void of a closed business date (409 day_closed)."""
    return ApiError(409, "day_closed", f"{business_date.isoformat()} 已日结，不能再收款或作废；更正请另开更正单",
                    f"business date {business_date.isoformat()} is closed: no sale or void for it is accepted; "
                    f"book a correction instead")
