"""A closed day prints from the data its close froze: the same bytes whatever a later
release changes in wording, and a check that fails when the books' figures change."""
from __future__ import annotations

import json
from datetime import date

from sqlalchemy import text
from sqlmodel import select

from pos.clock import now_utc
from pos.models import StaffUser
from pos.store.day_close import close_day
from reports import service
from reports.frozen import thaw_json
from reports.queries import daily_json
from reports.rows import DailyData
from report_data import sample_day

DAY = date(2026, 3, 2)
_THIS_DAY_JSON = text("SELECT report_json FROM day_closes WHERE canteen_id = 'YLW01' AND business_date = :d")


def _closed(app):
    db = app.extensions["canteen_db"]
    with db.transaction() as s:
        sample_day(s, DAY)
    with db.transaction() as s:
        admin = s.exec(select(StaffUser).where(StaffUser.username == "admin")).one()
        return close_day(session=s, settings=app.config["CANTEEN"], canteen_id="YLW01", business_date=DAY,
                         actor=admin, now=now_utc())


def _report(app):
    with app.extensions["canteen_db"].session() as s:
        return service.build_daily(session=s, settings=app.config["CANTEEN"], canteen_id="YLW01", business_date=DAY,
                                   now=now_utc())


def test_frozen_daily_data_reads_back_exactly(sqlite_app):
    closed = _closed(sqlite_app)
    with sqlite_app.extensions["canteen_db"].session() as s:
        stored = s.connection().execute(_THIS_DAY_JSON, {"d": DAY}).scalar()
    assert daily_json(thaw_json(DailyData, stored)) == stored
    report = _report(sqlite_app)
    assert report.sha256 == closed.close.report_sha256 and report.all_ok


def test_a_close_frozen_by_an_older_release_still_prints_and_still_checks(sqlite_app):
    _closed(sqlite_app)
    db = sqlite_app.extensions["canteen_db"]
    with db.transaction() as s:
        tree = json.loads(s.connection().execute(_THIS_DAY_JSON, {"d": DAY}).scalar())
        for check in tree["checks"]:  # the first release's checks carried one English detail
            check["detail"] = "0 case(s)"
            del check["detail_zh"], check["detail_en"]
        tree["retired_field"] = 1
        s.connection().execute(text("UPDATE day_closes SET report_json = :j "
                                    "WHERE canteen_id = 'YLW01' AND business_date = :d"),
                               {"j": json.dumps(tree), "d": DAY})
    report = _report(sqlite_app)
    assert [c.detail_zh for c in report.data.checks] == [""] * len(report.data.checks)
    assert [c.code for c in report.checks if not c.ok] == []  # wording differs, figures agree


def test_changed_figures_on_a_closed_day_fail_its_check(sqlite_app):
    _closed(sqlite_app)
    with sqlite_app.extensions["canteen_db"].transaction() as s:
        s.connection().execute(text("UPDATE shifts SET opening_float_fen = opening_float_fen + 100 "
                                    "WHERE business_date = :d"), {"d": DAY})
    report = _report(sqlite_app)
    # The figures moved, and the check they now fail is shown in place of the frozen one.
    assert [c.code for c in report.checks if not c.ok] == ["shifts_balanced", "unchanged_since_close"]

