"""Age in full years (周岁), the way the age discount counts it.

Age is always taken on the *business date* in the canteen's time zone, never on the
server's clock: a sale at 00:30 Beijing time belongs to the new local date.
"""
from __future__ import annotations

from datetime import date


def age_on(birth_date: date, on: date) -> int:
    """Full years of age (周岁) reached by ``on``.

    A birthday on ``on`` counts: someone born on 1966-03-01 is 60 on 2026-03-01.

    29 February: someone born on 29 February reaches the new age on 29 February in leap
    years and on **1 March in common years** (on 28 February they are still the old age).
    So a person born on 1964-02-29 is 59 on 2024-02-28, 60 on 2024-02-29, and 61 only on
    2025-03-01.

    Raises ``ValueError`` when ``on`` is before ``birth_date``: a date of birth in the
    future is bad data, not an age.
    """
    if on < birth_date:
        raise ValueError(
            f"date of birth {birth_date.isoformat()} is after {on.isoformat()}"
        )
    years = on.year - birth_date.year
    # Comparing (month, day) pairs makes 29 Feb fall between 28 Feb and 1 Mar in every
    # year, so in a common year the birthday is "reached" on 1 March.
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years
