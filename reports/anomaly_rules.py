"""What the anomaly checks (:mod:`reports.anomalies`) compare with and cover: the rules
from the settings, the scope of canteens and dates, and how a case is written down."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, false, or_

from pos.config import DEFAULT_CLOSES, DEFAULT_OPENS, ChecksConfig, Settings
from pos.models import Sale
from reports.rows import CanteenInfo
from subsidies.policy import Policy

S = Sale.__table__
SHOWN = 8  # cases listed in a failed check's detail; the rest are counted
PPM = 1_000_000  # shares and factors are compared in whole millionths, not floats


@dataclass(frozen=True)
class AnomalyRules:
    """What the anomaly checks compare with: config.toml ``[checks]``, each canteen's
    opening hours (a canteen not listed opens 06:30–19:30) and the policy, which says who
    is eligible on a date (without one the attendance check says it was not made)."""

    checks: ChecksConfig = field(default_factory=ChecksConfig)
    hours: Mapping[str, tuple[time, time]] = field(default_factory=dict)
    policy: Policy | None = None

    def hours_of(self, code: str) -> tuple[time, time]:
        """The canteen's ``(opens, closes)`` in local time."""
        return self.hours.get(code, (DEFAULT_OPENS, DEFAULT_CLOSES))


def anomaly_rules(settings: Settings) -> AnomalyRules:
    """The anomaly rules of the running configuration."""
    return AnomalyRules(checks=settings.checks, policy=settings.policy,
                        hours={c.code: (c.opens, c.closes) for c in settings.canteens})


@dataclass(frozen=True)
class Scope:
    """What a set of checks covers: some canteens over the business dates ``first``–``last``."""

    canteens: tuple[CanteenInfo, ...]
    first: date
    last: date
    closed: frozenset[tuple[str, date]] = frozenset()  # (canteen, date) pairs already closed

    def open_sales(self) -> Any:
        """The scope's sales on dates not yet closed (all of them when none is)."""
        if not self.closed:
            return and_(S.c.canteen_id.in_(self.codes), S.c.business_date.between(self.first, self.last))
        dates = [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]
        by_open: dict[tuple[date, ...], list[str]] = defaultdict(list)
        for code in self.codes:
            by_open[tuple(d for d in dates if (code, d) not in self.closed)].append(code)
        return or_(false(), *(and_(S.c.canteen_id.in_(codes), S.c.business_date.in_(days))
                              for days, codes in by_open.items() if days))

    def closed_note(self, zh: bool) -> str:
        """What a per-day sales check says of the closed dates it left to their close."""
        if not self.closed:
            return ""
        n = len(self.closed)
        return f"；已日结的 {n} 天以日结时的核对为准" if zh else f"; {n} closed day(s): as checked at their close"

    @property
    def codes(self) -> list[str]:
        """The canteen codes of the scope."""
        return [c.code for c in self.canteens]

    def tag(self, code: str, day: date) -> str:
        """How a case names where and when it happened: nothing the report already says."""
        parts = ([code] if len(self.canteens) > 1 else []) + ([f"{day:%m-%d}"] if self.first != self.last else [])
        return " ".join(parts) + " " if parts else ""

    def tz(self, code: str) -> ZoneInfo:
        """The time zone of a canteen (of the scope's first canteen for one outside it)."""
        found = next((c.timezone for c in self.canteens if c.code == code), None)
        return ZoneInfo(found or (self.canteens[0].timezone if self.canteens else "Asia/Shanghai"))


def whole(value: Any) -> int:
    """SUM() of no rows is NULL, and PostgreSQL answers NUMERIC for SUM(bigint)."""
    return int(value or 0)


def local_time(moment: datetime, tz: ZoneInfo) -> datetime:
    """A stored (naive UTC) moment as the canteen's wall clock shows it."""
    return moment.replace(tzinfo=timezone.utc).astimezone(tz)


def listed(cases: list[str], zh: bool) -> str:
    """The first cases of a failed check, and how many more there are."""
    shown = ("；" if zh else "; ").join(cases[:SHOWN])
    more = len(cases) - SHOWN
    if more <= 0:
        return shown
    return shown + (f"……另 {more} 例" if zh else f" … and {more} more")


def share_text(value: float) -> str:
    """A share as people write it: 0.1 → ``10%``."""
    return f"{value * 100:g}%"


def ppm(value: float) -> int:
    """A share or factor in whole millionths, so that comparisons are exact."""
    return round(value * PPM)
