"""Policy versions: the rules in force on a business date, as frozen data.

A policy version is built once at start-up from ``config.toml`` (see ``pos.config``) and
never changes while the app runs.  Each sale records the version it used, so a claim for
last month is computed with last month's rules.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from typing import Literal

#: The outdoor-worker categories the product knows.  A policy chooses which of them are
#: eligible for the free welfare meal.
WORKER_CATEGORIES: tuple[str, ...] = ("cleaner", "sanitation_worker", "delivery_rider")

WORKER_CATEGORY_NAMES: dict[str, tuple[str, str]] = {
    "cleaner": ("保洁员", "cleaner"),
    "sanitation_worker": ("环卫工", "sanitation worker"),
    "delivery_rider": ("外卖员", "delivery rider"),
}


class PolicyError(ValueError):
    """No policy version applies (e.g. a business date before every version)."""


@dataclass(frozen=True)
class AgeTier:
    """Residents aged ``min_age`` or more (full years on the business date) get
    ``discount_fen`` off the order total."""

    min_age: int
    discount_fen: int

    @property
    def rule_id(self) -> str:
        return f"age_tier:{self.min_age}"


@dataclass(frozen=True)
class MealPeriod:
    """A named meal period in local time, ``start`` inclusive, ``end`` exclusive."""

    name: str
    start: time
    end: time

    def contains(self, local_time: time) -> bool:
        return self.start <= local_time < self.end


@dataclass(frozen=True)
class PolicyVersion:
    """One version of the canteen's subsidy rules, in force from ``effective_from``.

    ``limit_per`` is ``"day"`` (one subsidised meal per diner per business date) or
    ``"period"`` (one per meal period of ``meal_periods``).
    """

    version: str
    effective_from: date
    age_tiers: tuple[AgeTier, ...]
    residency_required: bool = True
    walk_in_id_counts_as_resident: bool = False
    welfare_categories: frozenset[str] = field(default_factory=lambda: frozenset(WORKER_CATEGORIES))
    free_meals_per_day: int = 40
    limit_per: Literal["day", "period"] = "day"
    meals_per_limit: int = 1
    meal_periods: tuple[MealPeriod, ...] = ()

    def period_at(self, local_time: time) -> MealPeriod | None:
        """The meal period containing ``local_time``, or None."""
        for period in self.meal_periods:
            if period.contains(local_time):
                return period
        return None


@dataclass(frozen=True)
class Policy:
    """All versions of the policy, sorted by ``effective_from`` (strictly increasing)."""

    versions: tuple[PolicyVersion, ...]

    def in_force(self, business_date: date) -> PolicyVersion:
        """The version whose ``effective_from`` is the latest on or before ``business_date``.

        A date before every version is an error, not a guess: raises :class:`PolicyError`.
        """
        chosen = None
        for v in self.versions:
            if v.effective_from <= business_date:
                chosen = v
            else:
                break
        if chosen is None:
            raise PolicyError(
                f"no policy version is in force on {business_date.isoformat()} "
                f"(the first takes effect on {self.versions[0].effective_from.isoformat()})"
                if self.versions else "no policy version is configured"
            )
        return chosen

    def by_version(self, version: str) -> PolicyVersion:
        for v in self.versions:
            if v.version == version:
                return v
        raise PolicyError(f"unknown policy version {version!r}")
