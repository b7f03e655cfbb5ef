"""The tablet never charges twice: a double tap on "confirm", and an answer lost on the
way back (the server recorded the sale, the Wi-Fi dropped the reply), end in one sale.
The offline banner says what is happening; the retry reuses the Idempotency-Key."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from support import artifact_dir

pytestmark = pytest.mark.browser


def _today_sales(app) -> list[tuple]:
    with app.extensions["canteen_db"].session() as s:
        today = s.execute(text("SELECT MAX(business_date) FROM sales")).scalar()
        return [tuple(r) for r in s.execute(text(
            "SELECT receipt_no, due_fen, tendered_fen FROM sales WHERE business_date = :d AND cashier_id = "
            "(SELECT id FROM staff_users WHERE username = 'cashier2') ORDER BY receipt_no"), {"d": today})]


def test_double_tap_and_lost_answer_make_one_sale_each(served, chromium):
    from playwright.sync_api import expect, sync_playwright

    app, url = served
    shots = artifact_dir("browser")
    with sync_playwright() as p:
        browser = chromium(p)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        page.set_default_timeout(10_000)
        page.goto(url + "/login")
        page.fill("#username", "cashier2")
        page.fill("#password", "cashier2-demo-pass")
        page.click("button[type=submit]")
        page.wait_for_url("**/till")
        page.click("#confirm-shift")  # float ¥0.00
        expect(page.locator("#shift-overlay")).to_be_hidden()

        # 1. A double tap on "confirm payment".
        page.click('.dish[data-label="荤素套餐"]')
        expect(page.locator("#due")).to_have_text("¥16.00")
        page.click("#pay-button")
        page.click('[data-action="quick-cash"][data-fen="exact"]')
        page.dblclick("#confirm-pay")
        expect(page.locator("#receipt-overlay")).to_be_visible()
        page.click("#next-diner")
        assert _today_sales(app) == [(_today_sales(app)[0][0], 1600, 1600)]

        # 2. The sale reaches the server but its answer is lost: the banner shows, the
        #    retry sends the same key, and the server answers the first sale again.
        keys: list[str] = []
        lost = {"done": False}

        def drop_first_answer(route):
            keys.append(route.request.headers.get("idempotency-key"))
            if not lost["done"]:
                lost["done"] = True
                route.fetch()  # the server records the sale ...
                route.abort("internetdisconnected")  # ... and the tablet never hears
            else:
                route.continue_()

        page.route("**/api/v1/sales", drop_first_answer)
        page.click('.dish[data-label="荤素套餐"]')
        expect(page.locator("#due")).to_have_text("¥16.00")
        page.click("#pay-button")
        page.click('[data-action="quick-cash"][data-fen="2000"]')
        page.click("#confirm-pay")
        expect(page.locator("#offline-banner")).to_be_visible()
        expect(page.locator("#offline-banner")).to_contain_text("不会重复收款")
        expect(page.locator("#confirm-pay")).to_have_text("重试")
        expect(page.locator('#pay-overlay [data-key="5"]')).to_be_disabled()  # the unanswered sale cannot change
        page.screenshot(path=str(shots / "90-offline-banner.png"))
        page.click("#offline-retry")
        expect(page.locator("#receipt-overlay")).to_be_visible()
        expect(page.locator("#receipt-body")).to_contain_text("找零 ¥4.00")
        expect(page.locator("#offline-banner")).to_be_hidden()
        page.screenshot(path=str(shots / "91-retried-once.png"))
        browser.close()

    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]
    sales = _today_sales(app)
    assert [s[1:] for s in sales] == [(1600, 1600), (1600, 2000)]
