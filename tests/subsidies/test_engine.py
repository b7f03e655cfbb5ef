"""decide(): the rules at every boundary, read as tables.

The tables live in decision_cases.py and decision_cases_limits.py: the same rows are the
table of decision cases the till's port of the rules must answer alike
(test_decision_table.py).  Each test here runs one table through the engine and checks
what the table says, and what the rule it is named after adds."""
import json
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone

import pytest
from decision_cases import (
    AGE_TIERS,
    BUSINESS_DATE,
    CAPPED_AT_THE_TOTAL,
    CLOSEST_REFUSAL,
    FREE_MEAL_CAP,
    LEAP_BIRTHS,
    LUNCH,
    NOON,
    PER_PERIOD,
    POLICY,
    PRECEDENCE,
    RESIDENCY,
    SET_MEAL,
    SOUP,
    TICKETS,
    V1,
    V2,
    WELFARE_LINES,
    WELFARE_LUNCH,
    WHO_EATS_FREE,
    Case,
    named,
    worker,
)
from decision_cases_limits import (
    DAILY_LIMIT,
    LIFE_EVENTS,
    MEAL_PERIOD_LIMIT,
    PROOFS,
    REFUSED_FIRST,
    VERSIONS,
    WEEKLY_LIMIT,
)

from subsidies.business_day import business_moment, week_of
from subsidies.engine import (
    CODES,
    Counters,
    Decision,
    DinerFacts,
    Order,
    OrderLine,
    decide,
    period_key,
    standing,
)
from subsidies.expiry import add_months, verified_until
from subsidies.policy import (
    WORKER_CATEGORIES,
    WORKER_CATEGORY_NAMES,
    AgeTier,
    MealPeriod,
    Policy,
    PolicyError,
)


def run(diner, order=LUNCH, *, policy=POLICY, business_date=BUSINESS_DATE,
        local_time=NOON, counters=Counters()) -> Decision:
    return decide(policy=policy, diner=diner, order=order, business_date=business_date,
                  local_time=local_time, counters=counters)


def rows(cases: tuple[Case, ...]):
    return pytest.mark.parametrize("case", cases, ids=[c.label for c in cases])


def decided(case: Case) -> Decision:
    """The case's decision, once it says what the case's table says."""
    decision = case.decide()
    assert case.observed(decision) == case.expect
    return decision


# -- age tiers -------------------------------------------------------------------------------

@rows(AGE_TIERS)
def test_the_highest_age_tier_reached_on_the_business_date_applies(case):
    decision = decided(case)
    assert decision.applies_to == ("total" if decision.amount_fen else "none")
    assert decision.granted == bool(decision.amount_fen)


@rows(LEAP_BIRTHS)
def test_a_29_february_birth_reaches_the_new_age_on_29_february_in_leap_years_and_1_march_otherwise(case):
    decided(case)


@rows(CAPPED_AT_THE_TOTAL)
def test_the_age_discount_never_makes_the_total_negative(case):
    decision = decided(case)
    assert 0 < decision.amount_fen <= case.order.gross_fen


# -- residency ------------------------------------------------------------------------------

@rows(RESIDENCY)
def test_the_age_discount_follows_the_residency_setting(case):
    decided(case)


def test_a_walk_in_is_told_a_typed_resident_id_does_not_qualify():
    decision = decided(named(RESIDENCY, "walk-in, residents only"))
    assert "does not qualify" in decision.reason_en
    assert decision.considered[0].rule_id == "age_tier:60"  # the rule that was looked at


# -- free welfare meals ---------------------------------------------------------------------

@rows(FREE_MEAL_CAP)
def test_at_most_40_free_meals_a_day(case):
    decision = decided(case)
    if decision.granted:
        assert (decision.applies_to, decision.line_index, decision.rule_id) == ("line", 0, "free_meal")


@rows(WELFARE_LINES)
def test_the_free_meal_covers_one_unit_of_the_most_expensive_welfare_set_meal(case):
    decision = decided(case)
    if decision.granted:
        line = case.order.lines[decision.line_index]
        assert line.welfare_meal and decision.amount_fen == line.unit_price_fen


@rows(WHO_EATS_FREE)
def test_only_verified_registered_workers_of_a_welfare_category_eat_free(case):
    decided(case)


@rows(TICKETS)
def test_a_daily_ticket_is_good_once_on_its_own_business_date_only(case):
    decision = decided(case)
    assert "age_tier" not in {c.kind for c in decision.considered}  # no age on a ticket


def test_a_free_meal_reads_the_same_for_a_worker_and_a_ticket_holder():
    by_worker = decided(named(FREE_MEAL_CAP, "none used"))
    by_ticket = decided(named(TICKETS, "for today"))
    assert (by_worker.reason_zh, by_worker.reason_en) == (by_ticket.reason_zh, by_ticket.reason_en)


# -- precedence: the most favourable benefit --------------------------------------------------

@rows(PRECEDENCE)
def test_the_larger_benefit_wins_and_a_tie_goes_to_the_free_meal(case):
    decision = decided(case)
    eligible = [c.amount_fen for c in decision.considered if c.eligible]
    assert decision.amount_fen == max(eligible)


@rows(CLOSEST_REFUSAL)
def test_when_nothing_applies_the_reason_is_the_one_closest_to_succeeding(case):
    decision = decided(case)
    assert not decision.granted
    assert (decision.code, decision.reason_zh, decision.reason_en) in \
        {(c.code, c.reason_zh, c.reason_en) for c in decision.considered}


# -- refusals before any benefit is considered ----------------------------------------------

@rows(REFUSED_FIRST)
def test_diners_who_cannot_have_a_subsidy_are_told_why(case):
    decision = decided(case)
    assert (decision.amount_fen, decision.kind) == (0, None)
    assert decision.considered == ()
    assert decision.reason_zh and decision.reason_en


@rows(DAILY_LIMIT)
def test_the_number_of_subsidised_meals_per_day_is_configurable(case):
    decided(case)


# -- the weekly limit (per_week) ------------------------------------------------------------

@rows(WEEKLY_LIMIT)
def test_a_weekly_limit_counts_the_diners_subsidised_meals_this_week(case):
    decision = decided(case)
    assert decision.granted == (decision.code in ("age_tier", "free_meal"))
    if decision.code == "weekly_limit_reached":
        assert (decision.amount_fen, decision.kind, decision.considered) == (0, None, ())


@pytest.mark.parametrize(
    ("day", "monday"),
    [
        (date(2026, 3, 2), date(2026, 3, 2)),    # a Monday starts its own week
        (date(2026, 3, 4), date(2026, 3, 2)),
        (date(2026, 3, 8), date(2026, 3, 2)),    # the Sunday ends it
        (date(2026, 3, 9), date(2026, 3, 9)),
        (date(2026, 1, 1), date(2025, 12, 29)),  # a week across the new year
        (date(2028, 3, 1), date(2028, 2, 28)),   # and across 29 February
    ],
)
def test_the_week_runs_monday_to_sunday_of_the_business_date(day, monday):
    assert week_of(day) == (monday, monday + timedelta(days=6))


def test_the_week_follows_the_canteens_clock_not_utc():
    # 00:30 on Monday 9 March in Beijing is still Sunday 8 March in UTC: a new week already.
    instant = datetime(2026, 3, 8, 16, 30, tzinfo=timezone.utc)
    day, _ = business_moment(instant, "Asia/Shanghai")
    assert week_of(day)[0] == date(2026, 3, 9)
    assert week_of(instant.date())[0] == date(2026, 3, 2)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "5"])
def test_per_week_must_be_a_whole_number_of_meals(bad):
    with pytest.raises(PolicyError) as e:
        replace(POLICY, per_week=bad)
    assert [p.path for p in e.value.problems] == ["per_week"]
    assert "whole number of meals >= 1" in str(e.value)


def test_counters_refuse_a_negative_week():
    with pytest.raises(ValueError):
        Counters(diner_week=-1)


# -- meal periods ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("policy", "local_time", "key"),
    [
        (POLICY, time(3, 0), ""),
        (POLICY, NOON, ""),
        (PER_PERIOD, time(6, 29), None),
        (PER_PERIOD, time(6, 30), "breakfast"),
        (PER_PERIOD, time(8, 59, 59), "breakfast"),
        (PER_PERIOD, time(9, 0), None),
        (PER_PERIOD, time(11, 0), "lunch"),
        (PER_PERIOD, time(13, 29), "lunch"),
        (PER_PERIOD, time(13, 30), None),
        (PER_PERIOD, time(17, 0), "dinner"),
    ],
)
def test_period_key_names_the_span_a_limit_counts_over(policy, local_time, key):
    assert period_key(policy, local_time) == key



@rows(MEAL_PERIOD_LIMIT)
def test_a_per_period_limit_counts_each_meal_period(case):
    decision = decided(case)
    assert decision.period == (period_key(case.policy, case.local_time) or "")


# -- policy versions and the business date ----------------------------------------------------

POLICY_HISTORY = Policy((V1, V2))


@rows(VERSIONS)
def test_the_version_in_force_switches_at_local_midnight(case):
    assert POLICY_HISTORY.in_force(case.business_date) == case.policy
    decided(case)


@pytest.mark.parametrize(
    "instant",
    [datetime(2026, 2, 28, 16, 30, tzinfo=timezone.utc),
     datetime(2026, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=8)))],
)
def test_a_sale_at_00_30_beijing_time_belongs_to_the_new_local_date(instant):
    case = named(VERSIONS, "00:30 on the day one turns 60")  # 59 by the UTC date, 60 by the local one
    assert business_moment(instant, "Asia/Shanghai") == (case.business_date, case.local_time)
    decided(case)


def test_a_naive_datetime_is_refused_rather_than_guessed():
    with pytest.raises(ValueError, match="aware"):
        business_moment(datetime(2026, 3, 1, 0, 30))


def test_a_date_before_every_version_is_an_error():
    with pytest.raises(PolicyError, match="2025-12-31"):
        POLICY_HISTORY.in_force(date(2025, 12, 31))


@pytest.mark.parametrize(
    "changes",
    [
        dict(age_tiers=(AgeTier(60, 0),)),
        dict(age_tiers=(AgeTier(80, 700), AgeTier(60, 300))),
        dict(age_tiers=(AgeTier(60, 700), AgeTier(80, 300))),   # an older tier must not get less
        dict(age_tiers=(AgeTier(0, 300),)),
        dict(age_tiers=(AgeTier(131, 300),)),
        dict(limit_per="period", meal_periods=()),
        dict(meals_per_limit=0),
        dict(welfare_categories=frozenset({"astronaut"})),
        dict(limit_per="period", meal_periods=(MealPeriod("lunch", time(11), time(14)),
                                               MealPeriod("late", time(13), time(15)))),
    ],
)
def test_an_unsound_policy_version_cannot_be_built_so_is_never_applied(changes):
    with pytest.raises(PolicyError) as e:
        replace(POLICY, **changes)
    assert e.value.problems, "the refusal names the field at fault"


# -- what the decision looks like --------------------------------------------------------------

def test_no_reason_names_the_diners_worker_category():
    names = [text for pair in WORKER_CATEGORY_NAMES.values() for text in pair]
    names += list(WORKER_CATEGORIES)
    decisions = [run(worker(c, verified=v, birth_date=b, resident=r), o,
                     counters=Counters(free_meals_used=u))
                 for c in WORKER_CATEGORIES for v in (True, False)
                 for b in (None, date(1950, 1, 1)) for r in (True, False)
                 for o in (LUNCH, WELFARE_LUNCH) for u in (0, 40)]
    for decision in decisions:
        texts = [decision.reason_zh, decision.reason_en]
        texts += [t for c in decision.considered for t in (c.reason_zh, c.reason_en)]
        for text in texts:
            assert not any(name.lower() in text.lower() for name in names), text


def test_as_dict_is_json_ready_with_integer_fen():
    decision = run(worker(birth_date=date(1963, 6, 1), resident=True), WELFARE_LUNCH)
    data = json.loads(json.dumps(decision.as_dict(), ensure_ascii=False))
    assert data["kind"] == "free_meal" and data["granted"] is True
    assert data["amount_fen"] == 1500 and isinstance(data["amount_fen"], int)
    assert data["line_index"] == 0 and data["policy_version"] == "2026-01"
    assert [c["kind"] for c in data["considered"]] == ["age_tier", "free_meal"]


def test_every_decision_code_is_a_documented_code():
    assert {"age_tier", "free_meal", "empty_order", "limit_reached", "weekly_limit_reached"} <= set(CODES)
    assert len(CODES) == len(set(CODES))


@pytest.mark.parametrize(
    "build",
    [lambda: OrderLine(1, "x", 12.5, 1), lambda: OrderLine(1, "x", -1, 1),
     lambda: OrderLine(1, "x", 100, 0), lambda: OrderLine(1, "x", True, 1),
     lambda: Counters(free_meals_used=-1), lambda: DinerFacts("vip")],
)
def test_inputs_that_are_not_whole_fen_or_known_kinds_are_refused(build):
    with pytest.raises(ValueError):
        build()


def test_line_and_order_totals_are_exact_fen():
    assert SOUP.line_total_fen == 600
    assert WELFARE_LUNCH.gross_fen == 2100
    assert Order([SET_MEAL]).lines == (SET_MEAL,)


# -- verification with an expiry, and life events ----------------------------------------------

@pytest.mark.parametrize(
    ("verified_on", "months", "until"),
    [
        (date(2025, 3, 10), 12, date(2026, 3, 9)),
        (date(2025, 1, 31), 1, date(2025, 2, 27)),   # no 31 February: the count ends on the 28th
        (date(2024, 2, 29), 12, date(2025, 2, 27)),  # 29 February + a year → 28 February
        (date(2025, 12, 15), 3, date(2026, 3, 14)),  # across the turn of the year
        (date(2025, 3, 10), 0, None),                # 0 months: never expires
        (None, 12, None),                            # never verified
    ],
)
def test_a_proof_counts_until_the_day_before_the_same_date_months_later(verified_on, months, until):
    assert verified_until(verified_on, months) == until


def test_months_move_back_as_well_as_on():
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert add_months(date(2026, 1, 15), -13) == date(2024, 12, 15)


@rows(PROOFS)
def test_a_proof_of_work_or_of_residency_counts_until_its_last_day(case):
    decided(case)


@rows(LIFE_EVENTS)
def test_a_diner_recorded_as_deceased_or_moved_away_has_no_benefit_from_that_date(case):
    decision = decided(case)
    if decision.code == case.diner.left:
        on = case.diner.left_on.isoformat()
        assert on in decision.reason_zh and on in decision.reason_en


def test_a_life_event_needs_its_date():
    with pytest.raises(ValueError):
        DinerFacts("registered", left="deceased")
    with pytest.raises(ValueError):
        DinerFacts("registered", left="emigrated", left_on=date(2026, 3, 10))


def test_standing_names_what_stands_against_a_diner_before_any_order():
    assert standing(worker(), BUSINESS_DATE) is None
    expired = replace(worker(), worker_verified_until=BUSINESS_DATE - timedelta(days=1))
    assert standing(expired, BUSINESS_DATE)[0] == "worker_proof_expired"
    gone = replace(expired, left="moved_away", left_on=BUSINESS_DATE)
    assert standing(gone, BUSINESS_DATE)[0] == "moved_away"  # the life event first
    not_yet = replace(gone, left_on=BUSINESS_DATE + timedelta(days=1))
    assert standing(not_yet, BUSINESS_DATE)[0] == "worker_proof_expired"
