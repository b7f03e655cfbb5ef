"""The back office, the reports and the till on a phone, in Debian's Chromium.

At 390×844 (and the back office at 360 px too) no page scrolls sideways: the header's name,
links, language switch, user and 退出 wrap onto lines of their own, a wide table scrolls
inside its own box, and every control in the header is at least 24 px each way.  On the till
a cashier makes a whole sale at 390×844 — a dish, a senior's voucher in the scan field (the
diner box and the benefit show), 收款, cash, the receipt — and the scan field and the pay
button can always be brought into view and are not covered by anything; on a small tablet
(800×600) the till and its pay sheet fit the screen.  Screenshots go to
test-artifacts/phone-width/."""
from __future__ import annotations

import re

import pytest

from browser.demo_vouchers import voucher_url
from support import artifact_dir

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
NARROW_PHONE = {"width": 360, "height": 740}
SMALL_TABLET = {"width": 800, "height": 600}

# The pages each role works in; "diner" stands for one diner's page, found from the list.
PAGES = {
    "registrar": ["/backoffice/", "/backoffice/diners", "diner", "/backoffice/diners/new", "/backoffice/diners/expiring",
                  "/backoffice/diners/import", "/backoffice/tickets", "/backoffice/notices", "/account/password"],
    "supervisor": ["/backoffice/", "/backoffice/devices", "/backoffice/exceptions", "/backoffice/menu/labels",
                   "/backoffice/neighbourhood", "/reports", "/reports/corrections", "/account/password"],
    "accountant": ["/backoffice/", "/reports", "/reports/claims", "/backoffice/audit", "/account/password"],
}

SIDEWAYS = "() => [document.documentElement.scrollWidth, window.innerWidth]"
SMALL_HEADER_TARGETS = """() => [...document.querySelectorAll('header a, header button')]
  .filter(e => e.offsetParent !== null)
  .map(e => [e.textContent.trim(), e.getBoundingClientRect()])
  .filter(([, r]) => r.width < 24 || r.height < 24)
  .map(([text, r]) => `${text} ${Math.round(r.width)}×${Math.round(r.height)}`)"""
ON_TOP = """e => { const r = e.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return hit === e || e.contains(hit); }"""


def _sign_in(page, url: str, username: str) -> None:
    page.goto(url + "/login")
    page.fill("#username", username)
    page.fill("#password", username + "-demo-pass")
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _problems(page, where: str) -> list[str]:
    """What is wrong with the page as it stands: sideways scrolling, header targets under 24 px."""
    found = []
    scroll_width, inner_width = page.evaluate(SIDEWAYS)
    if scroll_width > inner_width:
        found.append(f"{where}: scrolls sideways ({scroll_width} px wide in a {inner_width} px window)")
    small = page.evaluate(SMALL_HEADER_TARGETS)
    if small:
        found.append(f"{where}: header targets under 24 px: {', '.join(small)}")
    return found


def test_back_office_report_and_account_pages_fit_a_phone(served, chromium):
    from playwright.sync_api import sync_playwright

    _app, url = served
    shots = artifact_dir("phone-width")
    for old in shots.glob("office-*.png"):
        old.unlink()
    problems: list[str] = []
    with sync_playwright() as p:
        browser = chromium(p)
        for username, paths in PAGES.items():
            for viewport in (PHONE, NARROW_PHONE):
                context = browser.new_context(viewport=viewport, locale="zh-CN")
                page = context.new_page()
                page.set_default_timeout(10_000)
                _sign_in(page, url, username)
                for path in paths:
                    if path == "diner":
                        page.goto(url + "/backoffice/diners")
                        path = page.locator("table a[href^='/backoffice/diners/']").first.get_attribute("href")
                    response = page.goto(url + path)
                    assert response.status == 200, f"{username} {path}: {response.status}"
                    width = viewport["width"]
                    problems += _problems(page, f"{username} {path} at {width} px")
                    if viewport is PHONE:
                        name = re.sub(r"[^a-z0-9]+", "-", path).strip("-")
                        if path.startswith("/backoffice/diners/") and len(path) > 30:
                            name = "backoffice-diner"
                        page.screenshot(path=str(shots / f"office-{username}-{name}.png"), full_page=True)
                context.close()

        # English words are longer: the header and a diner's page in English at 360 px.
        context = browser.new_context(viewport=NARROW_PHONE, locale="zh-CN")
        page = context.new_page()
        _sign_in(page, url, "supervisor")
        page.goto(url + "/lang/en?next=/reports")
        problems += _problems(page, "supervisor /reports in English at 360 px")
        page.screenshot(path=str(shots / "office-supervisor-reports-en.png"), full_page=True)
        context.close()
        browser.close()
    assert problems == [], "\n".join(problems)


def test_a_whole_sale_at_the_till_on_a_phone(served, chromium):
    from playwright.sync_api import expect, sync_playwright

    app, url = served
    voucher = voucher_url(app, senior=True)
    shots = artifact_dir("phone-width")
    for old in shots.glob("till-*.png"):
        old.unlink()
    problems: list[str] = []

    def check(page, state: str) -> None:
        problems.extend(_problems(page, f"till, {state}"))
        page.screenshot(path=str(shots / f"till-{state}.png"))

    def reachable(page, selector: str, state: str) -> None:
        """Brought into view, the control is inside the window and nothing covers it."""
        control = page.locator(selector)
        control.scroll_into_view_if_needed()
        expect(control).to_be_visible()
        expect(control).to_be_in_viewport()
        if not control.evaluate(ON_TOP):
            problems.append(f"till, {state}: {selector} is covered")

    with sync_playwright() as p:
        browser = chromium(p)
        page = browser.new_page(viewport=PHONE, locale="zh-CN")
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))

        _sign_in(page, url, "cashier")
        page.wait_for_url("**/till")
        expect(page.locator("#shift-overlay")).to_be_visible()
        check(page, "1-shift")
        page.click("#confirm-shift")
        expect(page.locator("#shift-overlay")).to_be_hidden()
        check(page, "2-empty")

        # A senior's set meal: the dish, then the voucher in the scan field.
        page.click('.dish[data-label="荤素套餐"]')
        reachable(page, "#scan", "a dish chosen")
        page.fill("#scan", voucher)
        page.press("#scan", "Enter")
        expect(page.locator("#benefit")).to_contain_text("补贴 ¥3.00")
        expect(page.locator("#due")).to_have_text("¥13.00")
        reachable(page, "#diner", "the diner scanned")
        reachable(page, "#benefit", "the diner scanned")
        check(page, "3-diner-and-order")
        reachable(page, "#pay-button", "the diner scanned")
        expect(page.locator("#pay-button")).to_be_enabled()

        # 收款: cash, the exact amount; the sheet fits and its confirm button shows.
        page.click("#pay-button")
        expect(page.locator("#pay-overlay")).to_be_visible()
        page.click('[data-action="quick-cash"][data-fen="exact"]')
        reachable(page, "#confirm-pay", "the pay sheet")
        check(page, "4-pay-sheet")
        page.click("#confirm-pay")
        expect(page.locator("#receipt-overlay")).to_be_visible()
        reachable(page, "#next-diner", "the receipt")
        check(page, "5-receipt")
        page.click("#next-diner")
        expect(page.locator("#receipt-overlay")).to_be_hidden()
        reachable(page, "#scan", "the next diner")
        reachable(page, "#pay-button", "the next diner")

        # A small tablet: the supervisor's till and its pay sheet fit the screen as they stand.
        tablet = browser.new_page(viewport=SMALL_TABLET, locale="zh-CN")
        tablet.set_default_timeout(10_000)
        _sign_in(tablet, url, "supervisor")
        tablet.wait_for_url("**/till")
        tablet.click("#confirm-shift")
        expect(tablet.locator("#shift-overlay")).to_be_hidden()
        tablet.click('.dish[data-label="荤素套餐"]')
        expect(tablet.locator("#pay-button")).to_be_enabled()
        for selector in ("#scan", "#pay-button"):
            expect(tablet.locator(selector)).to_be_in_viewport(ratio=1)
        tablet.click("#pay-button")
        expect(tablet.locator("#confirm-pay")).to_be_in_viewport(ratio=1)
        problems.extend(_problems(tablet, "till on a small tablet, the pay sheet"))
        tablet.screenshot(path=str(shots / "till-6-small-tablet-pay-sheet.png"))

        assert errors == []
        browser.close()
    assert problems == [], "\n".join(problems)
