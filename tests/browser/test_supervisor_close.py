"""The supervisor's way to the close, in Debian's Chromium: signed in, the till asks for a
shift; one tap on "reports and day close" in that sheet leads to the reports page; closing
a day asks first in a modal dialog that says what closing means; going back closes
nothing; confirming closes the day; closing a day with open shifts is refused, naming
their cashiers.  Screenshots go to test-artifacts/browser-close/."""
from __future__ import annotations

from datetime import timedelta

import pytest

from pos.clock import business_date
from support import api_token, artifact_dir

pytestmark = pytest.mark.browser


def test_from_the_till_to_a_confirmed_day_close(served, chromium):
    from playwright.sync_api import expect, sync_playwright

    app, url = served
    today = business_date(app.config["CANTEEN"].default_canteen.timezone)
    yesterday = (today - timedelta(days=1)).isoformat()  # the demo leaves yesterday open
    shots = artifact_dir("browser-close")
    client = app.test_client()
    r = client.post("/api/v1/shifts", json={"opening_float_fen": 10000}, headers=api_token(client, "cashier"))
    assert r.status_code == 201, r.get_json()

    with sync_playwright() as p:
        browser = chromium(p)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.set_default_timeout(10_000)

        page.goto(url + "/login")
        page.fill("#username", "supervisor")
        page.fill("#password", "supervisor-demo-pass")
        page.click("button[type=submit]")
        page.wait_for_url("**/till")
        expect(page.locator("#shift-overlay")).to_be_visible()
        page.screenshot(path=str(shots / "01-till-shift-sheet.png"))

        page.click("#shift-to-reports")  # one tap, no shift opened
        page.wait_for_url("**/reports")
        row = page.locator("tr", has=page.locator(f'[data-close-canteen="YLW01"][data-close-date="{yesterday}"]'))
        expect(row).to_contain_text("未日结")

        dialog = page.locator("#close-dialog")
        row.locator(".close-day-button").click()
        expect(dialog).to_be_visible()
        assert dialog.evaluate("d => d.matches(':modal')")
        expect(dialog).to_contain_text(f"云鹭湾社区邻里食堂 · {yesterday}")
        expect(dialog).to_contain_text("不能再收款、作废，也不能再开班")
        expect(page.locator("#close-cancel")).to_be_focused()
        page.screenshot(path=str(shots / "02-confirm.png"))
        page.click("#close-cancel")
        expect(dialog).to_be_hidden()
        expect(row).to_contain_text("未日结")

        row.locator(".close-day-button").click()
        page.click("#close-confirm")
        expect(page.locator("p.notice")).to_contain_text(f"YLW01 {yesterday}")
        page.screenshot(path=str(shots / "03-closed.png"))

        # Today still has the cashier's shift open: refused, and the cashier is named.
        page.locator(f'[data-close-canteen="YLW01"][data-close-date="{today.isoformat()}"]').click()
        page.click("#close-confirm")
        expect(page.locator("p.alert")).to_contain_text("收银员小王")
        page.screenshot(path=str(shots / "04-refused.png"))
        assert not errors, errors
        browser.close()
