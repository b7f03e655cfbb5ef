"""The diner-facing screen, in Debian's Chromium: a second window of the till's browser that
follows the till — the dishes, the total, the subsidy as an amount only, what is due, "paid,
thank you" after the sale and then the welcome screen.  It never shows, and the till never
publishes, who the diner is or why a subsidy applies (the masked name, the age band, the
worker category, the reason).  Screenshots of each state go to test-artifacts/diner-display/."""
from __future__ import annotations

import json
import re

import pytest

from subsidies.money import yuan
from subsidies.vocabulary import WORKER_CATEGORY_NAMES
from support import artifact_dir

pytestmark = pytest.mark.browser

#: What a published state may hold, and each of its lines: amounts and dishes, nothing personal.
STATE_FIELDS = {"phase", "lines", "gross_fen", "subsidy_fen", "due_fen", "paid_fen", "change_fen", "at"}
LINE_FIELDS = {"name", "qty", "amount_fen"}
#: Words that would say why a subsidy applies (the age band, the tier, the free meal for workers).
WHY_WORDS = ("岁以上", "周岁", "高龄", "长者", "老龄", "立减", "公益", "免费",
             *(n.zh for n in WORKER_CATEGORY_NAMES.values()))
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
SPY = """() => {
  window.published = [];
  const channel = new BroadcastChannel(document.getElementById("display").dataset.channel);
  channel.onmessage = (ev) => window.published.push(ev.data);
}"""


def _voucher(app, *, worker: bool) -> tuple[str, int]:
    """(voucher URL, the subsidy the policy gives on a ¥16.00 set meal) of a demo diner: a
    resident aged 80 or more who is no worker, or a verified outdoor worker under 60."""
    from sqlmodel import select

    from pos.clock import business_date
    from pos.models import Diner, StaffUser
    from pos.store import vouchers
    from subsidies.age import age_on

    settings = app.config["CANTEEN"]
    today = business_date(settings.default_canteen.timezone)
    policy = settings.policy.in_force(today)
    with app.extensions["canteen_db"].transaction() as s:
        for diner in s.exec(select(Diner).order_by(Diner.name)):
            age = age_on(diner.birth_date, today)
            if diner.suspended:
                continue
            if worker and not (diner.worker_category and diner.worker_verified_by and age < 60):
                continue
            if not worker and not (diner.resident and age >= 80 and diner.worker_category is None):
                continue
            subsidy = 1600 if worker else policy.tier_for(age).discount_fen
            active = vouchers.active_voucher(session=s, diner_id=diner.id)
            if active is not None and active.valid_until >= today:
                return vouchers.issued(settings, active).url, subsidy
            staff = s.exec(select(StaffUser.id).where(StaffUser.username == "registrar")).one()
            return vouchers.issue_voucher(session=s, settings=settings, diner_id=diner.id, staff_id=staff,
                                          today=today).url, subsidy
    raise LookupError("no suitable demo diner")


def _till(context, url: str):
    """The cashier's till, signed in, with a shift opened (float ¥0.00)."""
    from playwright.sync_api import expect

    till = context.new_page()
    till.goto(url + "/login")
    till.fill("#username", "cashier")
    till.fill("#password", "cashier-demo-pass")
    till.click("button[type=submit]")
    till.wait_for_url("**/till")
    till.click("#confirm-shift")
    expect(till.locator("#shift-overlay")).to_be_hidden()
    return till


def _scan(till, voucher: str):
    till.locator("#scan").focus()
    till.keyboard.type(voucher)
    till.keyboard.press("Enter")


def _published_states(page) -> list[dict]:
    """Every message the till sent on the channel since the spy listened, checked for shape."""
    messages = page.evaluate("() => window.published")
    states = []
    for m in messages:
        assert set(m) <= {"type", "state"} and m["type"] in ("state", "hello"), m
        if m["type"] == "state":
            states.append(m["state"])
    return states


def test_the_diner_sees_the_order_the_subsidy_amount_and_the_thanks_never_who_they_are(served, chromium):
    from playwright.sync_api import expect, sync_playwright

    app, url = served
    senior, senior_subsidy = _voucher(app, worker=False)
    worker, _ = _voucher(app, worker=True)
    canteen = app.config["CANTEEN"].default_canteen.name
    shots = artifact_dir("diner-display")

    with sync_playwright() as p:
        browser = chromium(p)
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        context.set_default_timeout(10_000)
        errors: list[str] = []
        context.on("page", lambda page: page.on("pageerror", lambda e: errors.append(str(e))))
        till = _till(context, url)

        # The screen beside it, in the same browser and sign-in: idle, welcoming.
        display = context.new_page()
        display.set_viewport_size({"width": 1024, "height": 600})
        display.goto(url + "/till/display")
        expect(display.locator("#idle")).to_be_visible()
        expect(display.locator("#idle")).to_contain_text("欢迎光临")
        expect(display.locator("#idle")).to_contain_text(canteen)
        display.screenshot(path=str(shots / "idle-1024x600.png"))
        till.bring_to_front()  # the cashier's page in front, as on its own screen (a page behind gets slow animation frames)

        # An 80+ diner's voucher and a set meal: the till shows the reason, the screen the amount.
        till.click('.tab:has-text("套餐")')
        till.click('.dish[data-label="荤素套餐"]')
        _scan(till, senior)
        expect(till.locator("#subsidy")).to_have_text("−" + yuan(senior_subsidy))
        expect(till.locator("#benefit")).to_contain_text("80")
        due = till.locator("#due").inner_text()
        assert due == yuan(1600 - senior_subsidy)
        expect(display.locator("#lines")).to_contain_text("荤素套餐 × 1")
        expect(display.locator("#lines")).to_contain_text("¥16.00")
        expect(display.locator("#gross")).to_have_text("¥16.00")
        subsidy_line = re.compile(r"^补贴\s*" + re.escape(yuan(senior_subsidy)) + "$")
        expect(display.locator("#subsidy-row")).to_have_text(subsidy_line)
        expect(display.locator("#due")).to_have_text(due)
        shown = display.locator("body").inner_text()
        masked_name = till.locator("#diner-name").inner_text()
        band = till.locator("#diner-band").inner_text()
        assert masked_name and band
        for personal in (masked_name, band, *WHY_WORDS):
            assert personal not in shown, personal
        assert ENGLISH_WORD.findall(shown) == ["English"]  # the language switch names the other language
        display.screenshot(path=str(shots / "order-1024x600.png"))
        display.set_viewport_size({"width": 1920, "height": 1080})
        display.screenshot(path=str(shots / "order-1920x1080.png"))
        display.set_viewport_size({"width": 390, "height": 844})
        display.screenshot(path=str(shots / "order-390x844.png"))
        display.set_viewport_size({"width": 1024, "height": 600})

        # Paid in cash with ¥20: thanks and the change, for a few seconds, then the welcome again,
        # although the cashier went on to the next diner at once.
        till.click("#pay-button")
        till.click('[data-action="quick-cash"][data-fen="2000"]')
        till.click("#confirm-pay")
        expect(till.locator("#receipt-overlay")).to_be_visible()
        expect(display.locator("#paid-text")).to_have_text(f"已收款 {due}，谢谢")
        expect(display.locator("#change-text")).to_have_text("找零 " + yuan(2000 - 1600 + senior_subsidy))
        display.screenshot(path=str(shots / "paid-1024x600.png"))
        till.click("#next-diner")
        expect(display.locator("#paid")).to_be_visible()
        expect(display.locator("#idle")).to_be_visible(timeout=10_000)  # the thanks stay six seconds

        # A worker's welfare meal: the subsidy is an amount like any other, nothing says "free meal".
        till.click(".dish.welfare")
        _scan(till, worker)
        expect(till.locator("#due")).to_have_text("¥0.00")
        expect(display.locator("#due")).to_have_text("¥0.00")
        expect(display.locator("#subsidy-row")).to_have_text(re.compile(r"^补贴\s*¥\d+\.\d\d$"))
        # The dish keeps its menu name (anyone may buy it at the menu price); nothing else says why.
        welfare_dish = till.locator(".dish.welfare").get_attribute("data-label")
        shown = display.locator("body").inner_text().replace(welfare_dish, "")
        for personal in (till.locator("#diner-name").inner_text(), *WHY_WORDS):
            assert personal not in shown, personal
        till.click('[data-action="new-sale"]')
        expect(display.locator("#idle")).to_be_visible()

        # No diner, full price: no subsidy line; the due amount is the total.
        till.click('.tab:has-text("主食")')
        till.click('.dish[data-label="米饭"]')
        till.click('.dish[data-label="米饭"]')
        expect(till.locator("#due")).to_have_text("¥2.00")
        expect(display.locator("#lines")).to_contain_text("米饭 × 2")
        expect(display.locator("#due")).to_have_text("¥2.00")
        expect(display.locator("#gross")).to_have_text("¥2.00")
        expect(display.locator("#subsidy-row")).to_be_hidden()

        # A screen opened or reloaded now shows the order at once; so does the till's own button.
        later = context.new_page()
        later.goto(url + "/till/display")
        expect(later.locator("#lines")).to_contain_text("米饭 × 2")
        expect(later.locator("#due")).to_have_text("¥2.00")
        display.reload()
        expect(display.locator("#lines")).to_contain_text("米饭 × 2")
        with till.expect_popup() as popup:
            till.click("#nav-display")
        opened = popup.value
        expect(opened.locator("#due")).to_have_text("¥2.00")
        till.bring_to_front()

        # It is paid by WeChat: every screen thanks the diner.
        till.click("#pay-button")
        till.click('[data-action="method"][data-method="wechat"]')
        till.click("#confirm-pay")
        for screen in (display, later, opened):
            expect(screen.locator("#paid-text")).to_have_text("已收款 ¥2.00，谢谢")
            expect(screen.locator("#change-text")).to_be_hidden()

        # Signing out leaves the screens on the welcome, not on the last order.
        till.click("#next-diner")
        till.click('.dish[data-label="米饭"]')
        expect(display.locator("#lines")).to_contain_text("米饭 × 1")
        till.click(".topbar form button")
        till.wait_for_url("**/login**")
        expect(display.locator("#idle")).to_be_visible(timeout=10_000)  # after the thanks' six seconds
        display.set_viewport_size({"width": 1920, "height": 1080})
        display.screenshot(path=str(shots / "idle-1920x1080.png"))
        assert errors == []
        browser.close()


def test_the_till_publishes_dishes_and_amounts_only(served, chromium):
    """What goes out on the channel, and what the till and the screen keep in sessionStorage,
    holds the allowed fields only and none of what the till knows about the diner."""
    from playwright.sync_api import expect, sync_playwright

    app, url = served
    senior, _ = _voucher(app, worker=False)
    with sync_playwright() as p:
        browser = chromium(p)
        context = browser.new_context(locale="zh-CN")
        context.set_default_timeout(10_000)
        till = _till(context, url)
        display = context.new_page()
        display.goto(url + "/till/display")
        display.evaluate(SPY)
        till.bring_to_front()  # the cashier's page in front, as on its own screen (a page behind gets slow animation frames)

        till.click('.dish[data-label="荤素套餐"]')
        with till.expect_response("**/api/v1/credentials/lookup") as answer:
            _scan(till, senior)
        credential = answer.value.json()["credential"]
        expect(display.locator("#subsidy-row")).to_be_visible()
        till.click("#pay-button")
        till.click('[data-action="quick-cash"][data-fen="exact"]')
        till.click("#confirm-pay")
        expect(display.locator("#paid")).to_be_visible()

        states = _published_states(display)
        assert {s["phase"] for s in states} == {"order", "paid"}
        for state in states:
            assert set(state) == STATE_FIELDS
            for line in state["lines"]:
                assert set(line) == LINE_FIELDS
        kept = [till.evaluate("() => sessionStorage.getItem('till.display')"),
                display.evaluate("() => sessionStorage.getItem('till.display')")]
        assert all(kept)
        assert json.loads(kept[0]) == json.loads(kept[1]) == states[-1]
        everything = json.dumps(states, ensure_ascii=False) + "".join(kept)
        secret = [senior, senior.rsplit("/", 1)[-1], credential["masked_name"], credential["band_zh"],
                  credential["band_en"], credential["diner_id"], credential["voucher_id"]]
        for value in secret:
            assert value and value not in everything, value
        for word in WHY_WORDS:
            assert word not in everything, word
        browser.close()
