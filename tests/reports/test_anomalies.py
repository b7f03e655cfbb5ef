"""The claim checks itself: the revenue identity and the anomaly rules of reports.anomalies.
Each rule has a day that triggers it and one that does not, on SQLite and PostgreSQL, and
the checks reach the daily report and the monthly claim."""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from pos.clock import now_utc
from pos.config import ChecksConfig
from pos.ids import new_id
from pos.models import Diner, StaffUser
from report_data import Book, sample_day
from reports import service
from reports.anomalies import AnomalyRules, anomaly_checks, anomaly_rules
from reports.claim_queries import canteens_of

DAY = date(2026, 3, 10)
NEXT = DAY + timedelta(days=1)
D, U = Diner.__table__, StaffUser.__table__


def checks_of(app, first: date, last: date | None = None, codes=("YLW01",), rules: AnomalyRules | None = None):
    """The anomaly checks of ``codes`` over ``first``–``last``, by code."""
    with app.extensions["canteen_db"].session() as s:
        found = anomaly_checks(session=s, canteens=canteens_of(session=s, codes=list(codes)), first=first,
                               last=last or first, rules=rules or anomaly_rules(app.config["CANTEEN"]))
    return {c.code: c for c in found}


class Till:
    """Sales of one canteen through a test Book, a shift opened per business date."""

    def __init__(self, book: Book, cashier: str):
        self.book, self.cashier, self.shifts, self.closed = book, cashier, {}, set()

    def sale(self, day: date = DAY, **kw) -> str:
        if day not in self.shifts:
            self.close()  # a cashier has one open shift at a time
            self.shifts[day] = self.book.shift(day, self.cashier)
        return self.book.sale(self.shifts[day], day, cashier=self.cashier, **kw)

    def close(self) -> None:
        for day, shift_id in self.shifts.items():
            if shift_id not in self.closed:
                self.book.close_shift(shift_id, day)
                self.closed.add(shift_id)


@contextmanager
def write(app, canteen: str = "YLW01"):
    """A Till of ``canteen`` inside one committed transaction."""
    with app.extensions["canteen_db"].transaction() as s:
        book = Book(s, canteen)
        till = Till(book, "cashier" if canteen == "YLW01" else "jm-cashier")
        yield till
        till.close()
        book.finish()


# -- 1. revenue identity --------------------------------------------------------------------------

def test_revenue_identity_holds_for_a_varied_day(app):
    with app.extensions["canteen_db"].transaction() as s:
        sample_day(s, DAY)
    found = checks_of(app, DAY)
    assert found["revenue_identity"].ok and found["revenue_by_tender"].ok
    assert found["revenue_identity"].detail_zh == "菜品收入 ¥72.00，实收 ¥47.00 + 补贴 ¥25.00"
    assert found["revenue_identity"].detail_en == "menu revenue ¥72.00, paid ¥47.00 + subsidy ¥25.00"
    assert "现金 ¥31.00" in found["revenue_by_tender"].detail_zh and "WeChat ¥17.00" in found["revenue_by_tender"].detail_en


def test_sale_lines_worth_more_than_was_paid_and_subsidised_break_the_identity(app):
    with write(app) as w:
        w.sale(gross_fen=1500, tender="wechat")
        w.sale(gross_fen=1200, tender="cash", lines_fen=1300)  # a dish rung up at ¥13 but charged ¥12
    found = checks_of(app, DAY)
    assert not found["revenue_identity"].ok and not found["revenue_by_tender"].ok
    assert "¥28.00 ≠ ¥27.00 + ¥0.00" in found["revenue_identity"].detail_zh
    assert "现金 菜品 ¥13.00 ≠ 实收 ¥12.00 + 补贴 ¥0.00" in found["revenue_by_tender"].detail_zh
    assert "Cash menu ¥13.00 ≠ paid ¥12.00 + subsidy ¥0.00" in found["revenue_by_tender"].detail_en


def test_errors_that_cancel_out_over_the_day_still_show_per_tender(app):
    with write(app) as w:
        w.sale(gross_fen=1500, tender="wechat", lines_fen=1600)
        w.sale(gross_fen=1200, tender="alipay", lines_fen=1100)
    found = checks_of(app, DAY)
    assert found["revenue_identity"].ok
    assert not found["revenue_by_tender"].ok
    assert "微信" in found["revenue_by_tender"].detail_zh and "支付宝" in found["revenue_by_tender"].detail_zh


# -- 2. void rate per cashier ---------------------------------------------------------------------

def _sales_with_voids(app, sales: int, voids: int) -> None:
    with write(app) as w:
        ids = [w.sale(gross_fen=1000, tender="wechat", hour=11, minute=n % 60) for n in range(sales)]
        for sale_id in ids[:voids]:
            w.book.void(sale_id)


def test_a_cashier_voiding_above_the_share_is_flagged(app):
    _sales_with_voids(app, 20, 3)  # 15 % > 10 %
    check = checks_of(app, DAY)["void_rate"]
    assert not check.ok
    assert "收银员小王 3/20 笔作废（15%）" in check.detail_zh
    assert "收银员小王 3 of 20 sales voided (15%)" in check.detail_en


@pytest.mark.parametrize("sales, voids", [(20, 2), (2, 1)], ids=["exactly the share", "too few sales"])
def test_a_void_rate_at_the_share_or_on_few_sales_is_not_flagged(app, sales, voids):
    _sales_with_voids(app, sales, voids)
    check = checks_of(app, DAY)["void_rate"]
    assert check.ok, check
    assert check.detail_zh == f"已核对 {1 if sales >= 20 else 0} 个收银员日"


def test_the_void_rate_thresholds_come_from_the_rules(app):
    _sales_with_voids(app, 4, 1)
    strict = replace(anomaly_rules(app.config["CANTEEN"]), checks=ChecksConfig(void_rate_max=0.2, void_rate_min_sales=4))
    assert not checks_of(app, DAY, rules=strict)["void_rate"].ok


# -- 3. the same diner at two canteens within the window ------------------------------------------

def _two_canteens(app, first: tuple[date, int, int], second: tuple[date, int, int], *, void_second=False):
    with write(app, "YLW01") as w:
        w.sale(first[0], gross_fen=1500, kind="age_tier", amount_fen=300, diner=7, hour=first[1], minute=first[2])
    with write(app, "JM01") as w:
        sale = w.sale(second[0], gross_fen=1500, kind="age_tier", amount_fen=300, diner=7, hour=second[1],
                      minute=second[2])
        if void_second:
            w.book.void(sale, requested_by="jm-cashier", approved_by="jm-supervisor")


def test_one_diner_subsidised_at_two_canteens_across_midnight_is_flagged(app):
    _two_canteens(app, (DAY, 23, 40), (NEXT, 0, 20))
    for canteen, day in (("YLW01", DAY), ("JM01", NEXT)):
        check = checks_of(app, day, codes=(canteen,))["same_diner_two_canteens"]
        assert not check.ok, (canteen, check)
        assert "YLW01 #" in check.detail_zh and "03-10 23:40 → JM01" in check.detail_zh
        assert "相隔 40 分钟" in check.detail_zh and "(40 min apart)" in check.detail_en
    claim = checks_of(app, DAY.replace(day=1), DAY.replace(day=31), codes=("YLW01", "JM01"))
    assert not claim["same_diner_two_canteens"].ok


@pytest.mark.parametrize("first, second, void_second", [
    ((DAY, 23, 0), (NEXT, 0, 30), False),   # 90 minutes apart
    ((DAY, 11, 0), (NEXT, 11, 0), False),   # lunch on two days
    ((DAY, 23, 40), (NEXT, 0, 20), True),   # the second sale was voided
], ids=["90 minutes", "next day", "voided"])
def test_one_diner_at_two_canteens_far_apart_or_voided_is_not_flagged(app, first, second, void_second):
    _two_canteens(app, first, second, void_second=void_second)
    for canteen, day in (("YLW01", first[0]), ("JM01", second[0])):
        check = checks_of(app, day, codes=(canteen,))["same_diner_two_canteens"]
        assert check.ok and check.detail_zh == "0 例", check


# -- 4. free meals before opening; 5. sales outside opening hours ---------------------------------

def test_a_free_meal_before_opening_is_flagged_and_is_a_sale_outside_hours(app):
    with write(app) as w:
        w.sale(gross_fen=1500, kind="free_meal", amount_fen=1500, diner=1, tender="free", hour=6, minute=10)
    found = checks_of(app, DAY)
    assert not found["free_meal_before_opening"].ok
    assert found["free_meal_before_opening"].detail_zh.endswith("06:10（06:30 开门）")
    assert found["free_meal_before_opening"].detail_en.endswith("06:10 (opens 06:30)")
    assert not found["sales_outside_hours"].ok


def test_a_free_meal_at_opening_time_and_a_paid_early_sale_are_no_early_free_meal(app):
    with write(app) as w:
        w.sale(gross_fen=1500, kind="free_meal", amount_fen=1500, diner=1, tender="free", hour=6, minute=30)
        w.sale(gross_fen=1500, kind="age_tier", amount_fen=300, diner=2, hour=6, minute=10)
    found = checks_of(app, DAY)
    assert found["free_meal_before_opening"].ok
    assert not found["sales_outside_hours"].ok  # the paid 06:10 sale is still outside the hours


@pytest.mark.parametrize("hour, minute", [(5, 59), (6, 29), (19, 30), (23, 5)])
def test_a_sale_outside_opening_hours_is_flagged(app, hour, minute):
    with write(app) as w:
        w.sale(gross_fen=1200, tender="wechat", hour=hour, minute=minute)
        w.sale(gross_fen=1200, tender="wechat", hour=12)
    check = checks_of(app, DAY)["sales_outside_hours"]
    assert not check.ok
    assert check.detail_zh.endswith(f"{hour:02d}:{minute:02d}") and "#" in check.detail_en
    assert check.label_zh == "无营业时间（06:30–19:30）以外的销售"


def test_sales_within_hours_or_voided_are_not_flagged_and_hours_are_per_canteen(app):
    with write(app) as w:
        w.sale(gross_fen=1200, tender="wechat", hour=6, minute=30)
        w.sale(gross_fen=1200, tender="wechat", hour=19, minute=29)
        w.book.void(w.sale(gross_fen=1200, tender="wechat", hour=22))
    assert checks_of(app, DAY)["sales_outside_hours"].ok
    later = replace(anomaly_rules(app.config["CANTEEN"]), hours={"YLW01": (time(7, 0), time(19, 0))})
    check = checks_of(app, DAY, rules=later)["sales_outside_hours"]
    assert not check.ok and "06:30" in check.detail_zh and "19:29" in check.detail_zh


# -- 6. attendance: subsidised meals against registered eligible diners × factor ------------------

def _register(app, community: str, *, births: list[tuple[date, bool, str | None, bool, bool]]) -> None:
    """Diners of ``community``: (birth date, resident, worker category, verified, suspended)."""
    with app.extensions["canteen_db"].transaction() as s:
        staff = s.connection().execute(select(U.c.id).where(U.c.username == "registrar")).scalar()
        now = datetime(2026, 1, 1)
        for birth, resident, category, verified, suspended in births:
            s.connection().execute(D.insert(), {
                "id": new_id(), "name": "测试", "id_hmac": new_id(), "id_masked": "3302**********0000",
                "birth_date": birth, "resident": resident, "community": community, "worker_category": category,
                "worker_verified_by": staff if verified else None, "worker_verified_at": now if verified else None,
                "suspended": suspended, "created_by": staff, "created_at": now, "updated_at": now})


JINGMING = [
    (date(1950, 5, 1), True, None, False, False),                  # 75, resident: eligible
    (DAY.replace(year=DAY.year - 60), True, None, False, False),   # 60 today: eligible
    (date(1990, 1, 1), False, "delivery_rider", True, False),      # verified rider: eligible
    (NEXT.replace(year=NEXT.year - 60), True, None, False, False),  # 60 tomorrow: not yet
    (date(1950, 5, 1), False, None, False, False),                 # not a resident: no age discount
    (date(1990, 1, 1), False, "cleaner", False, False),            # worker not verified
    (date(1940, 5, 1), True, None, False, True),                   # suspended
]


def _meals_at_jm01(app, meals: int, first_diner: int = 500) -> None:
    with write(app, "JM01") as w:
        for n in range(meals):
            w.sale(gross_fen=1500, kind="age_tier", amount_fen=300, diner=first_diner + n, minute=n)


def test_more_subsidised_meals_than_eligible_diners_times_the_factor_is_flagged(app):
    _register(app, "景明社区", births=JINGMING)
    _meals_at_jm01(app, 4)
    check = checks_of(app, DAY, codes=("JM01",))["attendance"]
    assert not check.ok
    assert check.detail_zh == "补贴 4 餐 > 合资格 3 人 × 1" and check.detail_en == "4 subsidised meal(s) > 3 eligible × 1"


def test_meals_within_eligible_diners_times_the_factor_are_not_flagged(app):
    _register(app, "景明社区", births=JINGMING)
    _meals_at_jm01(app, 3)
    check = checks_of(app, DAY, codes=("JM01",))["attendance"]
    assert check.ok and check.detail_zh == "补贴 3 餐，合资格 3 人"
    _meals_at_jm01(app, 2, first_diner=600)  # 5 meals: fine with a factor of 2 (lunch and dinner subsidised)
    two = replace(anomaly_rules(app.config["CANTEEN"]), checks=ChecksConfig(attendance_factor=2.0))
    assert checks_of(app, DAY, codes=("JM01",), rules=two)["attendance"].ok


def test_a_community_without_registered_eligible_diners_is_reported_as_not_checked(app):
    _meals_at_jm01(app, 2)
    check = checks_of(app, DAY, codes=("JM01",))["attendance"]
    assert check.ok
    assert "景明社区 无登记的合资格就餐者，1 天未核对" in check.detail_zh
    assert "1 day(s) not checked: no eligible diner registered in 景明社区" in check.detail_en


# -- wiring and wording ---------------------------------------------------------------------------

CODES = {"revenue_identity", "revenue_by_tender", "void_rate", "same_diner_two_canteens", "free_meal_before_opening",
         "sales_outside_hours", "attendance", "grant_after_life_event"}


def test_the_checks_reach_the_daily_report_and_the_monthly_claim(app):
    with write(app) as w:
        w.sale(gross_fen=1500, kind="free_meal", amount_fen=1500, diner=1, tender="free", hour=6, minute=0)
    settings, db = app.config["CANTEEN"], app.extensions["canteen_db"]
    with db.session() as s:
        daily = service.build_daily(session=s, settings=settings, canteen_id="YLW01", business_date=DAY, now=now_utc())
        claim = service.build_claim(session=s, settings=settings, canteen_ids=["YLW01", "JM01"],
                                    month=DAY.replace(day=1), now=now_utc())
    for checks in (daily.checks, claim.data.checks):
        failed = {c.code for c in checks if not c.ok}
        assert CODES <= {c.code for c in checks}
        assert {"free_meal_before_opening", "sales_outside_hours"} <= failed
    assert "YLW01 03-10 #" in next(c for c in claim.data.checks if c.code == "sales_outside_hours").detail_zh


def test_the_claim_leaves_a_closed_day_to_its_close_and_the_daily_data_rechecks_it(app):
    """A closed day's sales cannot change, so the claim reads its per-day sales checks from
    the close (its daily report) instead of re-reading a month of sale lines."""
    from pos.store.day_close import close_day

    with write(app) as w:
        w.sale(gross_fen=1200, tender="wechat", hour=5, minute=0)
    settings, db = app.config["CANTEEN"], app.extensions["canteen_db"]
    with db.transaction() as s:
        admin = s.execute(select(StaffUser).where(StaffUser.username == "admin")).scalars().one()
        close_day(session=s, settings=settings, canteen_id="YLW01", business_date=DAY, actor=admin, now=now_utc())
    with db.session() as s:
        daily = service.build_daily(session=s, settings=settings, canteen_id="YLW01", business_date=DAY, now=now_utc())
    assert not next(c for c in daily.checks if c.code == "sales_outside_hours").ok  # found at the close
    with db.session() as s:
        claim = service.build_claim(session=s, settings=settings, canteen_ids=["YLW01"], month=DAY.replace(day=1),
                                    now=now_utc())
    month = {c.code: c for c in claim.data.checks}
    assert month["sales_outside_hours"].ok
    assert month["sales_outside_hours"].detail_zh.endswith("已日结的 1 天以日结时的核对为准")
    assert month["revenue_identity"].detail_en.endswith("1 closed day(s): as checked at their close")
    assert not checks_of(app, DAY.replace(day=1), DAY.replace(day=31))["sales_outside_hours"].ok  # without skip_closed


def test_a_zh_reader_sees_chinese_and_an_en_reader_english(app):
    with write(app) as w:
        w.sale(gross_fen=1500, kind="free_meal", amount_fen=1500, diner=1, tender="free", hour=6, minute=0,
               lines_fen=1700)
    _meals_at_jm01(app, 1)
    found = checks_of(app, DAY.replace(day=1), DAY.replace(day=31), codes=("YLW01", "JM01"))
    assert CODES == set(found)
    for check in found.values():
        zh = re.sub(r"YLW01|JM01", "", check.label_zh + check.detail_zh)
        assert not re.search(r"[A-Za-z]{2,}", zh), check
        assert not re.search(r"[\u4e00-\u9fff]", check.label_en), check
    assert "not checked" in found["attendance"].detail_en and "未核对" in found["attendance"].detail_zh
