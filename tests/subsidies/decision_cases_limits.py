"""decide() at every boundary, continued: the limits, the meal periods, the policy versions and
the diner's standing (refusals before any benefit, expired proofs, life events).  Rows read as in
decision_cases.py, whose ``case`` they use."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta

from decision_cases import (
    BUSINESS_DATE,
    ELDER,
    NAMED_PERIODS,
    PER_PERIOD,
    V1,
    V2,
    WEEKLY,
    WEEKLY_PER_PERIOD,
    WELFARE_LUNCH,
    P,
    case,
    resident,
    table,
    ticket,
    worker,
)
from subsidies.engine import DinerFacts, Order, OrderLine

REFUSED_FIRST = table(
    "refused before any benefit",
    case("no credential", DinerFacts("anonymous"), WELFARE_LUNCH, code="no_credential",
         reason_en="No meal voucher or resident ID presented: menu price"),
    case("suspended worker", replace(worker(), suspended=True), WELFARE_LUNCH, code="suspended",
         reason_zh="餐券已停用或无效，按菜单价结算，请到社区咨询"),
    case("suspended elder", resident(date(1940, 1, 1), suspended=True), code="suspended"),
    case("elder's second meal today", ELDER, had=1, code="limit_reached",
         reason_zh="今日已享受过补贴餐（每日限1次）", reason_en="Already had a subsidised meal today (limit 1 a day)"),
    case("worker's second meal today", worker(), WELFARE_LUNCH, had=1, code="limit_reached"),
    case("an empty order", ELDER, Order(()), code="empty_order", reason_en="The order is empty: add dishes first"),
    case("an order of a ¥0.00 item", ELDER, Order((OrderLine(9, "开水", 0, 1),)), code="empty_order"),
    case("anonymous and suspended", DinerFacts("anonymous", suspended=True), code="no_credential"),
    case("suspended on a second meal", resident(date(1940, 1, 1), suspended=True), had=1, code="suspended"),
    case("a second meal of an empty order", ELDER, Order(()), had=1, code="limit_reached"),
)

DAILY_LIMIT = table(
    "two subsidised meals a day",
    case("none yet", ELDER, policy=P["two_a_day"], had=0, granted=True),
    case("one", ELDER, policy=P["two_a_day"], had=1, granted=True),
    case("two", ELDER, policy=P["two_a_day"], had=2, granted=False,
         reason_en="Already had a subsidised meal today (limit 2 a day)"),
    case("three", ELDER, policy=P["two_a_day"], had=3, granted=False),
)

WEEKLY_LIMIT = table(
    "five a week",
    case("none this week", ELDER, policy=WEEKLY, week=0, code="age_tier"),
    case("four this week", ELDER, policy=WEEKLY, week=4, code="age_tier"),
    case("five this week", ELDER, policy=WEEKLY, week=5, code="weekly_limit_reached",
         reason_zh="本周补贴次数已用完（每周 5 次），按菜单价结算",
         reason_en="This week's subsidised meals are used up (5 a week): menu price"),
    case("six this week", ELDER, policy=WEEKLY, week=6, code="weekly_limit_reached"),
    case("worker, four this week", worker(), WELFARE_LUNCH, policy=WEEKLY, week=4, code="free_meal"),
    case("worker, five this week", worker(), WELFARE_LUNCH, policy=WEEKLY, week=5, code="weekly_limit_reached"),
    # the daily limit is told first: today's meal is the nearer reason
    case("today's meal and the week used up", ELDER, policy=WEEKLY, had=1, week=5, code="limit_reached"),
    # without per_week a week of meals changes nothing
    case("no weekly limit", ELDER, week=30, code="age_tier"),
    # a one-time ticket's only limit is itself
    case("a ticket", ticket(), WELFARE_LUNCH, policy=WEEKLY, week=5, code="free_meal"),
    # per meal period: a new period, but the week is used up
    case("per period, four this week", ELDER, policy=WEEKLY_PER_PERIOD, week=4, code="age_tier"),
    case("per period, five this week", ELDER, policy=WEEKLY_PER_PERIOD, week=5, code="weekly_limit_reached"),
    # nothing to refuse outside the meal periods, nor for the anonymous or suspended
    case("outside the meal periods", ELDER, policy=WEEKLY_PER_PERIOD, local_time=time(15, 0), week=5,
         code="outside_meal_period"),
    case("anonymous", DinerFacts("anonymous"), policy=WEEKLY, week=5, code="no_credential"),
    case("suspended", resident(date(1940, 1, 1), suspended=True), policy=WEEKLY, week=5, code="suspended"),
    case("an empty order, five this week", ELDER, Order(()), policy=WEEKLY, week=5, code="weekly_limit_reached"),
)


def _at(label: str, hh: int, mm: int, ss: int, period: str | None, **more):
    code = "outside_meal_period" if period is None else "age_tier"
    return case(label, ELDER, policy=PER_PERIOD, local_time=time(hh, mm, ss), code=code, period=period or "", **more)


OUTSIDE = ("现在不在供餐时段（早餐 06:30–09:00、午餐 11:00–13:30、晚餐 17:00–19:30），不享受补贴",
           "Outside the meal periods (breakfast 06:30–09:00, lunch 11:00–13:30, dinner 17:00–19:30): no subsidy")
MEAL_PERIOD_LIMIT = table(
    "one a meal period",
    case("lunch", ELDER, policy=PER_PERIOD, code="age_tier", period="lunch"),
    case("lunch, second meal", ELDER, policy=PER_PERIOD, had=1, code="limit_reached", period="lunch",
         reason_zh="本餐段（午餐）已享受过补贴餐（每餐段限1次）",
         reason_en="Already had a subsidised meal this meal period (lunch; limit 1)"),
    case("dinner", ELDER, policy=PER_PERIOD, local_time=time(18, 0), code="age_tier", period="dinner"),
    case("between lunch and dinner", ELDER, policy=PER_PERIOD, local_time=time(15, 0), code="outside_meal_period",
         period="", reason_zh=OUTSIDE[0], reason_en=OUTSIDE[1]),
    case("between meals, a meal already", ELDER, policy=PER_PERIOD, local_time=time(15, 0), had=1,
         code="outside_meal_period", period=""),
    case("per day, at 03:00", ELDER, local_time=time(3, 0), period="", granted=True),
    _at("06:29:59", 6, 29, 59, None),
    _at("06:30:00", 6, 30, 0, "breakfast"),
    _at("08:59:59", 8, 59, 59, "breakfast"),
    _at("09:00:00", 9, 0, 0, None),
    _at("11:00:00", 11, 0, 0, "lunch"),
    _at("13:29:59", 13, 29, 59, "lunch"),
    _at("13:30:00", 13, 30, 0, None),
    _at("17:00:00", 17, 0, 0, "dinner"),
    _at("19:29:59", 19, 29, 59, "dinner"),
    _at("19:30:00", 19, 30, 0, None),
    _at("midnight", 0, 0, 0, None),
    _at("23:59:59", 23, 59, 59, None),
    case("periods named otherwise, outside", ELDER, policy=NAMED_PERIODS, code="outside_meal_period",
         reason_zh="现在不在供餐时段（早市 06:00–08:00、下午茶 14:00–16:30、晚餐 20:00–22:00），不享受补贴",
         reason_en="Outside the meal periods (早市 06:00–08:00, afternoon 14:00–16:30, supper 20:00–22:00): "
                   "no subsidy"),
    case("a period named in Chinese, third meal", ELDER, policy=NAMED_PERIODS, local_time=time(7, 0), had=2,
         period="早市", reason_zh="本餐段（早市）已享受过补贴餐（每餐段限2次）",
         reason_en="Already had a subsidised meal this meal period (早市; limit 2)"),
    case("afternoon, second meal of two", ELDER, policy=NAMED_PERIODS, local_time=time(16, 30, 29), had=1,
         period="afternoon", code="age_tier"),
    case("the afternoon's last second is over", ELDER, policy=NAMED_PERIODS, local_time=time(16, 30, 30),
         code="outside_meal_period"),
    case("supper, a third meal", ELDER, policy=NAMED_PERIODS, local_time=time(21, 0), had=2, period="supper",
         reason_zh="本餐段（晚餐）已享受过补贴餐（每餐段限2次）",
         reason_en="Already had a subsidised meal this meal period (supper; limit 2)"),
)

# The version in force on the business date: v1 until 28 February, v2 from 1 March.
VERSIONS = table(
    "policy version",
    case("v1 on its first day", resident(date(1950, 1, 1)), policy=V1, business_date=date(2026, 1, 1),
         policy_version="v1", amount_fen=300),
    case("v1 on its last day", resident(date(1950, 1, 1)), policy=V1, business_date=date(2026, 2, 28),
         policy_version="v1", amount_fen=300),
    case("v2 on its first day", resident(date(1950, 1, 1)), policy=V2, business_date=date(2026, 3, 1),
         policy_version="v2", amount_fen=500),
    case("v2 a year on", resident(date(1950, 1, 1)), policy=V2, business_date=date(2027, 1, 1),
         policy_version="v2", amount_fen=500),
    # 00:30 Beijing time on 1 March is still 28 February in UTC: the local date decides
    case("00:30 on the day one turns 60", resident(date(1966, 3, 1)), policy=V2, business_date=date(2026, 3, 1),
         local_time=time(0, 30), policy_version="v2", rule_id="age_tier:60", amount_fen=500),
    case("v2's 80+ tier", ELDER, policy=V2, policy_version="v2", amount_fen=900,
         reason_en="Age 80+ discount ¥9.00"),
)

UNTIL = BUSINESS_DATE  # a proof whose last day is the business date itself
PROOFS = table(
    "proof that expires",
    case("worker, the day before expiry", worker(worker_verified_until=UNTIL), WELFARE_LUNCH,
         business_date=UNTIL - timedelta(days=1), code="free_meal", amount_fen=1500),
    case("worker, the proof's last day", worker(worker_verified_until=UNTIL), WELFARE_LUNCH,
         business_date=UNTIL, code="free_meal", amount_fen=1500),
    case("worker, the day after", worker(worker_verified_until=UNTIL), WELFARE_LUNCH,
         business_date=UNTIL + timedelta(days=1), code="worker_proof_expired", amount_fen=0,
         reason_zh="工作证明已过期（有效期至 2026-03-01），请到社区复核",
         reason_en="The proof of work has expired (valid until 2026-03-01); please renew it at the community office"),
    case("older worker, expired proof of work", worker(birth_date=date(1950, 1, 1), resident=True,
                                                       worker_verified_until=UNTIL - timedelta(days=1)),
         WELFARE_LUNCH, code="age_tier", amount_fen=300,
         considered={"age_tier": "age_tier", "free_meal": "worker_proof_expired"}),
    case("unverified worker, an old proof date", worker(verified=False, worker_verified_until=date(2020, 1, 1)),
         WELFARE_LUNCH, code="worker_not_verified"),
    case("residency that does not expire", resident(date(1940, 1, 1), residency_verified_until=None),
         code="age_tier", amount_fen=700),
    case("residency's last day", resident(date(1940, 1, 1), residency_verified_until=BUSINESS_DATE),
         code="age_tier", amount_fen=700),
    case("residency expired", resident(date(1940, 1, 1), residency_verified_until=BUSINESS_DATE - timedelta(days=1)),
         code="residency_proof_expired", amount_fen=0,
         reason_zh="居住证明已过期（有效期至 2026-02-28），请到社区复核"),
    case("residency expired, not required", resident(date(1940, 1, 1), residency_verified_until=date(2020, 1, 1)),
         policy=P["open_to_all"], code="age_tier", amount_fen=700),
    case("both expired", worker(birth_date=date(1940, 1, 1), resident=True, worker_verified_until=date(2025, 1, 1),
                                residency_verified_until=date(2025, 1, 1)), WELFARE_LUNCH,
         code="worker_proof_expired"),
    case("residency expired, too young anyway", resident(date(1990, 1, 1), residency_verified_until=date(2025, 1, 1)),
         code="too_young"),
)

EVENT_ON = date(2026, 3, 10)
OLD_WORKER = worker(birth_date=date(1940, 1, 1), resident=True)
LIFE_EVENTS = table(
    "deceased or moved away",
    case("deceased, the day before", replace(OLD_WORKER, left="deceased", left_on=EVENT_ON), WELFARE_LUNCH,
         business_date=date(2026, 3, 9), code="free_meal", granted=True),
    case("deceased, from that date", replace(OLD_WORKER, left="deceased", left_on=EVENT_ON), WELFARE_LUNCH,
         business_date=EVENT_ON, code="deceased", granted=False, considered={},
         reason_zh="该就餐者登记为已身故（2026-03-10起），不享受补贴，按菜单价结算",
         reason_en="This diner is recorded as deceased (from 2026-03-10): no subsidy, menu price"),
    case("deceased, the day after", replace(OLD_WORKER, left="deceased", left_on=EVENT_ON), WELFARE_LUNCH,
         business_date=date(2026, 3, 11), code="deceased", granted=False, considered={}),
    case("moved away", replace(OLD_WORKER, left="moved_away", left_on=EVENT_ON), WELFARE_LUNCH,
         business_date=date(2026, 4, 1), code="moved_away", granted=False, considered={},
         reason_zh="该就餐者已迁出本社区（2026-03-10起），不享受补贴，按菜单价结算",
         reason_en="This diner has moved away (from 2026-03-10): no subsidy, menu price"),
    case("moved away and suspended", replace(OLD_WORKER, left="moved_away", left_on=EVENT_ON, suspended=True),
         WELFARE_LUNCH, business_date=EVENT_ON, code="suspended"),
    case("moved away, outside the meal periods", resident(date(1940, 1, 1), left="moved_away", left_on=EVENT_ON),
         policy=PER_PERIOD, business_date=EVENT_ON, local_time=time(15, 0), code="moved_away"),
    case("deceased, a meal already today", resident(date(1940, 1, 1), left="deceased", left_on=EVENT_ON),
         business_date=EVENT_ON, had=1, code="deceased"),
)

LIMIT_TABLES = (REFUSED_FIRST, DAILY_LIMIT, WEEKLY_LIMIT, MEAL_PERIOD_LIMIT, VERSIONS, PROOFS, LIFE_EVENTS)
