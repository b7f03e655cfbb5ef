"""A till everyone can read: axe-core (WCAG 2.x A and AA) finds no serious or critical
violation on the till in each of its states — the shift sheet, a diner and an order, the
identity-number sheet, the pay sheet, the receipt, a sale that could not be sent and is being
retried, recent sales, the void sheet, the shift hand-over — nor on the sign-in page, the
diner-facing screen, the printable receipt, or the pages diners open on their phones (their
voucher, a day's meal ticket, the canteen's "today" page and the neighbourhood report form).

Every state is checked before the test judges, so one run names every problem.  Screenshots
of each state go to test-artifacts/accessibility/."""
from __future__ import annotations

import re

import pytest

from browser.axe import axe_source, blocking_violations
from browser.demo_vouchers import voucher_url
from support import api_token, artifact_dir, wait_in_page

pytestmark = pytest.mark.browser

TABLET = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


class Audit:
    """The blocking violations found in each state, and a screenshot of each."""

    def __init__(self):
        self.found: dict[str, list[str]] = {}
        self.shots = artifact_dir("accessibility")

    def check(self, page, state: str) -> None:
        self.found[state] = blocking_violations(page)
        name = re.sub(r"[^\w]+", "-", state).strip("-")
        page.screenshot(path=str(self.shots / f"{len(self.found):02d}-{name}.png"))

    def report(self) -> str:
        return "\n".join(f"{state}:\n  " + "\n  ".join(problems)
                         for state, problems in self.found.items() if problems)


def _ticket_path(app) -> str:
    """The path of a fresh meal ticket for today, as its QR code holds it."""
    from pos.clock import business_date

    client = app.test_client()
    day = business_date(app.config["CANTEEN"].default_canteen.timezone)
    r = client.post("/api/v1/tickets", json={"business_date": day.isoformat(), "count": 1},
                    headers=api_token(client, "registrar"))
    assert r.status_code == 201, r.get_json()
    return "/t/" + r.get_json()["tickets"][0]["url"].split("/t/", 1)[1]


def _losing_the_first_answer():
    """A route handler: the server records the first sale and the tablet never hears the
    answer (the Wi-Fi dropped it); later requests go through."""
    lost = []

    def handle(route):
        if not lost:
            lost.append(route.request.url)
            route.fetch()
            route.abort("internetdisconnected")
        else:
            route.continue_()
    return handle


def test_every_state_of_the_till_passes_axe(served, chromium):
    from playwright.sync_api import expect, sync_playwright

    axe_source()  # skips (fails on CI) before any browser starts when axe-core is not installed
    app, url = served
    senior_voucher = voucher_url(app, senior=True)
    audit = Audit()

    with sync_playwright() as p:
        browser = chromium(p)
        context = browser.new_context(viewport=TABLET, locale="zh-CN")
        context.set_default_timeout(10_000)
        page = context.new_page()

        page.goto(url + "/login")
        audit.check(page, "sign-in")
        page.fill("#username", "cashier")
        page.fill("#password", "cashier-demo-pass")
        page.click("button[type=submit]")
        page.wait_for_url("**/till")
        expect(page.locator("#shift-overlay")).to_be_visible()
        audit.check(page, "shift opening sheet")
        page.click("#confirm-shift")
        expect(page.locator("#shift-overlay")).to_be_hidden()

        display = context.new_page()
        display.goto(url + "/till/display")
        audit.check(display, "diner-facing screen idle")

        page.bring_to_front()
        page.click('.tab:has-text("套餐")')
        page.click('.dish[data-label="荤素套餐"]')
        page.locator("#scan").focus()
        page.keyboard.type(senior_voucher)
        page.keyboard.press("Enter")
        expect(page.locator("#benefit")).to_contain_text("补贴 ¥3.00")
        audit.check(page, "main with a diner and an order")
        expect(display.locator("#order")).to_be_visible()
        audit.check(display, "diner-facing screen with the order")

        page.click("#id-btn")
        expect(page.locator("#id-overlay")).to_be_visible()
        audit.check(page, "identity number sheet")
        page.click('#id-overlay [data-action="close-overlay"]')

        page.click("#pay-button")
        page.click('[data-action="quick-cash"][data-fen="2000"]')
        expect(page.locator("#change")).to_have_text("¥7.00")
        audit.check(page, "pay sheet")
        page.click("#confirm-pay")
        expect(page.locator("#receipt-overlay")).to_be_visible()
        audit.check(page, "receipt")
        page.click("#next-diner")

        page.route("**/api/v1/sales", _losing_the_first_answer())
        page.click('.dish[data-label="荤素套餐"]')
        page.click("#pay-button")
        page.click('[data-action="quick-cash"][data-fen="exact"]')
        page.click("#confirm-pay")
        expect(page.locator("#offline-banner")).to_be_visible()
        audit.check(page, "sale not sent, retrying")
        page.click("#offline-retry")
        expect(page.locator("#receipt-overlay")).to_be_visible()
        page.click("#next-diner")

        page.click("#nav-sales")
        expect(page.locator("#sales-rows tr")).to_have_count(2)
        audit.check(page, "recent sales")
        page.locator("#sales-rows tr").first.locator('[data-action="open-void"]').click()
        page.click('.chip[data-reason="点错菜品"]')
        for key in "1234":
            page.click(f'[data-keypad="pin"] [data-key="{key}"]')
        audit.check(page, "void sheet")
        page.click("#confirm-void")
        expect(page.locator("#sales-rows")).to_contain_text("已作废")
        audit.check(page, "recent sales with a voided sale")
        with page.expect_popup() as popup:
            page.locator("#sales-rows tr a").first.click()
        receipt = popup.value
        receipt.wait_for_load_state()
        audit.check(receipt, "printable receipt")
        receipt.close()
        page.click('#sales-overlay [data-action="close-overlay"]')

        page.click("#nav-close-shift")
        for key in "32":
            page.click(f'[data-keypad="shift"] [data-key="{key}"]')
        audit.check(page, "shift closing sheet")
        page.click("#confirm-shift")
        expect(page.locator("#shift-result")).to_be_visible()
        audit.check(page, "shift handed over")
        browser.close()

    assert "shift handed over" in audit.found
    assert not audit.report(), "axe-core found serious or critical violations on the till:\n" + audit.report()


def test_the_pages_diners_open_on_their_phones_pass_axe(served, chromium):
    from playwright.sync_api import expect, sync_playwright

    axe_source()
    app, url = served
    voucher = voucher_url(app, senior=True).split("/v/", 1)[1]
    ticket = _ticket_path(app)
    canteen_code = app.config["CANTEEN"].default_canteen.code
    audit = Audit()

    with sync_playwright() as p:
        browser = chromium(p)
        phone = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)
        phone.set_default_timeout(10_000)
        diner = phone.new_page()
        diner.goto(f"{url}/v/{voucher}")
        expect(diner.locator("h1")).to_be_visible()
        audit.check(diner, "voucher page")
        diner.goto(url + ticket)
        audit.check(diner, "ticket page")
        diner.goto(url + "/v/not-a-voucher")
        audit.check(diner, "invalid voucher page")
        # The public pages, where this release has them.
        for path in (f"/today/{canteen_code}", "/neighbourhood/new"):
            if diner.goto(url + path).status == 200:
                audit.check(diner, f"public page {path}")
        browser.close()

    assert {"voucher page", "ticket page", "invalid voucher page"} <= set(audit.found)
    assert not audit.report(), "axe-core found serious or critical violations:\n" + audit.report()


def test_the_offline_till_passes_axe(served, chromium):
    """The states of selling with the network gone: the sheet that registers the tablet as a
    till, the till reloaded offline with a sale queued, its receipt, and the 待同步 sheet."""
    from playwright.sync_api import expect, sync_playwright

    from browser.test_till_offline_selling import SET_MEAL, _sign_in

    axe_source()
    app, url = served
    audit = Audit()

    with sync_playwright() as p:
        browser = chromium(p)
        context = browser.new_context(viewport=TABLET, locale="zh-CN")
        context.set_default_timeout(10_000)
        page = context.new_page()
        _sign_in(page, url, "supervisor")
        page.click("#confirm-shift")
        page.click("#register-device")
        expect(page.locator("#device-overlay")).to_be_visible()
        audit.check(page, "device registration sheet")
        page.fill("#device-name", "1号收银台")
        page.click("#confirm-device")
        expect(page.locator("#offline-meals")).to_have_text("离线名额 5")
        page.click(".topbar form.inline button[type=submit]")
        page.wait_for_url("**/login")

        _sign_in(page, url, "cashier")
        page.click("#confirm-shift")
        wait_in_page(page, "() => navigator.serviceWorker.controller !== null", timeout_s=30)  # a loaded machine
        wait_in_page(page, "() => caches.match('/till').then(r => r ? r.text() : '').then(t => t.includes('opened_at'))")
        context.set_offline(True)
        page.reload()
        expect(page.locator("#net-state")).to_have_text("离线")
        page.click('.tab:has-text("套餐")')
        page.click(SET_MEAL)
        page.click("#pay-button")
        page.click('[data-action="quick-cash"][data-fen="exact"]')
        page.click("#confirm-pay")
        expect(page.locator("#receipt-title")).to_have_text("收款成功 · 离线 · 待同步")
        audit.check(page, "offline receipt")
        page.click("#next-diner")
        expect(page.locator("#queued-count")).to_have_text("待同步 1")
        audit.check(page, "offline till with a sale queued")
        page.click("#queued-count")
        expect(page.locator("#queue-overlay")).to_be_visible()
        audit.check(page, "offline queue sheet")
        browser.close()

    assert "offline queue sheet" in audit.found
    assert not audit.report(), "axe-core found serious or critical violations offline:\n" + audit.report()


def test_an_axe_violation_is_reported_with_its_rule_and_element(chromium):
    """The check itself can fail: a white-on-pale button and an unlabelled field are named."""
    from playwright.sync_api import sync_playwright

    axe_source()
    with sync_playwright() as p:
        browser = chromium(p)
        page = browser.new_page()
        page.set_content('<html lang="zh-CN"><head><title>t</title></head><body><main><h1>x</h1>'
                         '<button id="pale" style="color:#fff;background:#c9574b;font-size:14px">交班</button>'
                         '<input id="bare" type="text"></main></body></html>')
        found = "\n".join(blocking_violations(page))
        browser.close()
    assert "color-contrast [serious]" in found and "#pale" in found
    assert "label [critical]" in found and "#bare" in found

