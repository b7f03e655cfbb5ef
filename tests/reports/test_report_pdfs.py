"""The daily reconciliation and the monthly claim as PDFs: the Chinese canteen name and
the totals the database holds are in the text, the CJK font is embedded, and the first
pages are kept as PNG artifacts."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from report_data import Book, diner_key, sample_day
from report_tools import line_with
from pos.clock import now_utc
from pos.models import Sale, StaffUser, SubsidyGrant
from reports import service
from reports.daily import render_daily
from reports.monthly import render_monthly
from subsidies.money import yuan

DAY = date(2026, 3, 2)
NAME = "云鹭湾社区邻里食堂"


def _db_totals(app, day_from, day_to, canteens=("YLW01",)):
    s_t, g_t = Sale.__table__, SubsidyGrant.__table__
    with app.extensions["canteen_db"].session() as s:
        conn = s.connection()
        sales = conn.execute(select(func.count(), func.sum(s_t.c.gross_fen), func.sum(s_t.c.subsidy_fen),
                                    func.sum(s_t.c.due_fen))
                             .where(s_t.c.canteen_id.in_(canteens), s_t.c.business_date.between(day_from, day_to),
                                    s_t.c.status == "completed")).one()
        grants = conn.execute(select(func.sum(g_t.c.amount_fen)).where(
            g_t.c.canteen_id.in_(canteens), g_t.c.business_date.between(day_from, day_to),
            g_t.c.voided.is_(False))).scalar()
    return [int(x or 0) for x in sales], int(grants or 0)


def _close(app, code, day):
    from pos.store.day_close import close_day

    with app.extensions["canteen_db"].transaction() as s:
        who = s.execute(select(StaffUser).where(StaffUser.username == "admin")).scalars().one()
        return close_day(session=s, settings=app.config["CANTEEN"], canteen_id=code, business_date=day, actor=who,
                         now=now_utc())


def test_daily_pdf_shows_the_canteen_and_the_totals_the_database_holds(app, poppler):
    with app.extensions["canteen_db"].transaction() as s:
        expected = sample_day(s, DAY)
    _close(app, "YLW01", DAY)
    (count, gross, subsidy, due), granted = _db_totals(app, DAY, DAY)
    assert (count, gross, subsidy, due, granted) == (expected["sales"], expected["gross_fen"], expected["subsidy_fen"],
                                                     expected["due_fen"], expected["subsidy_fen"])
    with app.extensions["canteen_db"].session() as s:
        report = service.build_daily(session=s, settings=app.config["CANTEEN"], canteen_id="YLW01",
                                     business_date=DAY, now=now_utc())
    filename, mimetype, pdf = render_daily(report)
    assert (filename, mimetype) == ("daily-YLW01-2026-03-02.pdf", "application/pdf")
    text = poppler.text(pdf)
    assert NAME in text and "日结对账单" in text and "2026-03-02" in text
    assert yuan(gross) in line_with(text, "营业额")
    assert yuan(subsidy) in line_with(text, "补贴合计")
    assert yuan(due) in line_with(text, "实收（应收合计）")
    assert str(count) in line_with(text, "销售笔数")
    assert yuan(expected["age_fen"]) in line_with(text, "老龄立减金额")
    assert yuan(expected["free_fen"]) in line_with(text, "公益免费餐金额")
    assert "1 / 40" in line_with(text, "公益免费餐已用")
    assert "误扫餐券" in text and "值班主管陈姐" in text  # the void, its reason and approver
    squeezed = "".join(text.split())
    assert "第1页/共2页" in squeezed and "第2页/共2页" in squeezed
    assert "报表数据SHA-256" + report.sha256 in squeezed
    assert report.close is not None and report.close.report_sha256 == report.sha256
    assert "日结时账本位置 #" in text and "未通过" not in text
    assert "收银员签字" in text and "主管签字" in text and "会计签字" in text
    # Pseudonymous diners only: a key prefix, never the whole key.
    assert diner_key(1)[:10] in text and diner_key(1) not in text
    poppler.rasterise_first_page(pdf, f"daily-{app.extensions['canteen_db'].engine.dialect.name}")


def test_daily_pdf_shows_failed_checks_in_red_words(app, poppler):
    """A shift short of cash and a tampered grant after close: the checks say so."""
    with app.extensions["canteen_db"].transaction() as s:
        sample_day(s, DAY, close_shifts=False)
        book = Book(s)
        from pos.models import Shift

        shift_id = s.execute(select(Shift.id).where(Shift.business_date == DAY)).scalars().first()
        book.close_shift(shift_id, DAY, over_short_fen=-500)
    _close(app, "YLW01", DAY)
    with app.extensions["canteen_db"].transaction() as s:  # someone edits a grant behind the ledger's back
        g = SubsidyGrant.__table__
        gid = s.connection().execute(select(g.c.id).where(g.c.business_date == DAY, g.c.voided.is_(False))).scalar()
        s.connection().execute(g.update().where(g.c.id == gid).values(amount_fen=g.c.amount_fen + 100))
    with app.extensions["canteen_db"].session() as s:
        report = service.build_daily(session=s, settings=app.config["CANTEEN"], canteen_id="YLW01",
                                     business_date=DAY, now=now_utc())
    failed = {c.code for c in report.checks if not c.ok}
    assert failed == {"sums_agree", "unchanged_since_close"}
    text = poppler.text(render_daily(report)[2])
    assert "核对未通过" in text
    assert "未通过" in line_with(text, "数据与日结时一致") and "未通过" in line_with(text, "补贴记录合计")
    assert "-¥5.00" in line_with(text, "收银员小王")  # 5 yuan short


def test_pdfs_embed_the_cjk_font(app, poppler):
    with app.extensions["canteen_db"].transaction() as s:
        sample_day(s, DAY)
    with app.extensions["canteen_db"].session() as s:
        daily = service.daily_pdf(session=s, settings=app.config["CANTEEN"], canteen_id="YLW01", business_date=DAY,
                                  now=now_utc())[2]
        claim = service.build_claim(session=s, settings=app.config["CANTEEN"], canteen_ids=["YLW01"],
                                    month=DAY.replace(day=1), now=now_utc())
    for pdf in (daily, render_monthly(claim)[2]):
        rows = poppler.fonts(pdf)
        assert rows, "no fonts listed"
        cjk = [r for r in rows if "CanteenCJK" in r[0] or "WenQuanYi" in r[0]]
        assert cjk, rows
        # columns: name type encoding emb sub uni object ID; emb is the 4th from the right end
        assert all(r[-5] == "yes" for r in cjk), rows
        assert all(r[-5] == "yes" for r in rows), f"every font is embedded: {rows}"


def test_monthly_claim_pdf_shows_totals_provisional_days_and_per_diner_summary(app, poppler):
    with app.extensions["canteen_db"].transaction() as s:
        sample_day(s, date(2026, 3, 2))
        sample_day(s, date(2026, 3, 3))
        sample_day(s, date(2026, 3, 3), "JM01")
    _close(app, "YLW01", date(2026, 3, 2))
    (_, _, subsidy, _), granted = _db_totals(app, date(2026, 3, 1), date(2026, 3, 31), ("YLW01", "JM01"))
    assert subsidy == granted == 3 * 2500
    with app.extensions["canteen_db"].session() as s:
        claim = service.build_claim(session=s, settings=app.config["CANTEEN"], canteen_ids=["YLW01", "JM01"],
                                    month=date(2026, 3, 1), now=now_utc())
    assert claim.data.total_fen == granted and claim.data.all_ok
    filename, _, pdf = render_monthly(claim)
    assert filename == "claim-community-2026-03.pdf"
    text = poppler.text(pdf)
    assert NAME in text and "景明社区长者食堂" in text and "补贴申领表" in text
    assert yuan(granted) in line_with(text, "申领合计")
    assert yuan(2500) in line_with(text, "2026-03-02")
    assert "已日结" in line_with(text, "2026-03-02") and "暂定" in line_with(text, "2026-03-03")
    assert "暂定：本月有 2 个食堂营业日尚未日结" in text
    assert "已作废的补贴不计入：6 笔，¥54.00" in text
    # The policy versions in force: version, kind, and the first and last date it was used.
    assert any(all(part in line for part in ("2026-01", "老龄立减", "2026-03-02", "2026-03-03"))
               for line in text.splitlines())
    assert "按就餐者汇总（6 人" in text  # diners 1-3 at YLW01 and 101-103 at JM01; voided ones claim nothing
    assert "第1页/共" in "".join(text.split())
    poppler.rasterise_first_page(pdf, f"monthly-{app.extensions['canteen_db'].engine.dialect.name}")
