"""The till sells with its server stopped, not only with the tablet's network switched off: a
stopped server leaves connections that answer nothing, so the till finds out by its requests'
deadlines.  It sells three meals from the offline kit (paid, a 60+ voucher's subsidy, a worker's
free meal out of the lease) and, when the server comes back on the same address, records each
of them exactly once."""
from __future__ import annotations

import pytest

from browser.demo_vouchers import voucher_url
from browser.test_till_offline_selling import SET_MEAL, TABLET, _offline_sales, _register_the_tablet, _rows, _sell, \
    _sign_in, _synced
from browser.test_till_offline_shell import till_server  # noqa: F401  (the fixture: a server that restarts)
from support import artifact_dir, wait_in_page

pytestmark = pytest.mark.browser


def test_with_the_server_stopped_the_till_sells_from_the_kit_and_syncs_each_sale_once(till_server, chromium):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    app, server = till_server
    senior, worker = voucher_url(app, senior=True), voucher_url(app, senior=False)
    with sync_playwright() as p:
        browser = chromium(p)
        context = browser.new_context(viewport=TABLET, locale="zh-CN")
        context.set_default_timeout(10_000)
        page = context.new_page()
        _register_the_tablet(page, server.url)
        _sign_in(page, server.url, "cashier")
        page.click("#confirm-shift")
        wait_in_page(page, "() => navigator.serviceWorker.controller !== null", timeout_s=30)
        wait_in_page(page, "() => caches.match('/till').then(r => r ? r.text() : '').then(t => t.includes('opened_at'))")
        expect(page.locator("#offline-meals")).to_have_text("离线名额 5")
        sales_before = _rows(app, "SELECT COUNT(*) FROM sales")[0][0]

        server.stop()
        page.reload()
        # A connection the stopped server left open answers nothing: the request's deadline ends it.
        expect(page.locator("#net-state")).to_have_text("离线", timeout=15_000)
        page.click('.tab:has-text("套餐")')
        receipts = [_sell(page, SET_MEAL), _sell(page, SET_MEAL, senior, "补贴 ¥3.00"),
                    _sell(page, ".dish.welfare", worker, "补贴 ¥15.00")]
        assert receipts == ["#1", "#2", "#3"]
        expect(page.locator("#queued-count")).to_have_text("待同步 3")
        expect(page.locator("#offline-meals")).to_have_text("离线名额 4")
        page.screenshot(path=str(artifact_dir("browser") / "98-server-stopped-queue.png"))
        assert _rows(app, "SELECT COUNT(*) FROM sales") == [(sales_before,)]

        server.start()  # the same port: the till finds it by itself
        expect(page.locator("#net-state")).to_have_text("在线", timeout=15_000)
        _synced(page, app, 3)
        assert [r[:5] for r in _offline_sales(app)] == [(1, 1600, 0, 1600, None), (2, 1600, 300, 1300, "age_tier"),
                                                        (3, 1500, 1500, 0, "free_meal")]
        assert _rows(app, "SELECT COUNT(*) FROM sales") == [(sales_before + 3,)]
        assert _rows(app, "SELECT used FROM free_meal_leases WHERE used > 0") == [(1,)]
        # Once more after a while: nothing is sent twice.
        page.wait_for_timeout(1_000)
        assert _rows(app, "SELECT COUNT(*) FROM sales") == [(sales_before + 3,)]
        assert _rows(app, "SELECT queued FROM till_devices") == [(0,)]
        browser.close()
