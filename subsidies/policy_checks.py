"""Soundness checks for a policy version, returned as data.

``pos.config`` validates ``config.toml`` field by field at start-up; these checks are the
engine's own guard, so a policy built by hand (in a test, a script or a migration) cannot
be applied when it makes no sense.
"""
from __future__ import annotations

from subsidies.policy import WORKER_CATEGORIES, PolicyVersion


def policy_problems(version: PolicyVersion) -> tuple[str, ...]:
    """Everything wrong with a policy version, in English, as data (empty when sound).

    Usable at start-up next to ``pos.config``; the engine refuses to decide
    with a version that has problems (see ``subsidies.engine.decide``).
    """
    problems: list[str] = []
    v = version.version
    mins = [t.min_age for t in version.age_tiers]
    if mins != sorted(set(mins)):
        problems.append(f"{v}: age tiers must be sorted by min_age with no repeats, got {mins}")
    for t in version.age_tiers:
        if not isinstance(t.min_age, int) or isinstance(t.min_age, bool) or t.min_age < 0:
            problems.append(f"{v}: age tier min_age must be a whole number >= 0, got {t.min_age!r}")
        if not isinstance(t.discount_fen, int) or isinstance(t.discount_fen, bool) or t.discount_fen <= 0:
            problems.append(f"{v}: {t.rule_id} discount must be whole fen > 0, got {t.discount_fen!r}")
    unknown = sorted(set(version.welfare_categories) - set(WORKER_CATEGORIES))
    if unknown:
        problems.append(f"{v}: unknown welfare categories {unknown}; known: {list(WORKER_CATEGORIES)}")
    if not isinstance(version.free_meals_per_day, int) or version.free_meals_per_day < 0:
        problems.append(f"{v}: free_meals_per_day must be a whole number >= 0")
    if not isinstance(version.meals_per_limit, int) or version.meals_per_limit < 1:
        problems.append(f"{v}: meals_per_limit must be a whole number >= 1")
    if version.limit_per not in ("day", "period"):
        problems.append(f"{v}: limit_per must be 'day' or 'period', got {version.limit_per!r}")
    if version.limit_per == "period" and not version.meal_periods:
        problems.append(f"{v}: limit_per = 'period' needs at least one meal period")
    names = [p.name for p in version.meal_periods]
    if len(set(names)) != len(names):
        problems.append(f"{v}: meal period names must be distinct, got {names}")
    for p in version.meal_periods:
        if not p.name:
            problems.append(f"{v}: every meal period needs a name")
        if not p.start < p.end:
            problems.append(f"{v}: meal period {p.name!r} must start before it ends")
    spans = sorted((p.start, p.end, p.name) for p in version.meal_periods)
    for (s1, e1, n1), (s2, _e2, n2) in zip(spans, spans[1:]):
        if s2 < e1:
            problems.append(f"{v}: meal periods {n1!r} and {n2!r} overlap")
    return tuple(problems)
