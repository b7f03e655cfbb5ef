"""Policy versions: the rules in force on a business date, as frozen data that checks itself.

A policy version is built once at start-up from ``config.toml`` (``pos.config`` maps the
TOML keys onto these fields) and never changes while the app runs.  Each sale records
the version it used, so a claim for last month is computed with last month's rules.

A version that makes no sense cannot be built: :class:`PolicyVersion` and :class:`Policy`
check every field when they are made and raise :class:`PolicyError` listing each
:class:`Problem` with the field's path (``age_tiers[1].discount_fen``), so the
configuration can name the key a person must fix.  These checks are the only ones.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Literal, NamedTuple

from subsidies.vocabulary import WORKER_CATEGORIES, WORKER_CATEGORY_NAMES  # noqa: F401  (re-exported)

MAX_AGE = 130  # a minimum age above this is a typing mistake


class Problem(NamedTuple):
    """One thing wrong with a policy: the field's path and what is wrong with it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path} {self.message}"


class PolicyError(ValueError):
    """No policy version applies (e.g. a business date before every version), or a policy
    is unsound; ``problems`` lists what is wrong with the latter, field by field."""

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()):
        super().__init__(message)
        self.problems = problems


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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

    ``age_tiers`` are listed by increasing ``min_age`` (1–130 years), each discount at
    least the one before it.  ``limit_per`` is ``"day"`` (``meals_per_limit`` subsidised
    meals per diner per business date) or ``"period"`` (per meal period of
    ``meal_periods``, which must not overlap).  ``per_week``, when set, also caps a
    diner's subsidised meals in a week (Monday–Sunday of the business date,
    :func:`subsidies.business_day.week_of`), across every canteen of the district.
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
    per_week: int | None = None

    def __post_init__(self) -> None:
        # Lists and sets from a caller become tuples and a frozenset, so a version stays
        # immutable and hashable; the checks read them in the order they were given.
        given_categories = tuple(self.welfare_categories) if isinstance(self.welfare_categories, (list, tuple)) \
            else tuple(sorted(self.welfare_categories, key=str))
        object.__setattr__(self, "age_tiers", tuple(self.age_tiers))
        object.__setattr__(self, "meal_periods", tuple(self.meal_periods))
        problems = _version_problems(self, given_categories)
        if problems:
            raise PolicyError(f"policy version {self.version!r}: " + "; ".join(map(str, problems)), problems)
        object.__setattr__(self, "welfare_categories", frozenset(given_categories))

    def tier_for(self, age: int) -> AgeTier | None:
        """The highest age tier reached at ``age`` full years, or None below the youngest.
        The one place a tier is looked up: the engine, the till's banner and the voucher
        card all ask here."""
        reached = None
        for tier in self.age_tiers:  # sorted ascending: the last one reached is the highest
            if tier.min_age <= age:
                reached = tier
        return reached

    def period_at(self, local_time: time) -> MealPeriod | None:
        """The meal period containing ``local_time``, or None."""
        for period in self.meal_periods:
            if period.contains(local_time):
                return period
        return None


def _version_problems(v: PolicyVersion, categories: tuple) -> tuple[Problem, ...]:
    problems: list[Problem] = []

    def bad(path: str, message: str) -> None:
        problems.append(Problem(path, message))

    if not isinstance(v.version, str) or not v.version.strip():
        bad("version", "must not be empty")
    if not isinstance(v.effective_from, date) or isinstance(v.effective_from, datetime):
        bad("effective_from", f"must be a date (YYYY-MM-DD, unquoted), got {v.effective_from!r}")
    before: AgeTier | None = None
    for i, tier in enumerate(v.age_tiers):
        p = f"age_tiers[{i}]"
        if not isinstance(tier, AgeTier):
            bad(p, f"must be an age tier {{ min_age = 60, discount_fen = 300 }}, got {tier!r}")
            continue
        if not _whole(tier.min_age) or tier.min_age < 1:
            bad(f"{p}.min_age", f"must be a whole number of years > 0, got {tier.min_age!r}")
            continue
        if tier.min_age > MAX_AGE:
            bad(f"{p}.min_age", f"must be at most {MAX_AGE} years, got {tier.min_age}")
        if not _whole(tier.discount_fen) or tier.discount_fen < 1:
            bad(f"{p}.discount_fen", f"must be a whole number of fen > 0, got {tier.discount_fen!r}")
            continue
        if before is not None and tier.min_age <= before.min_age:
            bad(f"{p}.min_age", f"must be greater than the tier before it ({before.min_age}): "
                                f"list tiers in increasing age without overlap, got {tier.min_age}")
        elif before is not None and tier.discount_fen < before.discount_fen:
            bad(f"{p}.discount_fen", f"must not be smaller than the younger tier's ({before.discount_fen}), "
                                     f"got {tier.discount_fen}")
        before = tier
    for flag in ("residency_required", "walk_in_id_counts_as_resident"):
        if not isinstance(getattr(v, flag), bool):
            bad(flag, f"must be true or false, got {getattr(v, flag)!r}")
    for i, category in enumerate(categories):
        if category not in WORKER_CATEGORIES:
            bad(f"welfare_categories[{i}]",
                f"is not a known worker category ({', '.join(WORKER_CATEGORIES)}), got {category!r}")
    if not _whole(v.free_meals_per_day) or v.free_meals_per_day < 0:
        bad("free_meals_per_day", f"must be a whole number of meals >= 0, got {v.free_meals_per_day!r}")
    if not _whole(v.meals_per_limit) or v.meals_per_limit < 1:
        bad("meals_per_limit", f"must be a whole number of meals > 0, got {v.meals_per_limit!r}")
    if v.per_week is not None and (not _whole(v.per_week) or v.per_week < 1):
        bad("per_week", f"must be a whole number of meals >= 1, got {v.per_week!r}")
    if v.limit_per not in ("day", "period"):
        bad("limit_per", f"must be \"day\" or \"period\", got {v.limit_per!r}")
    previous: MealPeriod | None = None
    names: set[str] = set()
    for i, period in enumerate(v.meal_periods):
        p = f"meal_periods[{i}]"
        if not isinstance(period, MealPeriod):
            bad(p, f"must be a meal period {{ name = \"lunch\", start = \"10:30\", end = \"14:00\" }}, got {period!r}")
            continue
        if not isinstance(period.name, str) or not period.name.strip():
            bad(f"{p}.name", "must not be empty")
        elif period.name in names:
            bad(f"{p}.name", f"repeats the meal period name {period.name!r}")
        names.add(period.name)
        if not isinstance(period.start, time) or not isinstance(period.end, time):
            bad(p, "needs a start and an end time")
            continue
        if period.end <= period.start:
            bad(f"{p}.end", f"must be after start ({period.start:%H:%M}), got {period.end:%H:%M}")
        elif previous is not None and period.start < previous.end:
            bad(f"{p}.start", f"overlaps the period before it (ends {previous.end:%H:%M}), got {period.start:%H:%M}")
        previous = period
    if v.limit_per == "period" and not v.meal_periods:
        bad("meal_periods", "must list the meal periods when the limit is per period")
    return tuple(problems)


@dataclass(frozen=True)
class Policy:
    """All versions of the policy, oldest first: ``effective_from`` strictly increasing,
    each ``version`` name used once."""

    versions: tuple[PolicyVersion, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "versions", tuple(self.versions))
        problems = []
        for i in range(1, len(self.versions)):
            earlier, later = self.versions[i - 1], self.versions[i]
            if later.effective_from <= earlier.effective_from:
                problems.append(Problem(f"versions[{i}].effective_from",
                                        f"must be later than the version before it ({earlier.effective_from}); "
                                        f"list versions oldest first, got {later.effective_from}"))
            elif later.version in {v.version for v in self.versions[:i]}:
                problems.append(Problem(f"versions[{i}].version", f"repeats version {later.version!r}"))
        if problems:
            raise PolicyError("; ".join(map(str, problems)), tuple(problems))

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

    def in_force_or_none(self, business_date: date) -> PolicyVersion | None:
        """:meth:`in_force`, or None before every version (for pages that show the policy)."""
        try:
            return self.in_force(business_date)
        except PolicyError:
            return None

    def free_meal_cap(self, business_date: date) -> int:
        """The daily free-meal cap of the version in force on the date (0 before every version)."""
        policy = self.in_force_or_none(business_date)
        return policy.free_meals_per_day if policy is not None else 0

    def by_version(self, version: str) -> PolicyVersion:
        for v in self.versions:
            if v.version == version:
                return v
        raise PolicyError(f"unknown policy version {version!r}")
