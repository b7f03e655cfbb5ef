"""A neighbourhood report in Debian's Chromium: on a phone (390×844) a rider files a report
with a photo and is shown its number; a registrar at a desk finds it in the queue and passes
it on to the city management squad (城管中队) with a note; back on the phone, the report's
page shows the new status and the note.  The form's CSRF check is on, as in production, and
no page breaks the content security policy.  Screenshots go to test-artifacts/neighbourhood/."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from support import artifact_dir

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2,
         "locale": "zh-CN"}
DESK = {"viewport": {"width": 1280, "height": 800}, "locale": "zh-CN"}
NOTE = "已转城管中队，预计三天内修复"


def test_a_rider_reports_a_pothole_and_follows_it_to_the_city_squad(served, chromium, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    app, url = served
    photo = tmp_path / "pothole.jpg"
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (120, 110, 100)).save(out, "JPEG")
    photo.write_bytes(out.getvalue())
    shots = artifact_dir("neighbourhood")
    problems: list[str] = []

    def watch(page):
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        # A refused inline script or style would show here (the browser reports CSP violations
        # as console errors); a failed request is listed with its address by the next line.
        page.on("console", lambda m: problems.append(f"console: {m.text}")
                if m.type == "error" and "Failed to load resource" not in m.text else None)
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
        page.set_default_timeout(10_000)
        return page

    with sync_playwright() as p:
        browser = chromium(p)
        phone = watch(browser.new_context(**PHONE).new_page())
        phone.goto(url + "/neighbourhood/new?canteen=YLW01")
        phone.get_by_label("道路破损").check()
        phone.fill("#description", "慈湖路 12 号门口路面塌陷，电动车容易摔倒")
        phone.set_input_files("#photo", str(photo))
        phone.fill("#phone", "13912345678")
        phone.screenshot(path=str(shots / "01-phone-form.png"), full_page=True)
        phone.get_by_role("button", name="提交").click()
        phone.wait_for_url(re.compile(r".*/neighbourhood/[2-9A-Z]{4}-[2-9A-Z]{4}\?new=1$"))
        number = phone.locator("#report-number").inner_text().strip()
        expect(phone.get_by_text("请记下编号")).to_be_visible()
        expect(phone.locator("#report-status")).to_have_text("已受理")
        phone.screenshot(path=str(shots / "02-phone-number.png"), full_page=True)

        desk = watch(browser.new_context(**DESK).new_page())
        desk.goto(url + "/login")
        desk.fill("#username", "registrar")
        desk.fill("#password", "registrar-demo-pass")
        desk.click("button[type=submit]")
        desk.click("#nav-neighbourhood")
        desk.get_by_role("link", name=number).click()
        expect(desk.locator("#reporter-phone")).to_have_text("13912345678")
        expect(desk.locator("img.report-photo")).to_be_visible()
        desk.select_option("#status", "passed_on")
        desk.fill("#passed_to", "城管中队")
        desk.fill("#note", NOTE)
        desk.screenshot(path=str(shots / "03-desk-report.png"), full_page=True)
        desk.get_by_role("button", name="保存").click()
        expect(desk.locator("#report-status")).to_contain_text("已转交")
        expect(desk.locator("#report-status")).to_contain_text("城管中队")

        phone.goto(url + f"/neighbourhood/{number}")
        expect(phone.locator("#report-status")).to_have_text("已转交")
        expect(phone.locator("#passed-to")).to_contain_text("城管中队")
        expect(phone.locator("#updates")).to_contain_text(NOTE)
        assert "13912345678" not in phone.content() and "社工小赵" not in phone.content()
        phone.screenshot(path=str(shots / "04-phone-passed-on.png"), full_page=True)
        browser.close()
    assert not problems, problems
