"""From the app's settings and a database session to finished reports: the one place the
views, the API and the CLI go through, so they cannot disagree about what a report holds."""
from __future__ import annotations

from datetime import date, datetime
from typing import Callable

from sqlmodel import Session

from pos.clock import naive_utc
from pos.config import Settings
from reports.anomalies import anomaly_rules
from reports.claim_queries import CanteenInfo, ClaimReport, canteens_of, claim_data, claim_report
from reports.daily import render_daily
from reports.queries import DailyReport, daily_report


def build_daily(*, session: Session, settings: Settings, canteen_id: str, business_date: date,
                now: datetime) -> DailyReport:
    """The daily report of one canteen and date as of ``now``."""
    return daily_report(session=session, canteen_id=canteen_id, business_date=business_date,
                        default_cap=settings.policy.free_meal_cap(business_date), generated_at=naive_utc(now),
                        rules=anomaly_rules(settings))


def daily_pdf(*, session: Session, settings: Settings, canteen_id: str, business_date: date,
              now: datetime) -> tuple[str, str, bytes]:
    """The daily reconciliation PDF as ``(filename, mimetype, bytes)``."""
    return render_daily(build_daily(session=session, settings=settings, canteen_id=canteen_id,
                                    business_date=business_date, now=now))


def build_claim(*, session: Session, settings: Settings, canteen_ids: list[str], month: date, now: datetime,
                progress: Callable[[CanteenInfo], None] | None = None) -> ClaimReport:
    """The monthly claim of ``canteen_ids`` (unknown codes are left out by the caller)."""
    canteens = canteens_of(session=session, codes=canteen_ids)
    data = claim_data(session=session, canteens=canteens, month=month,
                      cap_for=settings.policy.free_meal_cap, progress=progress, rules=anomaly_rules(settings))
    return claim_report(data=data, generated_at=naive_utc(now))
