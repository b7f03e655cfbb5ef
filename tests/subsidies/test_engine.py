"""decide(): the rules at every boundary, read as tables."""
import json
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone

import pytest

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
)
from subsidies.policy import (
    WORKER_CATEGORIES,
    WORKER_CATEGORY_NAMES,
    AgeTier,
    MealPeriod,
    Policy,
    PolicyError,
    PolicyVersion,
)

BUSINESS_DATE = date(2026, 3, 1)
NOON = time(12, 0)

POLICY = PolicyVersion(
    version="2026-01",
    effective_from=date(2026, 1, 1),
    age_tiers=(AgeTier(60, 300), AgeTier(80, 700)),
    free_meals_per_day=40,
)
MEAL_PERIODS = (
    MealPeriod("breakfast", time(6, 30), time(9, 0)),
    MealPeriod("lunch", time(11, 0), time(13, 30)),
    MealPeriod("dinner", time(17, 0), time(19, 30)),
)
PER_PERIOD = replace(POLICY, version="2026-01-period", limit_per="period",
                     meal_periods=MEAL_PERIODS)

SET_MEAL = OrderLine(1, "公益套餐", 1500, 1, welfare_meal=True)
RICE = OrderLine(2, "米饭", 200, 1)
PORK = OrderLine(3, "红烧肉", 1800, 1)
SOUP = OrderLine(4, "例汤", 300, 2)

LUNCH = Order((PORK, RICE))
WELFARE_LUNCH = Order((SET_MEAL, SOUP))


def resident(birth_date, **facts):
    return DinerFacts("registered", birth_date=birth_date, resident=True, **facts)


def worker(category="sanitation_worker", *, verified=True, birth_date=None, resident=False):
    return DinerFacts("registered", birth_date=birth_date, resident=resident,
                      worker_category=category, worker_verified=verified)


def ticket(ticket_date=BUSINESS_DATE):
    return DinerFacts("ticket", ticket_date=ticket_date)


def run(diner, order=LUNCH, *, policy=POLICY, business_date=BUSINESS_DATE,
        local_time=NOON, counters=Counters()) -> Decision:
    return decide(policy=policy, diner=diner, order=order, business_date=business_date,
                  local_time=local_time, counters=counters)


# -- age tiers -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("birth_date", "code", "amount", "rule_id"),
    [
        (date(1966, 3, 2), "too_young", 0, None),            # 59, 60 tomorrow
        (date(1966, 3, 1), "age_tier", 300, "age_tier:60"),  # 60 today
        (date(1966, 2, 28), "age_tier", 300, "age_tier:60"),
        (date(1946, 3, 2), "age_tier", 300, "age_tier:60"),  # 79, 80 tomorrow
        (date(1946, 3, 1), "age_tier", 700, "age_tier:80"),  # 80 today
        (date(1920, 5, 5), "age_tier", 700, "age_tier:80"),
        (date(1990, 1, 1), "too_young", 0, None),
    ],
)
def test_the_highest_age_tier_reached_on_the_business_date_applies(birth_date, code, amount,
                                                                  rule_id):
    decision = run(resident(birth_date))
    assert (decision.code, decision.amount_fen, decision.rule_id) == (code, amount, rule_id)
    assert decision.applies_to == ("total" if amount else "none")
    assert decision.granted == bool(amount)


def test_age_tier_reasons_read_like_the_notice_on_the_wall():
    decision = run(resident(date(1940, 1, 1)))
    assert decision.reason_zh == "80周岁以上长者立减 ¥7.00"
    assert decision.reason_en == "Age 80+ discount ¥7.00"
    young = run(resident(date(1980, 1, 1)))
    assert young.reason_en == "Under 60 (aged 46): no age discount"


# 29 February births: with a 65+ tier, a 1960-02-29 birth turns 65 in common year 2025.
TIERS_WITH_65 = replace(POLICY, age_tiers=(AgeTier(60, 300), AgeTier(65, 500), AgeTier(80, 700)))


@pytest.mark.parametrize(
    ("business_date", "amount"),
    [
        (date(2025, 2, 28), 300),  # common year: still 64 on 28 February
        (date(2025, 3, 1), 500),   # common year: 65 on 1 March
    ],
)
def test_a_29_february_birth_reaches_a_tier_on_1_march_in_common_years(business_date, amount):
    decision = run(resident(date(1960, 2, 29)), policy=TIERS_WITH_65,
                   business_date=business_date)
    assert decision.amount_fen == amount


@pytest.mark.parametrize(
    ("business_date", "code"),
    [(date(2020, 2, 28), "too_young"), (date(2020, 2, 29), "age_tier"),
     (date(2020, 3, 1), "age_tier")],
)
def test_a_29_february_birth_reaches_60_on_29_february_in_a_leap_year(business_date, code):
    assert run(resident(date(1960, 2, 29)), business_date=business_date).code == code


@pytest.mark.parametrize(
    ("order", "amount", "capped"),
    [
        (Order((RICE,)), 200, True),                       # ¥2.00 order, ¥7.00 discount
        (Order((OrderLine(5, "粥", 700, 1),)), 700, False),  # exactly the discount
        (Order((OrderLine(5, "粥", 100, 3),)), 300, True),
        (LUNCH, 700, False),
    ],
)
def test_the_age_discount_never_makes_the_total_negative(order, amount, capped):
    decision = run(resident(date(1940, 1, 1)), order)
    assert decision.amount_fen == amount
    assert decision.amount_fen <= order.gross_fen
    assert ("capped at the order total" in decision.reason_en) == capped


# -- residency ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("diner", "required", "walk_in_counts", "code"),
    [
        (DinerFacts("registered", birth_date=date(1950, 1, 1), resident=True), True, False,
         "age_tier"),
        (DinerFacts("registered", birth_date=date(1950, 1, 1), resident=False), True, False,
         "not_resident"),
        (DinerFacts("registered", birth_date=date(1950, 1, 1), resident=False), False, False,
         "age_tier"),
        (DinerFacts("walk_in", birth_date=date(1950, 1, 1)), True, False, "not_resident"),
        (DinerFacts("walk_in", birth_date=date(1950, 1, 1)), True, True, "age_tier"),
        (DinerFacts("walk_in", birth_date=date(1950, 1, 1)), False, False, "age_tier"),
        (DinerFacts("registered", resident=True), True, False, "no_birth_date"),
    ],
)
def test_the_age_discount_follows_the_residency_setting(diner, required, walk_in_counts, code):
    policy = replace(POLICY, residency_required=required,
                     walk_in_id_counts_as_resident=walk_in_counts)
    assert run(diner, policy=policy).code == code


def test_a_walk_in_is_told_a_typed_resident_id_does_not_qualify():
    decision = run(DinerFacts("walk_in", birth_date=date(1950, 1, 1)))
    assert "does not qualify" in decision.reason_en
    assert decision.considered[0].rule_id == "age_tier:60"  # the rule that was looked at


# -- free welfare meals ---------------------------------------------------------------------

@pytest.mark.parametrize(
    ("used", "code", "amount"),
    [(0, "free_meal", 1500), (39, "free_meal", 1500), (40, "free_meals_gone", 0),
     (41, "free_meals_gone", 0)],
)
def test_at_most_40_free_meals_a_day(used, code, amount):
    decision = run(worker(), WELFARE_LUNCH, counters=Counters(free_meals_used=used))
    assert (decision.code, decision.amount_fen) == (code, amount)
    if decision.granted:
        assert (decision.applies_to, decision.line_index, decision.rule_id) == \
            ("line", 0, "free_meal")


def test_the_refusal_when_free_meals_are_gone_says_how_many():
    decision = run(worker(), WELFARE_LUNCH, counters=Counters(free_meals_used=40))
    assert decision.reason_zh == "今日公益套餐已发完（40/40）"
    assert decision.reason_en == "Today's free welfare meals are all taken (40/40)"


def test_the_free_meal_covers_one_unit_of_the_most_expensive_welfare_set_meal():
    cheap = OrderLine(7, "公益小份", 1000, 1, welfare_meal=True)
    dear = OrderLine(8, "公益套餐", 1600, 2, welfare_meal=True)
    decision = run(worker(), Order((RICE, cheap, dear)))
    assert (decision.amount_fen, decision.line_index) == (1600, 2)


@pytest.mark.parametrize(
    ("diner", "policy", "code"),
    [
        (worker(verified=False), POLICY, "worker_not_verified"),
        (worker(category=None), POLICY, "not_a_worker"),
        (worker("delivery_rider"),
         replace(POLICY, welfare_categories=frozenset({"sanitation_worker"})), "not_a_worker"),
        (DinerFacts("walk_in", worker_category="cleaner", worker_verified=True), POLICY,
         "not_a_worker"),
        (worker(), replace(POLICY, free_meals_per_day=0), "free_meals_gone"),
    ],
)
def test_only_verified_registered_workers_of_a_welfare_category_eat_free(diner, policy, code):
    decision = run(diner, WELFARE_LUNCH, policy=policy)
    free_meal = next(c for c in decision.considered if c.kind == "free_meal")
    assert (free_meal.eligible, free_meal.code, free_meal.amount_fen) == (False, code, 0)
    assert not decision.granted


@pytest.mark.parametrize("category", WORKER_CATEGORIES)
def test_every_worker_category_gets_the_free_meal_by_default(category):
    assert run(worker(category), WELFARE_LUNCH).kind == "free_meal"


def test_a_worker_without_a_welfare_set_meal_in_the_order_is_told_so():
    decision = run(worker(), LUNCH)
    assert decision.code == "no_welfare_item"
    assert decision.reason_en == "There is no welfare set meal in the order"


@pytest.mark.parametrize(
    ("ticket_date", "code"),
    [(BUSINESS_DATE, "free_meal"), (BUSINESS_DATE - timedelta(days=1), "ticket_wrong_date"),
     (BUSINESS_DATE + timedelta(days=1), "ticket_wrong_date"), (None, "ticket_wrong_date")],
)
def test_a_daily_ticket_is_good_on_its_own_business_date_only(ticket_date, code):
    assert run(ticket(ticket_date), WELFARE_LUNCH).code == code


def test_a_ticket_is_one_time_whatever_the_diner_limit():
    policy = replace(POLICY, meals_per_limit=3)
    used = run(ticket(), WELFARE_LUNCH, policy=policy, counters=Counters(diner_subsidised=1))
    assert used.code == "limit_reached"
    assert used.reason_en == "This free-meal ticket has already been used"
    assert run(ticket(), WELFARE_LUNCH, policy=policy).code == "free_meal"


def test_a_ticket_counts_against_the_daily_free_meal_cap():
    decision = run(ticket(), WELFARE_LUNCH, counters=Counters(free_meals_used=40))
    assert decision.code == "free_meals_gone"
    assert [c.kind for c in decision.considered] == ["free_meal"]  # no age on a ticket


# -- precedence: the most favourable benefit --------------------------------------------------

@pytest.mark.parametrize(
    ("used", "kind", "amount"),
    [(0, "free_meal", 1500), (39, "free_meal", 1500), (40, "age_tier", 300),
     (41, "age_tier", 300)],
)
def test_a_62_year_old_sanitation_worker_gets_the_free_meal_then_the_age_discount(used, kind,
                                                                                 amount):
    diner = worker(birth_date=date(1963, 6, 1), resident=True)
    decision = run(diner, WELFARE_LUNCH, counters=Counters(free_meals_used=used))
    assert (decision.kind, decision.amount_fen) == (kind, amount)
    assert {c.kind: c.eligible for c in decision.considered} == \
        {"age_tier": True, "free_meal": used < 40}


@pytest.mark.parametrize(
    ("set_meal_fen", "kind"),
    [(500, "age_tier"),    # ¥7.00 off beats a ¥5.00 set meal
     (700, "free_meal"),   # a tie goes to the free meal
     (701, "free_meal")],
)
def test_the_larger_benefit_wins_and_a_tie_goes_to_the_free_meal(set_meal_fen, kind):
    diner = worker(birth_date=date(1940, 1, 1), resident=True)
    order = Order((OrderLine(1, "公益套餐", set_meal_fen, 1, welfare_meal=True), PORK))
    assert run(diner, order).kind == kind


@pytest.mark.parametrize(
    ("diner", "counters", "code"),
    [
        (worker(birth_date=date(1990, 1, 1)), Counters(free_meals_used=40), "free_meals_gone"),
        (worker(verified=False, birth_date=date(1990, 1, 1)), Counters(), "worker_not_verified"),
        (resident(date(1990, 1, 1)), Counters(), "too_young"),
        (DinerFacts("registered", birth_date=date(1950, 1, 1)), Counters(), "not_resident"),
    ],
)
def test_when_nothing_applies_the_reason_is_the_one_closest_to_succeeding(diner, counters, code):
    decision = run(diner, WELFARE_LUNCH, counters=counters)
    assert not decision.granted
    assert decision.code == code
    assert decision.kind is None and decision.applies_to == "none"


# -- refusals before any benefit is considered ----------------------------------------------

@pytest.mark.parametrize(
    ("diner", "order", "counters", "code"),
    [
        (DinerFacts("anonymous"), WELFARE_LUNCH, Counters(), "no_credential"),
        (replace(worker(), suspended=True), WELFARE_LUNCH, Counters(), "suspended"),
        (resident(date(1940, 1, 1), suspended=True), LUNCH, Counters(), "suspended"),
        (resident(date(1940, 1, 1)), LUNCH, Counters(diner_subsidised=1), "limit_reached"),
        (worker(), WELFARE_LUNCH, Counters(diner_subsidised=1), "limit_reached"),
        (resident(date(1940, 1, 1)), Order(()), Counters(), "empty_order"),
        (resident(date(1940, 1, 1)), Order((OrderLine(9, "开水", 0, 1),)), Counters(),
         "empty_order"),
    ],
)
def test_diners_who_cannot_have_a_subsidy_are_told_why(diner, order, counters, code):
    decision = run(diner, order, counters=counters)
    assert (decision.code, decision.amount_fen, decision.kind) == (code, 0, None)
    assert decision.considered == ()
    assert decision.reason_zh and decision.reason_en


def test_a_second_subsidised_meal_today_is_refused_with_a_reason():
    decision = run(resident(date(1940, 1, 1)), counters=Counters(diner_subsidised=1))
    assert decision.reason_zh == "今日已享受过补贴餐（每日限1次）"
    assert decision.reason_en == "Already had a subsidised meal today (limit 1 a day)"


@pytest.mark.parametrize(("had", "granted"), [(0, True), (1, True), (2, False), (3, False)])
def test_the_number_of_subsidised_meals_per_day_is_configurable(had, granted):
    policy = replace(POLICY, meals_per_limit=2)
    decision = run(resident(date(1940, 1, 1)), policy=policy,
                   counters=Counters(diner_subsidised=had))
    assert decision.granted == granted


# -- the weekly limit (per_week) ------------------------------------------------------------

WEEKLY = replace(POLICY, version="2026-01-weekly", per_week=5)
WEEKLY_PER_PERIOD = replace(PER_PERIOD, version="2026-01-period-weekly", per_week=5)


@pytest.mark.parametrize(
    ("policy", "diner", "order", "counters", "code"),
    [
        (WEEKLY, resident(date(1940, 1, 1)), LUNCH, Counters(diner_week=0), "age_tier"),
        (WEEKLY, resident(date(1940, 1, 1)), LUNCH, Counters(diner_week=4), "age_tier"),
        (WEEKLY, resident(date(1940, 1, 1)), LUNCH, Counters(diner_week=5), "weekly_limit_reached"),
        (WEEKLY, resident(date(1940, 1, 1)), LUNCH, Counters(diner_week=6), "weekly_limit_reached"),
        (WEEKLY, worker(), WELFARE_LUNCH, Counters(diner_week=4), "free_meal"),
        (WEEKLY, worker(), WELFARE_LUNCH, Counters(diner_week=5), "weekly_limit_reached"),
        # the daily limit is told first: today's meal is the nearer reason
        (WEEKLY, resident(date(1940, 1, 1)), LUNCH, Counters(diner_subsidised=1, diner_week=5), "limit_reached"),
        # without per_week a week of meals changes nothing
        (POLICY, resident(date(1940, 1, 1)), LUNCH, Counters(diner_week=30), "age_tier"),
        # a one-time ticket's only limit is itself
        (WEEKLY, ticket(), WELFARE_LUNCH, Counters(diner_week=5), "free_meal"),
        # per meal period: a new period, but the week is used up
        (WEEKLY_PER_PERIOD, resident(date(1940, 1, 1)), LUNCH, Counters(diner_week=4), "age_tier"),
        (WEEKLY_PER_PERIOD, resident(date(1940, 1, 1)), LUNCH, Counters(diner_week=5), "weekly_limit_reached"),
        # nothing to refuse outside the meal periods, nor for the anonymous or suspended
        (WEEKLY, DinerFacts("anonymous"), LUNCH, Counters(diner_week=5), "no_credential"),
        (WEEKLY, resident(date(1940, 1, 1), suspended=True), LUNCH, Counters(diner_week=5), "suspended"),
    ],
)
def test_a_weekly_limit_counts_the_diners_subsidised_meals_this_week(policy, diner, order, counters, code):
    decision = run(diner, order, policy=policy, counters=counters)
    assert decision.code == code
    assert decision.granted == (code in ("age_tier", "free_meal"))
    if code == "weekly_limit_reached":
        assert (decision.amount_fen, decision.kind, decision.considered) == (0, None, ())


def test_a_used_up_week_is_refused_with_its_own_words():
    decision = run(resident(date(1940, 1, 1)), policy=WEEKLY, counters=Counters(diner_week=5))
    assert decision.reason_zh == "本周补贴次数已用完（每周 5 次），按菜单价结算"
    assert decision.reason_en == "This week's subsidised meals are used up (5 a week): menu price"
    assert "weekly_limit_reached" in CODES


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


@pytest.mark.parametrize(
    ("local_time", "had", "code", "period"),
    [
        (time(12, 0), 0, "age_tier", "lunch"),
        (time(12, 0), 1, "limit_reached", "lunch"),
        (time(18, 0), 0, "age_tier", "dinner"),
        (time(15, 0), 0, "outside_meal_period", ""),
        (time(15, 0), 1, "outside_meal_period", ""),
    ],
)
def test_a_per_period_limit_counts_each_meal_period(local_time, had, code, period):
    decision = run(resident(date(1940, 1, 1)), policy=PER_PERIOD, local_time=local_time,
                   counters=Counters(diner_subsidised=had))
    assert (decision.code, decision.period) == (code, period)


def test_a_per_period_refusal_names_the_period():
    decision = run(resident(date(1940, 1, 1)), policy=PER_PERIOD,
                   counters=Counters(diner_subsidised=1))
    assert decision.reason_en == "Already had a subsidised meal this meal period (lunch; limit 1)"
    outside = run(resident(date(1940, 1, 1)), policy=PER_PERIOD, local_time=time(15, 0))
    assert "lunch 11:00–13:30" in outside.reason_en


def test_a_per_day_limit_applies_at_any_hour():
    assert run(resident(date(1940, 1, 1)), local_time=time(3, 0)).period == ""
    assert run(resident(date(1940, 1, 1)), local_time=time(3, 0)).granted


# -- policy versions and the business date ----------------------------------------------------

V1 = replace(POLICY, version="v1", effective_from=date(2026, 1, 1))
V2 = replace(POLICY, version="v2", effective_from=date(2026, 3, 1),
             age_tiers=(AgeTier(60, 500), AgeTier(80, 900)))
POLICY_HISTORY = Policy((V1, V2))


@pytest.mark.parametrize(
    ("business_date", "version", "amount"),
    [(date(2026, 1, 1), "v1", 300), (date(2026, 2, 28), "v1", 300),
     (date(2026, 3, 1), "v2", 500), (date(2027, 1, 1), "v2", 500)],
)
def test_the_version_in_force_switches_at_local_midnight(business_date, version, amount):
    policy = POLICY_HISTORY.in_force(business_date)
    decision = run(resident(date(1950, 1, 1)), policy=policy, business_date=business_date)
    assert (decision.policy_version, decision.amount_fen) == (version, amount)


@pytest.mark.parametrize(
    "instant",
    [datetime(2026, 2, 28, 16, 30, tzinfo=timezone.utc),
     datetime(2026, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=8)))],
)
def test_a_sale_at_00_30_beijing_time_belongs_to_the_new_local_date(instant):
    business_date, local_time = business_moment(instant, "Asia/Shanghai")
    assert (business_date, local_time) == (date(2026, 3, 1), time(0, 30))
    policy = POLICY_HISTORY.in_force(business_date)
    # turns 60 on 1 March: 59 by the UTC date, 60 by the local one
    decision = run(resident(date(1966, 3, 1)), policy=policy, business_date=business_date,
                   local_time=local_time)
    assert (decision.policy_version, decision.rule_id, decision.amount_fen) == \
        ("v2", "age_tier:60", 500)


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


def test_a_free_meal_reads_the_same_for_a_worker_and_a_ticket_holder():
    by_worker = run(worker(), WELFARE_LUNCH)
    by_ticket = run(ticket(), WELFARE_LUNCH)
    assert (by_worker.reason_zh, by_worker.reason_en) == (by_ticket.reason_zh,
                                                          by_ticket.reason_en)
    assert by_worker.reason_en == "Welfare set meal, 100% subsidy ¥15.00"


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

from subsidies.engine import standing  # noqa: E402
from subsidies.expiry import add_months, verified_until  # noqa: E402

UNTIL = BUSINESS_DATE  # the proof's last day is the business date itself


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


@pytest.mark.parametrize(
    ("business_date", "code", "amount"),
    [
        (UNTIL - timedelta(days=1), "free_meal", 1500),      # the day before expiry
        (UNTIL, "free_meal", 1500),                          # its last day still counts
        (UNTIL + timedelta(days=1), "worker_proof_expired", 0),  # the day after: expired
    ],
)
def test_a_worker_whose_proof_of_work_has_expired_gets_no_free_meal(business_date, code, amount):
    diner = replace(worker(), worker_verified_until=UNTIL)
    decision = run(diner, WELFARE_LUNCH, business_date=business_date)
    assert (decision.code, decision.amount_fen) == (code, amount)
    if code == "worker_proof_expired":
        assert decision.reason_zh == f"工作证明已过期（有效期至 {UNTIL.isoformat()}），请到社区复核"
        assert decision.reason_en == (f"The proof of work has expired (valid until {UNTIL.isoformat()}); "
                                      "please renew it at the community office")


def test_an_older_worker_with_an_expired_proof_of_work_still_gets_the_age_discount():
    diner = replace(worker(birth_date=date(1950, 1, 1), resident=True), worker_verified_until=UNTIL - timedelta(days=1))
    decision = run(diner, WELFARE_LUNCH)
    assert (decision.code, decision.amount_fen) == ("age_tier", 300)
    assert {c.code for c in decision.considered} == {"age_tier", "worker_proof_expired"}


@pytest.mark.parametrize(
    ("until", "code", "amount"),
    [
        (None, "age_tier", 700),                         # residency that does not expire
        (BUSINESS_DATE, "age_tier", 700),                # its last day
        (BUSINESS_DATE - timedelta(days=1), "residency_proof_expired", 0),
    ],
)
def test_a_resident_whose_proof_of_residency_has_expired_gets_no_age_discount(until, code, amount):
    decision = run(resident(date(1940, 1, 1), residency_verified_until=until))
    assert (decision.code, decision.amount_fen) == (code, amount)
    if code == "residency_proof_expired":
        assert decision.reason_zh.startswith("居住证明已过期")


def test_residency_expiry_does_not_matter_when_the_policy_does_not_require_residency():
    open_policy = replace(POLICY, residency_required=False)
    decision = run(resident(date(1940, 1, 1), residency_verified_until=date(2020, 1, 1)), policy=open_policy)
    assert (decision.code, decision.amount_fen) == ("age_tier", 700)


@pytest.mark.parametrize(
    ("event", "event_on", "business_date", "code"),
    [
        ("deceased", date(2026, 3, 10), date(2026, 3, 9), "free_meal"),  # the day before: benefits as usual
        ("deceased", date(2026, 3, 10), date(2026, 3, 10), "deceased"),  # benefits stop from that date
        ("deceased", date(2026, 3, 10), date(2026, 3, 11), "deceased"),
        ("moved_away", date(2026, 3, 10), date(2026, 4, 1), "moved_away"),
    ],
)
def test_a_diner_recorded_as_deceased_or_moved_away_has_no_benefit_from_that_date(event, event_on, business_date,
                                                                                  code):
    diner = replace(worker(birth_date=date(1940, 1, 1), resident=True), left=event, left_on=event_on)
    decision = run(diner, WELFARE_LUNCH, business_date=business_date)
    assert decision.code == code
    assert decision.granted == (code == "free_meal")
    if not decision.granted:
        assert decision.considered == ()
        assert event_on.isoformat() in decision.reason_zh and event_on.isoformat() in decision.reason_en


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
    assert standing(replace(gone, left_on=BUSINESS_DATE + timedelta(days=1)), BUSINESS_DATE)[0] == "worker_proof_expired"
