"""A correction after close, in Debian's Chromium: the supervisor opens the corrections
page from the reports page, finds a closed day's sale by its receipt number, books a
correction (reason, subsidy reversed, no cash back) approved by another supervisor's PIN,
and sees where it lands.  Then the store and the reports say the same: the correction is
on today's daily report and in this month's claim adjustments, and the ledger verifies.
Screenshots of the steps are saved under test-artifacts/browser-corrections/."""
from __future__ import annotations

import pytest

from support import artifact_dir

pytestmark = pytest.mark.browser


def _closed_day_sale(app) -> dict:
    """A completed, subsidised YLW01 sale of the latest closed business date of the demo."""
    from sqlalchemy import func, select

    from pos.models import DayClose, Sale

    dc, s_t = DayClose.__table__, Sale.__table__
    with app.extensions["canteen_db"].session() as s:
        conn = s.connection()
        day = conn.execute(select(func.max(dc.c.business_date)).where(dc.c.canteen_id == "YLW01")).scalar()
        return dict(conn.execute(select(s_t).where(s_t.c.canteen_id == "YLW01", s_t.c.business_date == day,
                                                   s_t.c.status == "completed", s_t.c.subsidy_fen > 0)
                                 .order_by(s_t.c.receipt_no)).mappings().first())


def test_a_supervisor_books_a_correction_of_a_closed_day_from_the_page(served, chromium):
    from playwright.sync_api import expect, sync_playwright

    from pos.clock import business_date, now_utc
    from pos.store.staff import create_user
    from pos.web.cli.ledger_commands import verify_all
    from reports import service
    from subsidies.money import yuan

    app, url = served
    settings = app.config["CANTEEN"]
    db = app.extensions["canteen_db"]
    with db.transaction() as s:
        create_user(session=s, username="supervisor2", password="supervisor2-demo-pass", role="supervisor",
                    canteen_id="YLW01", display_name="值班主管小林", pin="5678")
    sale = _closed_day_sale(app)
    today = business_date(settings.default_canteen.timezone)
    shots = artifact_dir("browser-corrections")
    for old in shots.glob("*.png"):
        old.unlink()
    step = [0]

    def shot(page, name: str):
        step[0] += 1
        page.screenshot(path=str(shots / f"{step[0]:02d}-{name}.png"), full_page=True)

    with sync_playwright() as p:
        browser = chromium(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.set_default_timeout(10_000)

        page.goto(url + "/login")
        page.fill("#username", "supervisor")
        page.fill("#password", "supervisor-demo-pass")
        page.click("button[type=submit]")
        page.wait_for_url("**/till")
        page.goto(url + "/reports")
        page.click("#nav-corrections")
        page.wait_for_url("**/reports/corrections")
        shot(page, "corrections-page")

        # Find the closed day's sale by its receipt number.
        page.fill("#find-date", sale["business_date"].isoformat())
        page.fill("#find-receipt", str(sale["receipt_no"]))
        page.click("#find")
        expect(page.locator("#correction-form")).to_be_visible()
        expect(page.locator("#sale-subsidy")).to_have_text(yuan(sale["subsidy_fen"]))
        expect(page.locator(f"#sale-{sale['receipt_no']}")).to_be_visible()  # and in the day's list
        shot(page, "sale-found")

        # Book it: the whole subsidy reversed, no cash back; another supervisor's PIN.
        page.fill("#reason", "顾客不符合补贴条件，当日误按长者立减")
        page.fill("#refund", "0")
        page.fill("#approver", "supervisor2")
        page.fill("#pin", "5678")
        shot(page, "form-filled")
        page.click("#book")
        expect(page.locator("#booked")).to_be_visible()
        expect(page.locator("#booked-lands")).to_contain_text(today.isoformat())
        expect(page.locator("#booked")).to_contain_text(yuan(sale["subsidy_fen"]))
        expect(page.locator("#month-corrections")).to_contain_text("supervisor2")
        shot(page, "booked")
        assert not errors, errors
        browser.close()

    with db.session() as s:
        daily = service.build_daily(session=s, settings=settings, canteen_id="YLW01", business_date=today,
                                    now=now_utc())
        claim = service.build_claim(session=s, settings=settings, canteen_ids=["YLW01"], month=today.replace(day=1),
                                    now=now_utc())
        ok, lines = verify_all(session=s, canteen_ids=["YLW01", "JM01"])
    assert [(c.original_date, c.original_receipt_no, c.reversed_subsidy_fen, c.refund_fen)
            for c in daily.data.corrections] == [(sale["business_date"], sale["receipt_no"], sale["subsidy_fen"], 0)]
    assert [(a.original_receipt_no, a.reversed_subsidy_fen) for a in claim.data.adjustments] == \
        [(sale["receipt_no"], sale["subsidy_fen"])]
    assert ok, lines
