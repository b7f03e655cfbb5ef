"""One source of the rules for two engines: the table of decision cases made from the Python
engine's own tables (subsidies/decision_cases.json) gets the same decisions from the engine and
from the till's port (pos/web/static/decide.js, run under Node), and so do random inputs."""
from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from datetime import date, time
from pathlib import Path

import pytest
from decision_table import REGENERATE, TABLE_PATH, stale_files
from hypothesis import HealthCheck, given, settings, strategies as st

from subsidies import wire
from subsidies.engine import CODES, Counters, DinerFacts, Order, OrderLine, decide
from subsidies.policy import WORKER_CATEGORIES, AgeTier, MealPeriod, PolicyVersion
from support import need_tool

RUNNER = Path(__file__).with_name("run_decide.mjs")
TABLE = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
CASES = TABLE["cases"]


def python_decides(case: dict, policies: dict) -> dict:
    """A case in its JSON form through the wire and the Python engine, back to JSON."""
    decision = decide(policy=wire.policy_from_json(policies[case["policy"]]),
                      diner=wire.diner_from_json(case["diner"]), order=wire.order_from_json(case["order"]),
                      business_date=wire.business_date_from_json(case["business_date"]),
                      local_time=wire.local_time_from_json(case["local_time"]),
                      counters=wire.counters_from_json(case["counters"]))
    return wire.decision_to_json(decision)


def node_decides(table: dict, tmp_path: Path) -> list[dict]:
    """Every case of ``table`` through decide.js, in one Node process."""
    node = need_tool("node", "nodejs")
    source = tmp_path / "cases.json"
    source.write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
    run = subprocess.run([node, str(RUNNER), str(source)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)
    assert [r["name"] for r in results] == [c["name"] for c in table["cases"]]
    return results


def differences(cases: list[dict], results: list[dict], expected: list[dict], shown: int = 5) -> str:
    """The first cases on which decide.js answers otherwise, by name, with both answers."""
    lines = []
    for case, result, python in zip(cases, results, expected):
        if result.get("decision") != python:
            lines.append(f"{case['name']}\n  inputs: {json.dumps(case, ensure_ascii=False)}"
                         f"\n  Python:     {json.dumps(python, ensure_ascii=False)}"
                         f"\n  decide.js:  {json.dumps(result.get('decision', result), ensure_ascii=False)}")
    if not lines:
        return ""
    return f"{len(lines)} of {len(cases)} cases differ; the first:\n" + "\n".join(lines[:shown])


def test_the_committed_table_is_what_the_engines_tables_make_now():
    stale = [str(p.relative_to(TABLE_PATH.parents[1])) for p in stale_files()]
    assert not stale, f"{', '.join(stale)} no longer match the tables and the rules: run {REGENERATE}"


def test_the_table_is_large_and_names_every_case_once():
    names = [c["name"] for c in CASES]
    assert len(names) >= 150
    assert len(set(names)) == len(names)


def test_every_decision_code_appears_in_the_table():
    seen = {c["expected"]["code"] for c in CASES}
    seen |= {k["code"] for c in CASES for k in c["expected"]["considered"]}
    assert set(CODES) - seen == set()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_python_engine_makes_each_decision_of_the_table(case):
    assert python_decides(case, TABLE["policies"]) == case["expected"]


def test_the_tills_port_makes_each_decision_of_the_table(tmp_path):
    results = node_decides(TABLE, tmp_path)
    if differ := differences(CASES, results, [c["expected"] for c in CASES]):
        pytest.fail(differ, pytrace=False)


# -- random inputs through both --------------------------------------------------------------------

PERIODS = (MealPeriod("breakfast", time(6, 30), time(9, 0)), MealPeriod("lunch", time(11, 0), time(13, 30)),
           MealPeriod("午市", time(13, 30), time(14, 0)), MealPeriod("dinner", time(17, 0), time(19, 30, 30)))
DATES = st.dates(date(1900, 1, 1), date(2100, 12, 31))
NEAR = st.dates(date(2024, 1, 1), date(2028, 12, 31))  # business dates, tickets and proofs meet here
# Refusals that stop everything early are drawn seldom, so most inputs reach the benefits.
MOSTLY_FALSE = st.sampled_from([False] * 9 + [True])
SMALL = st.one_of(st.just(0), st.just(0), st.integers(0, 6))
TIMES = st.one_of(st.sampled_from([time(12, 0), time(6, 29, 59), time(6, 30), time(9, 0), time(13, 30),
                                   time(13, 45), time(19, 30, 29), time(19, 30, 30)]),
                  st.times().map(lambda t: t.replace(microsecond=0)))


@st.composite
def policies(draw):
    ages = sorted(draw(st.sets(st.integers(1, 130), max_size=4)))
    discounts = sorted(draw(st.lists(st.integers(1, 200000), min_size=len(ages), max_size=len(ages))))
    per = draw(st.sampled_from(["day", "day", "period"]))
    return PolicyVersion(
        version=draw(st.sampled_from(["2026-01", "v2", "二〇二六"])), effective_from=date(1900, 1, 1),
        age_tiers=tuple(AgeTier(a, f) for a, f in zip(ages, discounts)),
        residency_required=draw(st.booleans()), walk_in_id_counts_as_resident=draw(st.booleans()),
        welfare_categories=draw(st.just(frozenset(WORKER_CATEGORIES))
                                | st.frozensets(st.sampled_from(WORKER_CATEGORIES))),
        free_meals_per_day=draw(st.integers(0, 50)), limit_per=per, meals_per_limit=draw(st.integers(1, 3)),
        meal_periods=PERIODS if per == "period" or draw(st.booleans()) else (),
        per_week=draw(st.sampled_from([None, None, 1, 5])))


@st.composite
def diners(draw):
    left = draw(st.sampled_from([None] * 8 + ["deceased", "moved_away"]))
    return DinerFacts(
        kind=draw(st.sampled_from(["registered"] * 5 + ["walk_in", "ticket", "anonymous"])),
        birth_date=draw(st.dates(date(1920, 1, 1), date(1970, 12, 31)) | DATES | st.none()),
        resident=draw(st.booleans()), worker_category=draw(st.sampled_from(WORKER_CATEGORIES) | st.none()),
        worker_verified=draw(st.booleans().map(lambda b: not b) | st.just(True)), suspended=draw(MOSTLY_FALSE),
        ticket_date=draw(st.none() | NEAR),
        worker_verified_until=draw(st.none() | NEAR), residency_verified_until=draw(st.none() | NEAR),
        left=left, left_on=draw(NEAR) if left else None)


lines = st.builds(OrderLine, item_id=st.integers(1, 99), name=st.sampled_from(["公益套餐", "米饭", "红烧肉"]),
                  unit_price_fen=st.one_of(st.integers(1, 3000), st.integers(0, 300000)), qty=st.integers(1, 4),
                  welfare_meal=st.booleans())
orders = st.one_of(st.lists(lines, min_size=1, max_size=5), st.lists(lines, max_size=5)).map(Order)
inputs = st.tuples(policies(), diners(), orders, NEAR, TIMES,
                   st.builds(Counters, free_meals_used=st.just(0) | st.integers(0, 55), diner_subsidised=SMALL,
                             diner_week=SMALL),
                   st.booleans())


def test_the_tills_port_decides_random_inputs_as_the_engine(tmp_path):
    need_tool("node", "nodejs")
    drawn = []

    @settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(inputs)
    def draw(args):
        drawn.append(args)

    draw()
    policies_json, cases, expected = {}, [], []
    for i, (policy, diner, order, business_date, local_time, counters, ticket_today) in enumerate(drawn):
        if diner.kind == "ticket" and ticket_today:  # a random ticket is seldom for the business date
            diner = replace(diner, ticket_date=business_date)
        policies_json[str(i)] = wire.policy_to_json(policy)
        cases.append({"name": f"random {i}", "policy": str(i), "diner": wire.diner_to_json(diner),
                      "order": wire.order_to_json(order), "business_date": business_date.isoformat(),
                      "local_time": wire.time_to_json(local_time), "counters": wire.counters_to_json(counters)})
        expected.append(wire.decision_to_json(decide(policy=policy, diner=diner, order=order,
                                                     business_date=business_date, local_time=local_time,
                                                     counters=counters)))
    assert len(cases) >= 250
    results = node_decides({"policies": policies_json, "cases": cases}, tmp_path)
    if differ := differences(cases, results, expected):
        pytest.fail(differ, pytrace=False)


# -- input neither engine accepts ------------------------------------------------------------------

GOOD = {**{k: CASES[0][k] for k in ("diner", "order", "business_date", "local_time", "counters")}, "name": "bad",
        "policy": CASES[0]["policy"]}
BAD = [
    ("business_date", "2026-02-30"), ("business_date", "2026-3-1"), ("local_time", "12:00"),
    ("local_time", "24:00:00"), ("diner", {"kind": "vip"}), ("diner", {"kind": "registered", "resident": 1}),
    ("diner", {"kind": "registered", "left": "deceased"}), ("diner", {"kind": "registered", "nickname": "x"}),
    ("order", {"lines": [{"item_id": 1, "name": "x", "unit_price_fen": 12.5, "qty": 1}]}),
    ("order", {"lines": [{"item_id": 1, "name": "x", "unit_price_fen": 100, "qty": 0}]}),
    ("order", {"lines": [{"item_id": 1, "name": "x", "unit_price_fen": True, "qty": 1}]}),
    ("counters", {"free_meals_used": -1}), ("counters", {"diner_week": "5"}),
]


def test_input_the_engine_refuses_the_tills_port_refuses_too(tmp_path):
    cases = [{**GOOD, key: value, "name": f"{key}={json.dumps(value)}"} for key, value in BAD]
    for case in cases:
        with pytest.raises(ValueError):
            python_decides(case, TABLE["policies"])
    results = node_decides({"policies": TABLE["policies"], "cases": cases}, tmp_path)
    accepted = [r["name"] for r in results if "error" not in r]
    assert accepted == [], f"decide.js decided on input the engine refuses: {accepted}"
