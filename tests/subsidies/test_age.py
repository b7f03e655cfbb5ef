"""Age in full years (周岁) on the business date, including 29 February births."""
from datetime import date, timedelta

import pytest
from hypothesis import given, strategies as st

from subsidies.age import age_on


@pytest.mark.parametrize(
    ("birth_date", "on", "age"),
    [
        # birthday today counts, tomorrow does not yet
        (date(1966, 3, 1), date(2026, 3, 1), 60),
        (date(1966, 3, 2), date(2026, 3, 1), 59),
        (date(1966, 2, 28), date(2026, 3, 1), 60),
        (date(1946, 3, 1), date(2026, 3, 1), 80),
        (date(1946, 3, 2), date(2026, 3, 1), 79),
        # end of year / start of year
        (date(1965, 12, 31), date(2025, 12, 31), 60),
        (date(1966, 1, 1), date(2025, 12, 31), 59),
        # born today
        (date(2026, 3, 1), date(2026, 3, 1), 0),
    ],
)
def test_age_counts_full_years_and_a_birthday_today_counts(birth_date, on, age):
    assert age_on(birth_date, on) == age


@pytest.mark.parametrize(
    ("on", "age"),
    [
        (date(2024, 2, 28), 59),  # leap year: not yet
        (date(2024, 2, 29), 60),  # leap year: on the day itself
        (date(2024, 3, 1), 60),
        (date(2025, 2, 28), 60),  # common year: still 60 on 28 February
        (date(2025, 3, 1), 61),   # common year: new age on 1 March
        (date(2100, 2, 28), 135), # 2100 is a common year too
        (date(2100, 3, 1), 136),
    ],
)
def test_a_29_february_birth_reaches_the_new_age_on_1_march_in_common_years(on, age):
    assert age_on(date(1964, 2, 29), on) == age


def test_a_birth_date_after_the_day_is_refused():
    with pytest.raises(ValueError, match="after"):
        age_on(date(2026, 3, 2), date(2026, 3, 1))


def _oracle_age(birth: date, on: date) -> int:
    """Independent count: the latest birthday anniversary on or before ``on``;
    a 29 February anniversary in a common year falls on 1 March."""
    age = on.year - birth.year
    while age > 0:
        try:
            anniversary = birth.replace(year=birth.year + age)
        except ValueError:  # 29 February in a common year
            anniversary = date(birth.year + age, 3, 1)
        if anniversary <= on:
            return age
        age -= 1
    return 0


@given(st.dates(date(1900, 1, 1), date(2030, 12, 31)), st.integers(0, 130 * 366))
def test_age_agrees_with_an_independent_anniversary_count(birth, days):
    on = birth + timedelta(days=days)
    assert age_on(birth, on) == _oracle_age(birth, on)


@given(st.dates(date(1900, 1, 1), date(2030, 12, 31)), st.integers(0, 130 * 366))
def test_age_never_goes_down_from_one_day_to_the_next(birth, days):
    on = birth + timedelta(days=days)
    assert 0 <= age_on(birth, on + timedelta(days=1)) - age_on(birth, on) <= 1
