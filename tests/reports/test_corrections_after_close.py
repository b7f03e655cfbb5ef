"""After day close nothing is edited: a correction is a new row, dated on an open business
date, pointing at the original sale; the reports show it where it was booked."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from pos.clock import business_date, now_utc
from pos.refusal import Refusal
from pos.models import Sale, StaffUser, SubsidyGrant
from pos.store.corrections import book_correction
from pos.store.day_close import close_day
from report_data import sample_day
from reports import service

PAST, OPEN = date(2026, 3, 2), date(2026, 3, 3)


def test_a_correction_is_a_new_dated_row_and_the_original_is_untouched(sqlite_app):
    app, settings = sqlite_app, sqlite_app.config["CANTEEN"]
    db = app.extensions["canteen_db"]
    with db.transaction() as s:
        sample_day(s, PAST)
        sample_day(s, OPEN)
    with db.transaction() as s:
        admin = s.execute(select(StaffUser).where(StaffUser.username == "admin")).scalars().one()
        supervisor = s.execute(select(StaffUser).where(StaffUser.username == "supervisor")).scalars().one()
        close_day(session=s, settings=settings, canteen_id="YLW01", business_date=PAST, actor=admin, now=now_utc())
    g, sa = SubsidyGrant.__table__, Sale.__table__
    with db.session() as s:
        sale_id = s.connection().execute(
            select(g.c.sale_id).join(sa, sa.c.id == g.c.sale_id)
            .where(g.c.business_date == PAST, g.c.voided.is_(False), g.c.kind == "age_tier",
                   g.c.amount_fen == 700)).scalar()
        open_sale = s.connection().execute(select(sa.c.id).where(sa.c.business_date == OPEN,
                                                                 sa.c.status == "completed")).scalar()
    with db.transaction() as s:
        corr = book_correction(session=s, settings=settings, sale_id=sale_id, reason="补录：顾客当日已退餐",
                               refund_fen=1000, reversed_subsidy_fen=700, actor=supervisor, approved_by=admin,
                               now=now_utc())
    today = business_date(settings.default_canteen.timezone)
    assert (corr.business_date, corr.original_sale_id, corr.reversed_subsidy_fen, corr.refund_fen) == \
        (today, sale_id, 700, 1000)
    assert (corr.created_by, corr.approved_by, corr.original_date) == ("supervisor", "admin", PAST)
    with db.session() as s:
        assert s.get(Sale, sale_id).status == "completed"  # nothing edited in place
        assert s.connection().execute(select(g.c.voided).where(g.c.sale_id == sale_id)).scalar() is False
        daily = service.build_daily(session=s, settings=settings, canteen_id="YLW01", business_date=today,
                                    now=now_utc())
        claim = service.build_claim(session=s, settings=settings, canteen_ids=["YLW01"], month=today.replace(day=1),
                                    now=now_utc())
        past = service.build_daily(session=s, settings=settings, canteen_id="YLW01", business_date=PAST,
                                   now=now_utc())
    assert [(c.original_date, c.reversed_subsidy_fen) for c in daily.data.corrections] == [(PAST, 700)]
    assert (claim.data.corrections_count, claim.data.corrections_subsidy_fen) == (1, 700)
    assert past.all_ok  # the closed day still hashes to what the close stored
    for sale, code in ((sale_id, "already_corrected"), (open_sale, "day_open"), ("nope", "unknown_sale")):
        with pytest.raises(Refusal) as e, db.transaction() as s:
            book_correction(session=s, settings=settings, sale_id=sale, reason="再次更正", refund_fen=100,
                            reversed_subsidy_fen=0, actor=supervisor, approved_by=admin, now=now_utc())
        assert e.value.code == code


def test_a_correction_reverses_what_was_asked_within_the_sale_and_needs_a_second_person(sqlite_app):
    app, settings = sqlite_app, sqlite_app.config["CANTEEN"]
    db = app.extensions["canteen_db"]
    with db.transaction() as s:
        sample_day(s, PAST)
    with db.transaction() as s:
        users = {u.username: u for u in s.execute(select(StaffUser)).scalars()}
        close_day(session=s, settings=settings, canteen_id="YLW01", business_date=PAST, actor=users["admin"],
                  now=now_utc())
    g = SubsidyGrant.__table__
    with db.session() as s:  # the WeChat sale: gross 17.00, subsidy 7.00, paid 10.00
        sale_id = s.connection().execute(select(g.c.sale_id).where(
            g.c.business_date == PAST, g.c.voided.is_(False), g.c.amount_fen == 700)).scalar()
    asks = {"refund_fen": 500, "reversed_subsidy_fen": 0, "actor": "supervisor", "approved_by": "admin",
            "reason": "少收一份汤"}
    for change, code in [
        ({"refund_fen": 1001}, "refund_out_of_range"), ({"refund_fen": -1}, "refund_out_of_range"),
        ({"refund_fen": "500"}, "refund_out_of_range"), ({"reversed_subsidy_fen": 701}, "subsidy_out_of_range"),
        ({"refund_fen": 0}, "nothing_to_correct"), ({"reason": "  "}, "reason_required"),
        ({"approved_by": "supervisor"}, "approver_is_requester"),
        ({"actor": "admin", "approved_by": "admin"}, "approver_is_requester"),
        ({"approved_by": "cashier"}, "approver_not_allowed"),
        ({"approved_by": "jm-supervisor"}, "approver_not_allowed"),  # a supervisor of another canteen
        ({"actor": "cashier"}, "requester_not_allowed"), ({"actor": "accountant"}, "requester_not_allowed"),
    ]:
        a = {**asks, **change}
        with pytest.raises(Refusal) as e, db.transaction() as s:
            book_correction(session=s, settings=settings, sale_id=sale_id, reason=a["reason"],
                            refund_fen=a["refund_fen"], reversed_subsidy_fen=a["reversed_subsidy_fen"],
                            actor=users[a["actor"]], approved_by=users[a["approved_by"]], now=now_utc())
        assert e.value.code == code, change
    with db.transaction() as s:
        corr = book_correction(session=s, settings=settings, sale_id=sale_id, reason=asks["reason"], refund_fen=500,
                               reversed_subsidy_fen=0, actor=users["supervisor"], approved_by=users["admin"],
                               now=now_utc())
    assert (corr.refund_fen, corr.reversed_subsidy_fen, corr.approved_by) == (500, 0, "admin")
    with db.session() as s:
        daily = service.build_daily(session=s, settings=settings, canteen_id="YLW01", business_date=corr.business_date,
                                    now=now_utc())
    assert [(c.refund_fen, c.reversed_subsidy_fen) for c in daily.data.corrections] == [(500, 0)]
