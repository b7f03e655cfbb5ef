"""A cashier changes their own password in Debian's Chromium: signed in on two tablets
(two browser contexts), they change it on one through the header's link; the other tablet
is signed out at its next page load and lands on the sign-in page, the tablet the change
was made on goes on working, and the new password signs in.  A screenshot of the zh
account page is saved to test-artifacts/browser/account_page.png."""
from __future__ import annotations

import pytest

from support import artifact_dir

pytestmark = pytest.mark.browser

OLD, NEW = "cashier-demo-pass", "cashier-own-pass-2026"


def _sign_in(page, url: str, password: str) -> None:
    page.goto(url + "/login")
    page.fill("#username", "cashier")
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_a_cashier_changes_their_password_and_the_other_tablet_is_signed_out(served, chromium):
    from playwright.sync_api import expect, sync_playwright

    _app, url = served
    shot = artifact_dir("browser") / "account_page.png"
    with sync_playwright() as p:
        browser = chromium(p)
        tablets = [browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN") for _ in range(2)]
        here, there = (t.new_page() for t in tablets)
        errors: list[str] = []
        for page in (here, there):
            page.set_default_timeout(10_000)
            page.on("pageerror", lambda e: errors.append(str(e)))
            _sign_in(page, url, OLD)
            page.wait_for_url("**/till")

        # The shift opens (the till asks for it first), then the header's link leads to the
        # account page; a cashier sees no PIN form there.
        here.click("#confirm-shift")
        expect(here.locator("#shift-overlay")).to_be_hidden()
        here.click("#account-link")
        here.wait_for_url("**/account/password")
        expect(here.locator("h1")).to_have_text("修改密码")
        expect(here.locator("#pin-card")).to_have_count(0)
        here.fill("#old_password", OLD)
        here.fill("#new_password", NEW)
        here.fill("#new_password_again", NEW)
        here.click("#save-password")
        expect(here.locator("p.notice")).to_contain_text("其他设备上的登录已退出")
        here.screenshot(path=str(shot), full_page=True)

        # The other tablet: its next page load finds the session ended.
        there.reload()
        there.wait_for_url("**/login**")
        expect(there.locator("#username")).to_be_visible()

        # This tablet goes on working.
        here.click("#account-back")
        here.wait_for_url("**/till")
        expect(here.locator("#shift-status")).to_contain_text("¥0.00")
        expect(here.locator("#scan")).to_be_visible()

        # The old password no longer signs in; the new one does.
        _sign_in(there, url, OLD)
        expect(there.locator("p.alert")).to_contain_text("用户名或密码错误")
        _sign_in(there, url, NEW)
        there.wait_for_url("**/till")
        expect(there.locator("#shift-status")).to_contain_text("¥0.00")
        assert errors == []
        browser.close()
