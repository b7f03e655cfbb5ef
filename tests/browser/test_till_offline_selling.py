"""The till sells with the network gone, in Debian's Chromium: a supervisor registers the tablet
as a till (the registration outlives sign-out); the cashier's till holds the offline kit and a
lease of free meals; offline, after a reload, it sells — paid, a 60+ voucher, a worker's free
meal out of the lease, the same diner's second subsidy refused, a forged voucher refused, a
mistyped resident ID number told apart from a valid one that buys no subsidy offline —
queues the sales in IndexedDB with receipts "离线 · 待同步" numbered 1, 2, 3…, keeps them across
a reload, and on reconnect records each exactly once at the tablet's time, even with the
network flapping every 200 ms during the sync."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from browser.demo_vouchers import voucher_url
from support import artifact_dir, wait_in_page

pytestmark = pytest.mark.browser

TABLET = {"width": 1280, "height": 800}
SET_MEAL = '.dish[data-label="荤素套餐"]'


def _rows(app, sql: str) -> list[tuple]:
    with app.extensions["canteen_db"].session() as s:
        return [tuple(r) for r in s.execute(text(sql))]


def _offline_sales(app) -> list[tuple]:
    """(offline_no, gross, subsidy, due, subsidy kind or None, tablet time) of every sale recorded from
    the queue, by offline number."""
    return _rows(app, "SELECT o.offline_no, s.gross_fen, s.subsidy_fen, s.due_fen, g.kind, o.sold_at_tablet "
                      "FROM offline_sales o JOIN sales s ON s.id = o.sale_id "
                      "LEFT JOIN subsidy_grants g ON g.sale_id = s.id ORDER BY o.offline_no")


# Everything the till keeps on the tablet, as one text: IndexedDB's stores, localStorage, sessionStorage.
TABLET_STORAGE = """async () => {
  const db = await new Promise((ok, no) => { const r = indexedDB.open("canteen-till"); r.onsuccess = () => ok(r.result);
                                             r.onerror = () => no(r.error); });
  const all = (name) => new Promise((ok, no) => { const r = db.transaction(name).objectStore(name).getAll();
                                                  r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  const kept = {queue: await all("queue"), kv: await all("kv"), local: {...localStorage}, session: {...sessionStorage}};
  db.close();
  return JSON.stringify(kept);
}"""


def _sign_in(page, url: str, username: str):
    page.goto(url + "/login")
    page.fill("#username", username)
    page.fill("#password", username + "-demo-pass")
    page.click("button[type=submit]")
    page.wait_for_url("**/till")


def _register_the_tablet(page, url: str):
    from playwright.sync_api import expect

    _sign_in(page, url, "supervisor")
    page.click("#confirm-shift")
    page.click("#register-device")
    page.fill("#device-name", "1号收银台")
    page.click("#confirm-device")
    expect(page.locator("#register-device")).to_be_hidden()
    expect(page.locator("#offline-meals")).to_have_text("离线名额 5")
    assert page.evaluate("JSON.parse(localStorage.getItem('till.device')).name") == "1号收银台"
    page.click(".topbar form.inline button[type=submit]")
    page.wait_for_url("**/login")
    # Sign-out forgets the cashier's things, not the tablet's: it is still a registered till.
    assert page.evaluate("localStorage.getItem('till.device')")


def _sell(page, dish: str, scan: str | None = None, benefit: str | None = None, shot: str = ""):
    from playwright.sync_api import expect

    page.click(dish)
    if scan is not None:
        page.locator("#scan").focus()
        page.keyboard.type(scan)
        page.keyboard.press("Enter")
    if benefit is not None:
        expect(page.locator("#benefit")).to_contain_text(benefit)
    expect(page.locator("#pay-button")).to_be_enabled()
    page.click("#pay-button")
    if page.locator("#cash-pane").is_visible():
        page.click('[data-action="quick-cash"][data-fen="exact"]')
    page.click("#confirm-pay")
    expect(page.locator("#receipt-overlay")).to_be_visible()
    expect(page.locator("#receipt-title")).to_have_text("收款成功 · 离线 · 待同步")
    first = page.locator("#receipt-body tr").first.locator("td")
    expect(first.nth(0)).to_have_text("离线编号")
    number = first.nth(1).inner_text()
    if shot:
        page.screenshot(path=str(artifact_dir("browser") / shot))
    page.click("#next-diner")
    return number


def _synced(page, app, count: int):
    from playwright.sync_api import expect

    expect(page.locator("#queued-count")).to_be_hidden(timeout=20_000)
    assert len(_offline_sales(app)) == count


def test_a_registered_till_sells_offline_and_syncs_each_sale_once(served, chromium):
    from playwright.sync_api import expect, sync_playwright

    app, url = served
    senior, worker = voucher_url(app, senior=True), voucher_url(app, senior=False)
    forged = senior[:-3] + ("AAA" if not senior.endswith("AAA") else "BBB")
    shots = artifact_dir("browser")
    with sync_playwright() as p:
        browser = chromium(p)
        context = browser.new_context(viewport=TABLET, locale="zh-CN")
        context.set_default_timeout(10_000)
        page = context.new_page()
        _register_the_tablet(page, url)

        _sign_in(page, url, "cashier")
        page.click("#confirm-shift")
        wait_in_page(page, "() => navigator.serviceWorker.controller !== null", timeout_s=30)
        wait_in_page(page, "() => caches.match('/till').then(r => r ? r.text() : '').then(t => t.includes('opened_at'))")
        expect(page.locator("#offline-meals")).to_have_text("离线名额 5")

        sales_before = _rows(app, "SELECT COUNT(*) FROM sales")[0][0]
        context.set_offline(True)
        page.reload()
        expect(page.locator("#net-state")).to_have_text("离线")
        expect(page.locator("#offline-meals")).to_have_text("离线名额 5")
        page.click('.tab:has-text("套餐")')
        receipts = [_sell(page, SET_MEAL),
                    _sell(page, SET_MEAL, senior, "补贴 ¥3.00", shot="98-offline-receipt.png"),
                    _sell(page, ".dish.welfare", worker, "补贴 ¥15.00"),
                    _sell(page, SET_MEAL, senior, "今日已享受过补贴餐")]  # the same diner: the subsidy is refused, paid in full
        assert receipts == ["#1", "#2", "#3", "#4"]
        expect(page.locator("#offline-meals")).to_have_text("离线名额 4")
        # A forged voucher is not in the kit: refused, nothing queued.
        page.click(SET_MEAL)
        page.locator("#scan").focus()
        page.keyboard.type(forged)
        page.keyboard.press("Enter")
        expect(page.locator("#benefit")).to_have_text("离线时无法识别此餐券")
        page.click('[data-action="new-sale"]')
        # A typed resident ID number is checked offline: a mistyped one is told as such; a valid
        # one is told what the till cannot decide without the network, and the meal is at the
        # menu price.
        page.click("#id-btn")
        for digit in "110105194912310021":
            page.click(f'[data-keypad="id"] [data-key="{digit}"]')
        page.click("#confirm-id")
        expect(page.locator("#id-message")).to_have_text("校验位不符，号码中有输错的数字，请逐位核对。")
        for key in ("⌫", "X"):
            page.click(f'[data-keypad="id"] [data-key="{key}"]')
        page.click("#confirm-id")
        expect(page.locator("#id-message")).to_have_text(
            "身份证号有效，但离线时无法核对是否登记、今天是否已享受补贴：本单按菜单价收款，不享受补贴")
        page.screenshot(path=str(shots / "98-offline-id-number.png"))
        page.click('#id-overlay [data-action="close-overlay"]')
        assert _sell(page, SET_MEAL) == "#5"
        # The number is nowhere on the tablet: not in the queued sale, the kit or the kept order.
        kept = page.evaluate(TABLET_STORAGE)
        assert len(json.loads(kept)["queue"]) == 5 and "1101051949" not in kept

        page.reload()  # mid-queue: the queue is on the tablet, not in the page
        expect(page.locator("#queued-count")).to_have_text("待同步 5")
        page.screenshot(path=str(shots / "98-offline-queue.png"))
        assert _offline_sales(app) == []

        context.set_offline(False)
        _synced(page, app, 5)
        recorded = _offline_sales(app)
        assert [r[:5] for r in recorded] == [(1, 1600, 0, 1600, None), (2, 1600, 300, 1300, "age_tier"),
                                             (3, 1500, 1500, 0, "free_meal"), (4, 1600, 0, 1600, None),
                                             (5, 1600, 0, 1600, None)]
        assert [r[5] for r in recorded] == sorted(r[5] for r in recorded)  # the tablet's times, in order
        # The worker's free meal came out of the lease; the lease was given back once in sync.
        assert _rows(app, "SELECT used FROM free_meal_leases") == [(1,)]
        assert _rows(app, "SELECT queued FROM till_devices") == [(0,)]

        # Flapping: three more sales offline, then the network comes and goes every 200 ms
        # while they sync.  No duplicate, no loss.
        context.set_offline(True)
        page.reload()
        expect(page.locator("#net-state")).to_have_text("离线")
        page.click('.tab:has-text("套餐")')
        for _ in range(3):
            _sell(page, SET_MEAL)
        expect(page.locator("#queued-count")).to_have_text("待同步 3")
        for flip in range(30):
            context.set_offline(flip % 2 == 1)
            page.wait_for_timeout(200)
        context.set_offline(False)
        _synced(page, app, 8)
        assert [r[0] for r in _offline_sales(app)] == [1, 2, 3, 4, 5, 6, 7, 8]
        assert _rows(app, "SELECT COUNT(*) FROM sales") == [(sales_before + 8,)]
        page.screenshot(path=str(shots / "98-offline-synced.png"))
        browser.close()
