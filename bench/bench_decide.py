"""How fast is decide()?  A plain script: ``python bench/bench_decide.py [--n 20000]``.

The workload imitates a lunch service at a neighbourhood canteen: mostly seniors with
vouchers and people paying the menu price, some outdoor workers and free-meal tickets, a
few walk-ins with a resident ID, suspended vouchers and second attempts; orders of one
to four dishes; the free-meal counter climbing through the day, past the cap.
Inputs are built before timing, so only decide() is measured.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time as clock
from collections import Counter
from datetime import date, time, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from subsidies.engine import Counters, DinerFacts, Order, OrderLine, decide  # noqa: E402
from subsidies.policy import AgeTier, MealPeriod, PolicyVersion  # noqa: E402

BUSINESS_DATE = date(2026, 3, 2)
POLICIES = (
    PolicyVersion("2026-01", date(2026, 1, 1), (AgeTier(60, 300), AgeTier(80, 700))),
    PolicyVersion("2026-01-period", date(2026, 1, 1),
                  (AgeTier(60, 300), AgeTier(70, 500), AgeTier(80, 700)),
                  limit_per="period",
                  meal_periods=(MealPeriod("lunch", time(10, 30), time(14, 0)),
                                MealPeriod("dinner", time(16, 30), time(19, 30)))),
)
MENU = (
    OrderLine(1, "公益套餐", 1500, 1, welfare_meal=True),
    OrderLine(2, "红烧肉", 1800, 1),
    OrderLine(3, "清炒时蔬", 800, 1),
    OrderLine(4, "番茄炒蛋", 1000, 1),
    OrderLine(5, "米饭", 100, 1),
    OrderLine(6, "例汤", 300, 1),
    OrderLine(7, "馒头", 150, 2),
)


def _diner(rng: random.Random) -> DinerFacts:
    roll = rng.random()
    born = BUSINESS_DATE - timedelta(days=rng.randint(45 * 365, 95 * 365))
    if roll < 0.40:  # seniors with a voucher (some not residents, some not yet 60)
        return DinerFacts("registered", birth_date=born, resident=rng.random() < 0.9)
    if roll < 0.65:  # menu price
        return DinerFacts("anonymous")
    if roll < 0.82:  # outdoor workers, some also 60+
        return DinerFacts("registered", birth_date=born if rng.random() < 0.5 else None,
                          resident=rng.random() < 0.5,
                          worker_category=rng.choice(("cleaner", "sanitation_worker",
                                                      "delivery_rider")),
                          worker_verified=rng.random() < 0.95)
    if roll < 0.90:
        return DinerFacts("ticket", ticket_date=BUSINESS_DATE - timedelta(days=rng.random() < 0.05))
    if roll < 0.97:
        return DinerFacts("walk_in", birth_date=born)
    return DinerFacts("registered", birth_date=born, resident=True, suspended=True)


def _order(rng: random.Random, diner: DinerFacts) -> Order:
    wants_welfare = diner.kind == "ticket" or diner.worker_category is not None
    lines = [MENU[0]] if wants_welfare and rng.random() < 0.9 else []
    lines += rng.sample(MENU[1:], rng.randint(0 if lines else 1, 3))
    return Order(tuple(lines))


def workload(n: int, seed: int = 20260302) -> list[dict]:
    """``n`` realistic decide() keyword arguments, reproducible from ``seed``."""
    rng = random.Random(seed)
    calls = []
    for i in range(n):
        diner = _diner(rng)
        calls.append(dict(
            policy=POLICIES[rng.random() < 0.2],
            diner=diner,
            order=_order(rng, diner),
            business_date=BUSINESS_DATE,
            local_time=time(rng.choice((11, 12, 12, 13, 17, 18, 15)), rng.randint(0, 59)),
            counters=Counters(free_meals_used=min(60, i * 60 // n),
                              diner_subsidised=int(rng.random() < 0.05)),
        ))
    return calls


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="decisions per pass")
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args(argv)

    calls = workload(args.n)
    codes = Counter(decide(**kw).code for kw in calls)  # also warms the policy check cache

    per_call_ns = []
    for kw in calls:
        start = clock.perf_counter_ns()
        decide(**kw)
        per_call_ns.append(clock.perf_counter_ns() - start)

    best = float("inf")
    for _ in range(args.passes):
        start = clock.perf_counter()
        for kw in calls:
            decide(**kw)
        best = min(best, clock.perf_counter() - start)

    print(f"python {sys.version.split()[0]}, {args.n} decisions per pass, best of {args.passes}")
    print(f"throughput: {args.n / best:,.0f} decisions/s")
    print(f"median per decision: {statistics.median(per_call_ns) / 1000:.1f} µs "
          f"(p99 {statistics.quantiles(per_call_ns, n=100)[98] / 1000:.1f} µs)")
    print("mix: " + ", ".join(f"{code} {count * 100 / args.n:.0f}%"
                              for code, count in codes.most_common()))


if __name__ == "__main__":
    main()
