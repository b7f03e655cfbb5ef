"""decide() at every boundary, as tables that read like the rules.

One source for two engines: test_engine.py runs each table through the Python engine, and
decision_table.py writes every case, with the decision the engine makes, to
subsidies/decision_cases.json, which CI runs through the engine and through the till's port
(pos/web/static/decide.js) alike.  A row is ``case(label, diner, order, **inputs_and_expected)``:
the inputs are ``policy``, ``business_date``, ``local_time`` and today's counts (``used``: free
meals used at the canteen, ``had``: the diner's subsidised meals today or this period, ``week``:
this week); every other keyword is a field of the decision it must have (``considered`` maps
each benefit looked at to its code).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta

from subsidies.engine import Counters, Decision, DinerFacts, Order, OrderLine, decide
from subsidies.policy import WORKER_CATEGORIES, AgeTier, MealPeriod, PolicyVersion

BUSINESS_DATE = date(2026, 3, 1)
NOON = time(12, 0)

POLICY = PolicyVersion(version="2026-01", effective_from=date(2026, 1, 1),
                       age_tiers=(AgeTier(60, 300), AgeTier(80, 700)), free_meals_per_day=40)
MEAL_PERIODS = (
    MealPeriod("breakfast", time(6, 30), time(9, 0)),
    MealPeriod("lunch", time(11, 0), time(13, 30)),
    MealPeriod("dinner", time(17, 0), time(19, 30)),
)
PER_PERIOD = replace(POLICY, version="2026-01-period", limit_per="period", meal_periods=MEAL_PERIODS)
WEEKLY = replace(POLICY, version="2026-01-weekly", per_week=5)
WEEKLY_PER_PERIOD = replace(PER_PERIOD, version="2026-01-period-weekly", per_week=5)
TIERS_WITH_65 = replace(POLICY, age_tiers=(AgeTier(60, 300), AgeTier(65, 500), AgeTier(80, 700)))
TIERS_WITH_70 = replace(POLICY, age_tiers=(AgeTier(60, 300), AgeTier(70, 500), AgeTier(80, 700)))
V1 = replace(POLICY, version="v1", effective_from=date(2026, 1, 1))
V2 = replace(POLICY, version="v2", effective_from=date(2026, 3, 1), age_tiers=(AgeTier(60, 500), AgeTier(80, 900)))
# Periods named otherwise than the usual ones are shown as they are written.
NAMED_PERIODS = replace(POLICY, version="2026-01-named", limit_per="period", meals_per_limit=2, meal_periods=(
    MealPeriod("早市", time(6, 0), time(8, 0)),
    MealPeriod("afternoon", time(14, 0), time(16, 30, 30)),
    MealPeriod("supper", time(20, 0), time(22, 0))))

#: The policies of the table, by the name a case of the JSON gives.
POLICIES: dict[str, PolicyVersion] = {
    "standard": POLICY,
    "per_period": PER_PERIOD,
    "weekly": WEEKLY,
    "weekly_per_period": WEEKLY_PER_PERIOD,
    "tiers_60_65_80": TIERS_WITH_65,
    "tiers_60_70_80": TIERS_WITH_70,
    "no_age_tiers": replace(POLICY, age_tiers=()),
    "walk_in_counts": replace(POLICY, walk_in_id_counts_as_resident=True),
    "open_to_all": replace(POLICY, residency_required=False),
    "sanitation_only": replace(POLICY, welfare_categories=frozenset({"sanitation_worker"})),
    "no_free_meals": replace(POLICY, free_meals_per_day=0),
    "two_a_day": replace(POLICY, meals_per_limit=2),
    "three_a_day": replace(POLICY, meals_per_limit=3),
    "v1": V1,
    "v2": V2,
    "named_periods": NAMED_PERIODS,
    "banquet": replace(POLICY, version="2026-01-banquet", age_tiers=(AgeTier(60, 150000),)),
}
P = POLICIES

SET_MEAL = OrderLine(1, "公益套餐", 1500, 1, welfare_meal=True)
RICE = OrderLine(2, "米饭", 200, 1)
PORK = OrderLine(3, "红烧肉", 1800, 1)
SOUP = OrderLine(4, "例汤", 300, 2)
LUNCH = Order((PORK, RICE))
WELFARE_LUNCH = Order((SET_MEAL, SOUP))


def resident(birth_date, **facts) -> DinerFacts:
    return DinerFacts("registered", birth_date=birth_date, resident=True, **facts)


def worker(category="sanitation_worker", *, verified=True, birth_date=None, resident=False, **facts) -> DinerFacts:
    return DinerFacts("registered", birth_date=birth_date, resident=resident, worker_category=category,
                      worker_verified=verified, **facts)


def ticket(ticket_date=BUSINESS_DATE, **facts) -> DinerFacts:
    return DinerFacts("ticket", ticket_date=ticket_date, **facts)


ELDER = resident(date(1940, 1, 1))  # 86 on the business date: the 80+ tier


@dataclass(frozen=True)
class Case:
    """One order put to decide(), and what its decision must say."""

    label: str
    diner: DinerFacts
    order: Order = LUNCH
    policy: PolicyVersion = POLICY
    business_date: date = BUSINESS_DATE
    local_time: time = NOON
    counters: Counters = Counters()
    expect: dict = field(default_factory=dict)
    table: str = ""

    @property
    def name(self) -> str:
        return f"{self.table}: {self.label}"

    def decide(self) -> Decision:
        return decide(policy=self.policy, diner=self.diner, order=self.order, business_date=self.business_date,
                      local_time=self.local_time, counters=self.counters)

    def observed(self, decision: Decision) -> dict:
        """The fields of ``decision`` this case expects, to compare with ``expect``."""
        seen = {"considered": {c.kind: c.code for c in decision.considered}, "granted": decision.granted}
        return {key: seen[key] if key in seen else getattr(decision, key) for key in self.expect}


_INPUTS = ("policy", "business_date", "local_time")


def case(label: str, diner: DinerFacts, order: Order = LUNCH, *, used: int = 0, had: int = 0, week: int = 0,
         **given) -> Case:
    inputs = {k: given.pop(k) for k in _INPUTS if k in given}
    return Case(label, diner, order, counters=Counters(used, had, week), expect=given, **inputs)


def table(title: str, *cases: Case) -> tuple[Case, ...]:
    return tuple(replace(c, table=title) for c in cases)


def named(cases: tuple[Case, ...], label: str) -> Case:
    return next(c for c in cases if c.label == label)


# -- age tiers -----------------------------------------------------------------------------------

AGE_TIERS = table(
    "age tier",
    case("59, 60 tomorrow", resident(date(1966, 3, 2)), code="too_young", amount_fen=0, rule_id=None),
    case("60 today", resident(date(1966, 3, 1)), code="age_tier", amount_fen=300, rule_id="age_tier:60"),
    case("60 yesterday", resident(date(1966, 2, 28)), code="age_tier", amount_fen=300, rule_id="age_tier:60"),
    case("79, 80 tomorrow", resident(date(1946, 3, 2)), code="age_tier", amount_fen=300, rule_id="age_tier:60"),
    case("80 today", resident(date(1946, 3, 1)), code="age_tier", amount_fen=700, rule_id="age_tier:80"),
    case("105", resident(date(1920, 5, 5)), code="age_tier", amount_fen=700, rule_id="age_tier:80"),
    case("36", resident(date(1990, 1, 1)), code="too_young", amount_fen=0, rule_id=None),
    case("the notice on the wall", ELDER, reason_zh="80周岁以上长者立减 ¥7.00", reason_en="Age 80+ discount ¥7.00"),
    case("too young is told the age", resident(date(1980, 1, 1)),
         reason_zh="未满60周岁（现46周岁），不享受长者优惠", reason_en="Under 60 (aged 46): no age discount"),
    case("born today", resident(BUSINESS_DATE), code="too_young", amount_fen=0),
    case("born tomorrow: bad data", resident(date(2026, 3, 2)), code="no_birth_date",
         reason_en="The date of birth on file (2026-03-02) is after the business date (2026-03-01); "
                   "please check the record"),
    case("a policy without tiers", ELDER, policy=P["no_age_tiers"], code="too_young",
         reason_zh="本期政策没有长者优惠", reason_en="This policy version has no age discount"),
    case("69, 70 tomorrow", resident(date(1956, 3, 2)), policy=TIERS_WITH_70, amount_fen=300, rule_id="age_tier:60"),
    case("70 today", resident(date(1956, 3, 1)), policy=TIERS_WITH_70, amount_fen=500, rule_id="age_tier:70"),
    case("80 today, three tiers", resident(date(1946, 3, 1)), policy=TIERS_WITH_70, amount_fen=700,
         rule_id="age_tier:80"),
)

# Born on 29 February: the new age comes on 29 February in leap years, on 1 March otherwise.
LEAP_BIRTHS = table(
    "29 February birth",
    case("64 on 28 February 2025", resident(date(1960, 2, 29)), policy=TIERS_WITH_65,
         business_date=date(2025, 2, 28), amount_fen=300),
    case("65 on 1 March 2025", resident(date(1960, 2, 29)), policy=TIERS_WITH_65,
         business_date=date(2025, 3, 1), amount_fen=500),
    case("59 on 28 February 2020", resident(date(1960, 2, 29)), business_date=date(2020, 2, 28), code="too_young"),
    case("60 on 29 February 2020", resident(date(1960, 2, 29)), business_date=date(2020, 2, 29), code="age_tier"),
    case("60 on 1 March 2020", resident(date(1960, 2, 29)), business_date=date(2020, 3, 1), code="age_tier"),
    case("59 on 28 February 2024", resident(date(1964, 2, 29)), business_date=date(2024, 2, 28),
         reason_en="Under 60 (aged 59): no age discount"),
    case("60 on 29 February 2024", resident(date(1964, 2, 29)), business_date=date(2024, 2, 29), amount_fen=300),
    case("still 60 on 28 February 2025", resident(date(1964, 2, 29)), business_date=date(2025, 2, 28),
         amount_fen=300),
    case("79 on 28 February 2024", resident(date(1944, 2, 29)), business_date=date(2024, 2, 28), amount_fen=300),
    case("80 on 29 February 2024", resident(date(1944, 2, 29)), business_date=date(2024, 2, 29), amount_fen=700),
    case("79 on 28 February 2023", resident(date(1943, 2, 28)), business_date=date(2023, 2, 27), amount_fen=300),
    case("80 on 28 February 2023", resident(date(1943, 2, 28)), business_date=date(2023, 2, 28), amount_fen=700),
)

CAPPED_AT_THE_TOTAL = table(
    "discount capped at the total",
    case("¥2.00 order, ¥7.00 discount", ELDER, Order((RICE,)), amount_fen=200,
         reason_en="Age 80+ discount ¥2.00 (capped at the order total)"),
    case("exactly the discount", ELDER, Order((OrderLine(5, "粥", 700, 1),)), amount_fen=700,
         reason_en="Age 80+ discount ¥7.00"),
    case("three bowls at ¥1.00", ELDER, Order((OrderLine(5, "粥", 100, 3),)), amount_fen=300,
         reason_zh="80周岁以上长者立减 ¥3.00（以订单金额为限）"),
    case("a full lunch", ELDER, LUNCH, amount_fen=700, reason_en="Age 80+ discount ¥7.00"),
    case("¥1,500.00 off a banquet", ELDER, Order((OrderLine(6, "寿宴", 200000, 1),)), policy=P["banquet"],
         amount_fen=150000, reason_en="Age 60+ discount ¥1,500.00"),
    case("a banquet discount capped", ELDER, Order((OrderLine(6, "寿面", 123456, 1),)), policy=P["banquet"],
         amount_fen=123456, reason_zh="60周岁以上长者立减 ¥1,234.56（以订单金额为限）"),
)

# -- residency -----------------------------------------------------------------------------------

WALK_IN_ELDER = DinerFacts("walk_in", birth_date=date(1950, 1, 1))
NOT_A_RESIDENT = DinerFacts("registered", birth_date=date(1950, 1, 1), resident=False)
RESIDENCY = table(
    "residency",
    case("resident, residents only", resident(date(1950, 1, 1)), code="age_tier"),
    case("not a resident, residents only", NOT_A_RESIDENT, code="not_resident",
         reason_en="The age discount is for registered community residents only"),
    case("not a resident, open to all", NOT_A_RESIDENT, policy=P["open_to_all"], code="age_tier"),
    case("walk-in, residents only", WALK_IN_ELDER, code="not_resident",
         reason_zh="长者优惠仅限本社区登记居民，现场核验身份证不适用",
         reason_en="The age discount is for registered community residents; "
                   "a resident ID typed at the till does not qualify"),
    case("walk-in, a walk-in counts", WALK_IN_ELDER, policy=P["walk_in_counts"], code="age_tier"),
    case("walk-in, open to all", WALK_IN_ELDER, policy=P["open_to_all"], code="age_tier"),
    case("resident without a birth date", DinerFacts("registered", resident=True), code="no_birth_date",
         reason_en="No date of birth on file, so age cannot be checked"),
)

# -- free welfare meals ----------------------------------------------------------------------------

FREE_MEAL_CAP = table(
    "free meals today",
    case("none used", worker(), WELFARE_LUNCH, code="free_meal", amount_fen=1500, applies_to="line", line_index=0,
         rule_id="free_meal", reason_zh="公益套餐 100% 补贴 ¥15.00", reason_en="Welfare set meal, 100% subsidy ¥15.00"),
    case("39 used", worker(), WELFARE_LUNCH, used=39, code="free_meal", amount_fen=1500, line_index=0),
    case("40 used", worker(), WELFARE_LUNCH, used=40, code="free_meals_gone", amount_fen=0,
         reason_zh="今日公益套餐已发完（40/40）", reason_en="Today's free welfare meals are all taken (40/40)"),
    case("41 used", worker(), WELFARE_LUNCH, used=41, code="free_meals_gone", amount_fen=0),
)

CHEAP_SET = OrderLine(7, "公益小份", 1000, 1, welfare_meal=True)
DEAR_SET = OrderLine(8, "公益套餐", 1600, 2, welfare_meal=True)
WELFARE_LINES = table(
    "welfare set meal made free",
    case("the most expensive", worker(), Order((RICE, CHEAP_SET, DEAR_SET)), amount_fen=1600, line_index=2),
    case("the first of two alike", worker(), Order((RICE, DEAR_SET, replace(DEAR_SET, item_id=9))), line_index=1),
    case("one unit of three", worker(), Order((replace(SET_MEAL, qty=3),)), amount_fen=1500, line_index=0),
    case("a welfare item at ¥0.00 is nothing to make free", worker(),
         Order((replace(SET_MEAL, unit_price_fen=0), RICE)), code="no_welfare_item"),
    case("a ¥1,500.00 set meal", worker(), Order((replace(SET_MEAL, unit_price_fen=150000),)),
         amount_fen=150000, reason_zh="公益套餐 100% 补贴 ¥1,500.00"),
)

WHO_EATS_FREE = table(
    "who eats free",
    case("not verified", worker(verified=False), WELFARE_LUNCH, granted=False,
         considered={"age_tier": "no_birth_date", "free_meal": "worker_not_verified"}),
    case("no category", worker(category=None), WELFARE_LUNCH, granted=False,
         considered={"age_tier": "no_birth_date", "free_meal": "not_a_worker"},
         reason_en="No date of birth on file, so age cannot be checked"),
    case("a category the policy leaves out", worker("delivery_rider"), WELFARE_LUNCH, policy=P["sanitation_only"],
         granted=False, considered={"age_tier": "no_birth_date", "free_meal": "not_a_worker"}),
    case("a walk-in", DinerFacts("walk_in", worker_category="cleaner", worker_verified=True), WELFARE_LUNCH,
         granted=False, considered={"age_tier": "no_birth_date", "free_meal": "not_a_worker"}),
    case("a policy without free meals", worker(), WELFARE_LUNCH, policy=P["no_free_meals"], granted=False,
         code="free_meals_gone", reason_en="Today's free welfare meals are all taken (0/0)"),
    *(case(category, worker(category), WELFARE_LUNCH, kind="free_meal") for category in WORKER_CATEGORIES),
    case("no welfare set meal in the order", worker(), LUNCH, code="no_welfare_item",
         reason_en="There is no welfare set meal in the order"),
)

TICKETS = table(
    "daily ticket",
    case("for today", ticket(), WELFARE_LUNCH, code="free_meal", considered={"free_meal": "free_meal"}),
    case("for yesterday", ticket(BUSINESS_DATE - timedelta(days=1)), WELFARE_LUNCH, code="ticket_wrong_date",
         reason_en="This free-meal ticket is valid on 2026-02-28 only"),
    case("for tomorrow", ticket(BUSINESS_DATE + timedelta(days=1)), WELFARE_LUNCH, code="ticket_wrong_date",
         reason_zh="公益餐券仅限 2026-03-02 当日使用"),
    case("undated", ticket(None), WELFARE_LUNCH, code="ticket_wrong_date",
         reason_en="This free-meal ticket has no valid date"),
    case("used once, three meals a day", ticket(), WELFARE_LUNCH, policy=P["three_a_day"], had=1,
         code="limit_reached", reason_en="This free-meal ticket has already been used"),
    case("unused, three meals a day", ticket(), WELFARE_LUNCH, policy=P["three_a_day"], code="free_meal"),
    case("the day's cap reached", ticket(), WELFARE_LUNCH, used=40, code="free_meals_gone",
         considered={"free_meal": "free_meals_gone"}),
    case("no welfare set meal", ticket(), LUNCH, code="no_welfare_item"),
    case("an empty order", ticket(), Order(()), code="empty_order"),
    case("suspended", ticket(suspended=True), WELFARE_LUNCH, code="suspended"),
    case("outside the meal periods", ticket(), WELFARE_LUNCH, policy=PER_PERIOD, local_time=time(15, 0),
         code="outside_meal_period"),
)

# -- precedence: the most favourable benefit -------------------------------------------------------

WORKER_AGED_62 = worker(birth_date=date(1963, 6, 1), resident=True)
WORKER_AGED_86 = worker(birth_date=date(1940, 1, 1), resident=True)


def _set_meal_and_pork(fen: int) -> Order:
    return Order((replace(SET_MEAL, unit_price_fen=fen), PORK))


PRECEDENCE = table(
    "most favourable benefit",
    case("62-year-old worker, none used", WORKER_AGED_62, WELFARE_LUNCH, kind="free_meal", amount_fen=1500,
         considered={"age_tier": "age_tier", "free_meal": "free_meal"}),
    case("62-year-old worker, 39 used", WORKER_AGED_62, WELFARE_LUNCH, used=39, kind="free_meal", amount_fen=1500,
         considered={"age_tier": "age_tier", "free_meal": "free_meal"}),
    case("62-year-old worker, 40 used", WORKER_AGED_62, WELFARE_LUNCH, used=40, kind="age_tier", amount_fen=300,
         considered={"age_tier": "age_tier", "free_meal": "free_meals_gone"}),
    case("62-year-old worker, 41 used", WORKER_AGED_62, WELFARE_LUNCH, used=41, kind="age_tier", amount_fen=300,
         considered={"age_tier": "age_tier", "free_meal": "free_meals_gone"}),
    case("¥7.00 off beats a ¥5.00 set meal", WORKER_AGED_86, _set_meal_and_pork(500), kind="age_tier",
         applies_to="total", line_index=None),
    case("a tie goes to the free meal", WORKER_AGED_86, _set_meal_and_pork(700), kind="free_meal",
         applies_to="line", line_index=0),
    case("a ¥7.01 set meal beats ¥7.00 off", WORKER_AGED_86, _set_meal_and_pork(701), kind="free_meal"),
    case("not a resident: the free meal only", worker(birth_date=date(1940, 1, 1)), WELFARE_LUNCH, kind="free_meal",
         considered={"age_tier": "not_resident", "free_meal": "free_meal"}),
)

# When nothing applies, the reason is the refusal closest to succeeding.
CLOSEST_REFUSAL = table(
    "closest refusal",
    case("young worker, free meals gone", worker(birth_date=date(1990, 1, 1)), WELFARE_LUNCH, used=40,
         code="free_meals_gone", granted=False, kind=None, applies_to="none"),
    case("young worker, not verified", worker(verified=False, birth_date=date(1990, 1, 1)), WELFARE_LUNCH,
         code="worker_not_verified", granted=False, kind=None, applies_to="none"),
    case("young resident", resident(date(1990, 1, 1)), WELFARE_LUNCH, code="too_young", granted=False, kind=None,
         applies_to="none"),
    case("elder, not a resident", NOT_A_RESIDENT, WELFARE_LUNCH, code="not_resident", granted=False, kind=None,
         applies_to="none"),
    case("worker without a set meal, too young", worker(birth_date=date(1990, 1, 1), resident=True), LUNCH,
         code="no_welfare_item"),
    case("unverified worker, elder not a resident", worker(verified=False, birth_date=date(1940, 1, 1)), LUNCH,
         code="worker_not_verified", considered={"age_tier": "not_resident", "free_meal": "worker_not_verified"}),
)

BENEFIT_TABLES = (AGE_TIERS, LEAP_BIRTHS, CAPPED_AT_THE_TOTAL, RESIDENCY, FREE_MEAL_CAP, WELFARE_LINES, WHO_EATS_FREE,
                  TICKETS, PRECEDENCE, CLOSEST_REFUSAL)
