"""The till survives the network going: the service worker brings the page back on a reload
offline or with the server stopped, the order and the diner survive the reload, the header
says 离线, a lookup made offline says so and offers 重试 instead of "正在识别……" for ever,
and once the server answers again the retry succeeds and the sale is taken.  Sign-out
forgets the kept page and the order; a till opened where no service worker can run (plain
http on a LAN address) says that offline use is unavailable, and why."""
from __future__ import annotations

import socket

import pytest
from sqlalchemy import text

from browser.demo_vouchers import voucher_url
from support import artifact_dir, build_app, wait_in_page

pytestmark = pytest.mark.browser

TABLET = {"width": 1280, "height": 800}
LOOKUP_WAITING = "网络中断，餐券尚未识别"


class RestartableServer:
    """The app served by waitress on one port, which can be stopped and started again on the
    same port (the tablet's address for the till does not change when the server comes back)."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        self.app, self.host, self.port = app, host, port
        self.server = self.thread = None
        self.start()
        self.url = f"http://{host}:{self.port}"

    def start(self):
        import threading

        from waitress.server import create_server

        self.server = create_server(self.app, host=self.host, port=self.port, threads=4, ident="canteen-test")
        self.port = self.server.effective_port
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.server.run()
        except OSError:
            pass  # closed by stop()

    def stop(self):
        self.server.task_dispatcher.shutdown()
        self.server.close()
        self.thread.join(5)


@pytest.fixture
def till_server(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'canteen.db'}", tmp_path)
    server = RestartableServer(app)
    yield app, server
    server.stop()
    app.extensions["canteen_db"].dispose()


def _sales_of(app, username: str) -> list[tuple]:
    with app.extensions["canteen_db"].session() as s:
        return [tuple(r) for r in s.execute(text(
            "SELECT gross_fen, subsidy_fen, due_fen FROM sales WHERE cashier_id = "
            "(SELECT id FROM staff_users WHERE username = :u) ORDER BY receipt_no"), {"u": username})]


def _open_till(page, url: str, username: str):
    """Sign in, open the shift, and wait until the service worker controls the page and has
    kept a copy of it."""
    from playwright.sync_api import expect

    page.goto(url + "/login")
    page.fill("#username", username)
    page.fill("#password", username + "-demo-pass")
    page.click("button[type=submit]")
    page.wait_for_url("**/till")
    page.click("#confirm-shift")
    expect(page.locator("#shift-overlay")).to_be_hidden()
    wait_in_page(page, "() => navigator.serviceWorker.controller !== null", timeout_s=30)
    # The kept copy is the page with the shift open (the page asks for a fresh copy then).
    wait_in_page(page, "() => caches.match('/till').then(r => r ? r.text() : '').then(t => t.includes('opened_at'))")
    expect(page.locator("#net-state")).to_have_text("在线")
    expect(page.locator("#offline-unavailable")).to_be_hidden()


def _order_with_a_senior(page, voucher: str):
    from playwright.sync_api import expect

    page.click('.tab:has-text("套餐")')
    page.click('.dish[data-label="荤素套餐"]')
    page.click('.dish[data-label="荤素套餐"]')
    page.locator("#scan").focus()
    page.keyboard.type(voucher)
    page.keyboard.press("Enter")
    expect(page.locator("#benefit")).to_contain_text("补贴 ¥3.00")
    expect(page.locator("#due")).to_have_text("¥29.00")


def _lose_the_network_and_reload(page, cut, shots, name):
    """`cut()` takes the network away; the reload comes back to the till from the worker,
    with the order and the diner, and says 离线."""
    from playwright.sync_api import expect

    diner = page.locator("#diner-name").inner_text()
    cut()
    page.reload()
    expect(page.locator("h1.canteen-name")).to_have_text("云鹭湾社区邻里食堂")
    expect(page.locator('.dish[data-label="荤素套餐"]')).to_have_count(1)  # the menu of the last load
    expect(page.locator("#cart li")).to_have_count(1)
    expect(page.locator("#cart li .qty span")).to_have_text("2")
    expect(page.locator("#diner-name")).to_have_text(diner)
    # A connection the stopped server left open answers nothing: the request's deadline (8 s) ends it.
    expect(page.locator("#net-state")).to_have_text("离线", timeout=12_000)
    expect(page.locator("#net-problem")).to_contain_text("网络中断，正在重试")
    expect(page.locator("#pay-button")).to_be_disabled()
    page.screenshot(path=str(shots / f"{name}-reloaded-offline.png"))


def _offline_lookup_ends_in_a_message_and_a_retry(page, voucher: str, shots, name):
    from playwright.sync_api import expect

    page.click('[data-action="clear-credential"]')
    page.locator("#scan").focus()
    page.keyboard.type(voucher)
    page.keyboard.press("Enter")
    expect(page.locator("#benefit")).to_contain_text(LOOKUP_WAITING, timeout=12_000)
    expect(page.locator("#benefit")).not_to_contain_text("正在识别")
    expect(page.locator("#net-retry")).to_be_visible()
    page.screenshot(path=str(shots / f"{name}-lookup-waiting.png"))
    # 重试 asks again at once; still no network, so the screen still says so.
    with page.expect_event("requestfailed", lambda r: r.url.endswith("/api/v1/credentials/lookup"), timeout=3000):
        page.click("#net-retry")
    expect(page.locator("#benefit")).to_contain_text(LOOKUP_WAITING)


def _back_online_the_retry_succeeds_and_the_sale_is_taken(page, app, restore, username):
    from playwright.sync_api import expect

    before = _sales_of(app, username)
    restore()  # the till finds the server again by itself: no button to find in the rush
    expect(page.locator("#benefit")).to_contain_text("补贴 ¥3.00", timeout=20_000)
    expect(page.locator("#net-state")).to_have_text("在线")
    expect(page.locator("#net-problem")).to_be_hidden()
    expect(page.locator("#due")).to_have_text("¥29.00")
    page.click("#pay-button")
    page.click('[data-action="quick-cash"][data-fen="exact"]')
    page.click("#confirm-pay")
    expect(page.locator("#receipt-overlay")).to_be_visible()
    assert _sales_of(app, username) == before + [(3200, 300, 2900)]
    # Sold: a reload does not bring the order back.
    page.reload()
    expect(page.locator("#cart li")).to_have_count(0)
    expect(page.locator("#diner")).to_be_hidden()


def test_with_the_network_gone_a_reload_keeps_the_till_the_order_and_the_diner(till_server, chromium):
    from playwright.sync_api import sync_playwright

    app, server = till_server
    voucher = voucher_url(app, senior=True)
    shots = artifact_dir("browser")
    with sync_playwright() as p:
        browser = chromium(p)
        context = browser.new_context(viewport=TABLET, locale="zh-CN")
        context.set_default_timeout(10_000)
        page = context.new_page()
        _open_till(page, server.url, "cashier")
        _order_with_a_senior(page, voucher)
        _lose_the_network_and_reload(page, lambda: context.set_offline(True), shots, "95-offline")
        _offline_lookup_ends_in_a_message_and_a_retry(page, voucher, shots, "95-offline")
        _back_online_the_retry_succeeds_and_the_sale_is_taken(
            page, app, lambda: context.set_offline(False), "cashier")
        browser.close()


def test_with_the_server_stopped_the_till_comes_back_and_sells_when_it_returns(till_server, chromium):
    from playwright.sync_api import sync_playwright

    app, server = till_server
    voucher = voucher_url(app, senior=True)
    shots = artifact_dir("browser")
    with sync_playwright() as p:
        browser = chromium(p)
        context = browser.new_context(viewport=TABLET, locale="zh-CN")
        context.set_default_timeout(10_000)
        page = context.new_page()
        _open_till(page, server.url, "cashier2")
        _order_with_a_senior(page, voucher)
        _lose_the_network_and_reload(page, server.stop, shots, "96-server-stopped")
        _offline_lookup_ends_in_a_message_and_a_retry(page, voucher, shots, "96-server-stopped")
        _back_online_the_retry_succeeds_and_the_sale_is_taken(page, app, server.start, "cashier2")
        browser.close()


def test_sign_out_forgets_the_kept_page_and_the_order(till_server, chromium):
    from playwright.sync_api import Error as PlaywrightError, expect, sync_playwright

    app, server = till_server
    with sync_playwright() as p:
        browser = chromium(p)
        context = browser.new_context(viewport=TABLET, locale="zh-CN")
        context.set_default_timeout(10_000)
        page = context.new_page()
        _open_till(page, server.url, "cashier")
        page.click('.tab:has-text("套餐")')
        page.click('.dish[data-label="荤素套餐"]')
        expect(page.locator("#due")).to_have_text("¥16.00")
        assert page.evaluate("sessionStorage.getItem('till.order')")
        assert page.evaluate("caches.keys()")

        page.click(".topbar form.inline button[type=submit]")
        page.wait_for_url("**/login")
        # The kept page goes; the release's own files (nobody's data) stay for the next cashier.
        assert [n for n in page.evaluate("caches.keys()") if not n.startswith("till-shell-")] == []
        assert page.evaluate("sessionStorage.getItem('till.order')") is None
        # Offline now, the next person finds no copy of the till on the tablet.
        context.set_offline(True)
        try:
            page.goto(server.url + "/till")
        except PlaywrightError:
            pass  # no worker left to answer: the browser's own offline page
        assert page.locator("#till").count() == 0
        browser.close()


def _lan_address() -> str | None:
    """An address of this machine other than loopback, which the browser does not treat as a
    secure context (None when the machine has none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing address
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_a_till_on_plain_http_at_a_lan_address_says_it_cannot_work_offline(tmp_path, chromium):
    from playwright.sync_api import expect, sync_playwright

    address = _lan_address()
    if address is None:
        pytest.skip("this machine has no LAN address to serve the till on")
    app = build_app(f"sqlite:///{tmp_path / 'canteen.db'}", tmp_path)
    server = RestartableServer(app, host=address)
    try:
        with sync_playwright() as p:
            browser = chromium(p)
            page = browser.new_page(viewport=TABLET, locale="zh-CN")
            page.set_default_timeout(10_000)
            page.goto(server.url + "/login")
            page.fill("#username", "cashier")
            page.fill("#password", "cashier-demo-pass")
            page.click("button[type=submit]")
            page.wait_for_url("**/till")
            assert page.evaluate("isSecureContext") is False
            note = page.locator("#offline-unavailable")
            expect(note).to_be_visible()
            expect(note).to_contain_text("本机不能离线使用：请通过 HTTPS 打开收银页面")
            expect(note).to_contain_text("断网后刷新将打不开收银页面")
            page.screenshot(path=str(artifact_dir("browser") / "97-no-offline-on-lan-http.png"))
            # Still a till: it sells online.
            page.click("#confirm-shift")
            page.click('.dish[data-label="荤素套餐"]')
            expect(page.locator("#due")).to_have_text("¥16.00")
            browser.close()
    finally:
        server.stop()
        app.extensions["canteen_db"].dispose()
