"""subsidies.wire: the plain JSON of the rules' data goes there and back unchanged, and JSON
that is not it is refused naming the field."""
import json
from dataclasses import replace
from datetime import date, time

import pytest
from decision_cases import NAMED_PERIODS, POLICIES, WELFARE_LUNCH, worker
from decision_table import CASES

from subsidies import wire
from subsidies.engine import Counters
from subsidies.policy import MealPeriod


def through_json(data):
    return json.loads(json.dumps(data, ensure_ascii=False))


@pytest.mark.parametrize("name", POLICIES)
def test_a_policy_version_goes_there_and_back(name):
    policy = POLICIES[name]
    assert wire.policy_from_json(through_json(wire.policy_to_json(policy))) == policy


def test_every_cases_facts_order_counters_and_decision_go_there_and_back():
    for case in CASES:
        assert wire.diner_from_json(through_json(wire.diner_to_json(case.diner))) == case.diner
        assert wire.order_from_json(through_json(wire.order_to_json(case.order))) == case.order
        assert wire.counters_from_json(through_json(wire.counters_to_json(case.counters))) == case.counters
        decision = case.decide()
        assert wire.decision_from_json(through_json(wire.decision_to_json(decision))) == decision


def test_dates_are_iso_times_to_the_second_and_money_whole_fen():
    data = wire.policy_to_json(NAMED_PERIODS)
    assert data["effective_from"] == "2026-01-01"
    assert data["meal_periods"][1] == {"name": "afternoon", "start": "14:00:00", "end": "16:30:30"}
    assert data["age_tiers"][1] == {"min_age": 80, "discount_fen": 700}
    diner = wire.diner_to_json(replace(worker(), worker_verified_until=date(2027, 2, 28)))
    assert diner["worker_verified_until"] == "2027-02-28" and diner["birth_date"] is None
    assert wire.order_to_json(WELFARE_LUNCH)["lines"][0]["unit_price_fen"] == 1500
    assert wire.time_to_json(time(12, 30, 5, 999999)) == "12:30:05"


def test_a_meal_period_that_does_not_end_on_a_whole_second_cannot_be_sent():
    policy = replace(NAMED_PERIODS, meal_periods=(MealPeriod("lunch", time(11), time(13, 30, 0, 500)),))
    with pytest.raises(wire.WireError, match="whole second"):
        wire.policy_to_json(policy)


@pytest.mark.parametrize(
    ("read", "data", "field"),
    [
        (wire.diner_from_json, {"kind": "registered", "birth_date": "1950-02-30"}, "diner.birth_date"),
        (wire.diner_from_json, {"kind": "registered", "birth_date": "19500101"}, "diner.birth_date"),
        (wire.diner_from_json, {"kind": "registered", "resident": "yes"}, "diner.resident"),
        (wire.diner_from_json, {"kind": "registered", "vip": True}, "unknown keys: vip"),
        (wire.diner_from_json, {"resident": True}, "diner.kind is missing"),
        (wire.diner_from_json, {"kind": "vip"}, "diner kind must be one of"),
        (wire.order_from_json, {"lines": [{"item_id": 1, "name": "粥", "unit_price_fen": 1.5, "qty": 1}]},
         "order.lines[0].unit_price_fen"),
        (wire.order_from_json, {"lines": {}}, "order.lines must be a list"),
        (wire.counters_from_json, {"free_meals_used": True}, "counters.free_meals_used"),
        (wire.counters_from_json, {"diner_week": -1}, "diner_week must be a whole number >= 0"),
        (wire.policy_from_json, {**wire.policy_to_json(POLICIES["standard"]), "per_week": 0}, "per_week"),
        (wire.policy_from_json, {**wire.policy_to_json(POLICIES["per_period"]),
                                 "meal_periods": [{"name": "lunch", "start": "11:00", "end": "13:30:00"}]},
         "policy.meal_periods[0].start"),
        (wire.decision_from_json, {**CASES[0].decide().as_dict(), "granted": True}, "decision.granted"),
        (wire.local_time_from_json, "25:00:00", "local_time"),
        (wire.business_date_from_json, None, "business_date"),
    ],
)
def test_json_that_is_not_the_plain_form_is_refused_naming_the_field(read, data, field):
    with pytest.raises(wire.WireError) as e:
        read(data)
    assert field in str(e.value)


def test_fields_with_a_default_may_be_left_out():
    assert wire.counters_from_json({}) == Counters()
    assert wire.diner_from_json({"kind": "anonymous"}).birth_date is None
