"""A lunch at the till, in Debian's Chromium: sign in, open a shift, sell a paid meal,
scan a senior's voucher (typed into the scan field, as a keyboard-wedge scanner does) and
see ¥3.00 off with its reason, give a worker a free welfare meal, see a second subsidised
meal for the same diner refused with the reason, void a sale with the supervisor's PIN,
and close the shift with a cash count.  A screenshot of every step is saved under
test-artifacts/browser/."""
from __future__ import annotations

from datetime import date

import pytest

from browser.demo_vouchers import voucher_url
from support import artifact_dir

pytestmark = pytest.mark.browser


def test_a_lunch_at_the_till(served, chromium):
    from playwright.sync_api import expect, sync_playwright

    app, url = served
    senior_voucher = voucher_url(app, senior=True)
    worker_voucher = voucher_url(app, senior=False)
    shots = artifact_dir("browser")
    for old in shots.glob("*.png"):
        old.unlink()
    step = [0]

    def shot(page, name: str):
        step[0] += 1
        page.screenshot(path=str(shots / f"{step[0]:02d}-{name}.png"))

    with sync_playwright() as p:
        browser = chromium(p)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        refused: list[tuple[int, str]] = []
        page.on("response", lambda r: refused.append((r.status, r.url.split(url, 1)[-1])) if r.status >= 400 else None)
        page.set_default_timeout(10_000)

        # Sign in: the cashier lands on the till, which asks for a shift first.
        page.goto(url + "/login")
        page.fill("#username", "cashier")
        page.fill("#password", "cashier-demo-pass")
        shot(page, "login")
        page.click("button[type=submit]")
        page.wait_for_url("**/till")
        expect(page.locator("#shift-overlay")).to_be_visible()

        # Open the shift with a ¥200.00 float typed on the keypad.
        for key in "200":
            page.click(f'[data-keypad="shift"] [data-key="{key}"]')
        expect(page.locator("#shift-amount")).to_have_text("¥200.00")
        shot(page, "shift-open")
        page.click("#confirm-shift")
        expect(page.locator("#shift-overlay")).to_be_hidden()
        expect(page.locator("#shift-status")).to_contain_text("¥200.00")
        expect(page.locator("#scan")).to_be_focused()

        # A paid meal: set meal + rice, no credential, cash ¥20 → change ¥3.00.
        page.click('.dish[data-label="荤素套餐"]')
        page.click('.tab:has-text("主食")')
        page.click('.dish[data-label="米饭"]')
        expect(page.locator("#due")).to_have_text("¥17.00")
        shot(page, "paid-meal-cart")
        page.click("#pay-button")
        page.click('[data-action="quick-cash"][data-fen="2000"]')
        expect(page.locator("#change")).to_have_text("¥3.00")
        shot(page, "paid-meal-pay")
        page.click("#confirm-pay")
        expect(page.locator("#receipt-overlay")).to_be_visible()
        expect(page.locator("#receipt-body")).to_contain_text("找零 ¥3.00")
        shot(page, "paid-meal-receipt")
        page.click("#next-diner")

        # A senior scans a voucher: the scanner types the URL into the focused field + Enter.
        expect(page.locator("#scan")).to_be_focused()
        page.click('.tab:has-text("套餐")')
        page.click('.dish[data-label="荤素套餐"]')
        page.keyboard.type(senior_voucher)
        page.keyboard.press("Enter")
        expect(page.locator("#benefit")).to_contain_text("补贴 ¥3.00")
        expect(page.locator("#benefit")).to_contain_text("60周岁以上长者立减 ¥3.00")
        expect(page.locator("#due")).to_have_text("¥13.00")
        expect(page.locator("#subsidy")).to_have_text("−¥3.00")
        shot(page, "senior-voucher-discount")
        page.click("#pay-button")
        page.click('[data-action="method"][data-method="wechat"]')
        page.click("#confirm-pay")
        expect(page.locator("#receipt-body")).to_contain_text("补贴")
        expect(page.locator("#receipt-body")).to_contain_text("−¥3.00")
        shot(page, "senior-receipt")
        page.click("#next-diner")

        # A worker's welfare set meal: free, and the quota goes down by one.
        left_before = int(page.locator("#quota-left").inner_text())
        page.click('.dish.welfare')
        page.keyboard.type(worker_voucher)
        page.keyboard.press("Enter")
        expect(page.locator("#benefit")).to_contain_text("补贴 ¥15.00")
        expect(page.locator("#due")).to_have_text("¥0.00")
        shot(page, "worker-free-meal")
        page.click("#pay-button")
        expect(page.locator("#methods")).to_be_hidden()
        page.click("#confirm-pay")
        expect(page.locator("#receipt-body")).to_contain_text("100% 补贴")
        expect(page.locator("#quota-left")).to_have_text(str(left_before - 1))
        receipt_text = page.locator("#receipt-body").inner_text()
        for word in ("环卫", "保洁", "外卖", "公益套餐免费"):
            assert word not in receipt_text
        shot(page, "worker-receipt")
        page.click("#next-diner")

        # The same worker again: a second subsidised meal today is refused, with the reason.
        page.click('.dish.welfare')
        page.keyboard.type(worker_voucher)
        page.keyboard.press("Enter")
        expect(page.locator("#benefit")).to_contain_text("今日已享受过补贴餐")
        expect(page.locator("#due")).to_have_text("¥15.00")
        shot(page, "second-meal-refused")
        page.click('[data-action="new-sale"]')

        # Void the paid meal with the supervisor's PIN.
        page.click("#nav-sales")
        expect(page.locator("#sales-rows tr")).to_have_count(3)
        paid_row = page.locator("#sales-rows tr", has_text="¥17.00")
        voided_id = paid_row.get_attribute("data-sale-id")
        paid_row.locator('[data-action="open-void"]').click()
        page.click('.chip[data-reason="点错菜品"]')
        expect(page.locator("#void-supervisor")).to_have_value("supervisor")
        for key in "0000":
            page.click(f'[data-keypad="pin"] [data-key="{key}"]')
        page.click("#confirm-void")
        expect(page.locator("#void-message")).to_contain_text("授权码不正确")
        for key in "1234":
            page.click(f'[data-keypad="pin"] [data-key="{key}"]')
        shot(page, "void-with-pin")
        page.click("#confirm-void")
        expect(page.locator("#sales-overlay")).to_be_visible()
        expect(paid_row).to_contain_text("已作废")
        shot(page, "sale-voided")
        page.click('#sales-overlay [data-action="close-overlay"]')

        # Close the shift: float ¥200 + ¥20 taken − ¥3 change − ¥17 refunded = ¥200.00 expected.
        page.click("#nav-close-shift")
        for key in "199.5":
            page.click(f'[data-keypad="shift"] [data-key="{key}"]')
        expect(page.locator("#shift-amount")).to_have_text("¥199.50")
        shot(page, "shift-count")
        page.click("#confirm-shift")
        expect(page.locator("#shift-result")).to_contain_text("¥200.00")
        expect(page.locator("#shift-difference")).to_have_text("-¥0.50")
        shot(page, "shift-closed")

        # The printable receipt of the senior's meal shows the subsidy amount only.
        page.goto(url + "/till")
        page.click("#confirm-shift")  # open a new shift (float ¥0) to get past the shift sheet
        page.click("#nav-sales")
        senior_row = page.locator("#sales-rows tr", has_text="−¥3.00")
        with page.expect_popup() as popup:
            senior_row.locator("a").click()
        receipt = popup.value
        receipt.wait_for_load_state()
        expect(receipt.locator("#receipt")).to_contain_text("补贴")
        assert "长者" not in receipt.locator("#receipt").inner_text()
        receipt.set_viewport_size({"width": 420, "height": 700})
        receipt.screenshot(path=str(shots / f"{step[0] + 1:02d}-printable-receipt.png"))
        receipt.emulate_media(media="print")
        expect(receipt.locator(".topbar")).to_be_hidden()
        receipt.screenshot(path=str(shots / f"{step[0] + 2:02d}-printable-receipt-as-printed.png"))

        assert not errors, errors
        # The only refusals are the wrong PIN (on purpose) and the browser's own favicon probe.
        assert [r for r in refused if r[1] != "/favicon.ico"] == [(403, f"/api/v1/sales/{voided_id}/void")], refused
        browser.close()

    from sqlalchemy import text

    with app.extensions["canteen_db"].session() as s:
        today = s.execute(text("SELECT MAX(business_date) FROM sales")).scalar()
        rows = s.execute(text("SELECT status, due_fen, subsidy_fen FROM sales WHERE business_date = :d "
                              "ORDER BY receipt_no"), {"d": today}).all()
    assert [tuple(r) for r in rows] == [("voided", 1700, 0), ("completed", 1300, 300), ("completed", 0, 1500)]
    assert isinstance(today, (str, date))
