"""Property: for generated days of sales, subsidies and voids, the monthly claim total =
Σ of the daily totals = Σ of the grants not voided — in the PDFs (pdftotext), the CSVs
and the database alike."""
from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select, text

from pos.clock import now_utc
from pos.models import StaffUser, SubsidyGrant
from report_data import Book
from report_tools import Poppler, line_with, read_csv
from reports import service
from reports.claim_grants import grant_rows
from reports.csvs import iter_grants_csv, summary_csv
from reports.daily import render_daily
from reports.monthly import render_monthly
from subsidies.money import plain_yuan, yuan

MONTH = date(2026, 4, 1)
TABLES = ("day_closes", "voids", "subsidy_grants", "sale_lines", "sales", "shifts", "free_meal_counters")

sale = st.tuples(
    st.sampled_from(["none", "age_tier", "age_tier", "free_meal"]),   # benefit kind
    st.integers(min_value=100, max_value=4000),                        # gross fen
    st.sampled_from([300, 500, 700]),                                  # age discount fen
    st.sampled_from(["cash", "wechat", "alipay"]),
    st.booleans(),                                                     # voided?
    st.integers(min_value=7, max_value=19))                            # local hour
day = st.tuples(st.integers(min_value=1, max_value=28), st.sampled_from(["YLW01", "JM01"]),
                st.lists(sale, min_size=0, max_size=8), st.booleans())  # (day, canteen, sales, closed?)


def _reset(app):
    with app.extensions["canteen_db"].transaction() as s:
        for table in TABLES:
            s.connection().execute(text(f"DELETE FROM {table} WHERE business_date BETWEEN :a AND :b"
                                        if table not in ("sale_lines",) else
                                        "DELETE FROM sale_lines WHERE sale_id IN (SELECT id FROM sales "
                                        "WHERE business_date BETWEEN :a AND :b)"),
                                   {"a": MONTH, "b": MONTH.replace(day=30)})


def _write(app, days):
    """Insert the generated days; returns the (canteen, date) pairs written."""
    written = []
    with app.extensions["canteen_db"].transaction() as s:
        admin = s.execute(select(StaffUser).where(StaffUser.username == "admin")).scalars().one()
        for n, (dom, canteen, sales, closed) in enumerate(days):
            on = MONTH.replace(day=dom)
            if (canteen, on) in written:
                continue
            written.append((canteen, on))
            book = Book(s, canteen)
            cashier = "cashier" if canteen == "YLW01" else "jm-cashier"
            shift = book.shift(on, cashier)
            for i, (kind, gross, discount, tender, voided, hour) in enumerate(sales):
                kind = None if kind == "none" else kind
                amount = gross if kind == "free_meal" else min(discount, gross) if kind else 0
                sale_id = book.sale(shift, on, gross_fen=gross, kind=kind, amount_fen=amount,
                                    diner=(1000 * n) + i, tender="free" if amount == gross and kind else tender,
                                    hour=hour, minute=i, cashier=cashier)
                if voided:
                    book.void(sale_id, requested_by=cashier, approved_by="admin")
            book.close_shift(shift, on)
            book.finish()
        from pos.store.day_close import close_day

        for dom, canteen, _, closed in days:
            on = MONTH.replace(day=dom)
            if closed and s.execute(text("SELECT count(*) FROM day_closes WHERE canteen_id=:c AND business_date=:d"),
                                    {"c": canteen, "d": on}).scalar() == 0:
                close_day(session=s, settings=app.config["CANTEEN"], canteen_id=canteen, business_date=on,
                          actor=admin, now=now_utc())
    return written


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(days=st.lists(day, min_size=1, max_size=4))
def test_claim_total_equals_sum_of_daily_totals_equals_live_grants_everywhere(app, tmp_path, days):
    poppler = Poppler(tmp_path)
    _reset(app)
    written = _write(app, days)
    settings_, db = app.config["CANTEEN"], app.extensions["canteen_db"]
    g = SubsidyGrant.__table__
    with db.session() as s:
        in_db = int(s.connection().execute(select(func.coalesce(func.sum(g.c.amount_fen), 0)).where(
            g.c.business_date.between(MONTH, MONTH.replace(day=30)), g.c.voided.is_(False))).scalar())
        daily_total = 0
        for canteen, on in written:
            report = service.build_daily(session=s, settings=settings_, canteen_id=canteen, business_date=on,
                                         now=now_utc())
            assert report.all_ok, [c for c in report.checks if not c.ok]
            assert report.data.summary.subsidy_fen == report.data.summary.granted_fen
            daily_total += report.data.summary.subsidy_fen
            pdf_text = poppler.text(render_daily(report)[2], "daily.pdf")
            assert yuan(report.data.summary.subsidy_fen) in line_with(pdf_text, "补贴合计")
        claim = service.build_claim(session=s, settings=settings_, canteen_ids=["YLW01", "JM01"], month=MONTH,
                                    now=now_utc())
        grants_csv = b"".join(iter_grants_csv(grant_rows(session=s, canteens=claim.data.canteens, month=MONTH),
                                              claim.timezone))
    assert claim.data.total_fen == daily_total == in_db
    assert claim.data.all_ok, [c for c in claim.data.checks if not c.ok]
    claim_text = poppler.text(render_monthly(claim)[2], "claim.pdf")
    assert yuan(in_db) in line_with(claim_text, "申领合计")
    rows = read_csv(grants_csv)
    claimed = rows[0].index("申领金额（元）")
    assert sum(int(r[claimed].replace(".", "")) for r in rows[1:]) == in_db
    summary = read_csv(summary_csv(claim)[2])
    assert summary[-1][0] == "合计" and summary[-1][8] == plain_yuan(in_db)
    assert sum(int(r[8].replace(".", "")) for r in summary[1:-1]) == in_db
