"""A lunch rush with the network gone: a registered till, reloaded offline, sells twenty meals —
paid in full, a 60+ and an 80+ voucher, five welfare meals out of its lease of five, a sixth
worker told 本机离线名额已用完 who pays, the same diners' second subsidies refused, a forged
voucher refused — is reloaded mid-queue, reconnects, and then every one of the twenty is
recorded once, at the tablet's times in order, numbered 1–20, and the daily report's figures
grow by exactly what the till's receipts said."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import text

from browser.test_till_offline_selling import SET_MEAL, TABLET, _offline_sales, _register_the_tablet, _sign_in
from support import api_token, artifact_dir, wait_in_page

pytestmark = pytest.mark.browser

WELFARE = ".dish.welfare"


def _id_number(n: int, birth: date) -> str:
    from subsidies.resident_id import check_character

    first17 = f"330211{birth:%Y%m%d}{900 + n:03d}"
    return first17 + check_character(first17)


def _register(client, headers: dict, n: int, *, years: int, worker: bool) -> str:
    """Registers a diner ``years`` old through the API with a voucher; returns the voucher's URL."""
    from pos.clock import business_date

    today = business_date("Asia/Shanghai")
    body = {"name": f"离线{n}", "id_number": _id_number(n, date(today.year - years, 1, 1 + n)), "resident": True,
            "issue_voucher": True}
    if worker:
        body.update(worker_category="sanitation_worker", worker_proof="工作证")
    r = client.post("/api/v1/diners", json=body, headers=headers)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["voucher"]["url"]


def _fen(cell: str) -> int:
    """¥12.34 or −¥3.00 as shown on the receipt → fen (positive)."""
    yuan, fen = re.search(r"(\d+)\.(\d\d)", cell).groups()
    return int(yuan) * 100 + int(fen)


def _sell(page, dishes: list[str], scan: str | None = None, benefit: str | None = None) -> dict:
    """Sells ``dishes`` (selectors, one click each) offline; returns what the receipt showed."""
    from playwright.sync_api import expect

    for dish in dishes:
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
    rows = dict(page.eval_on_selector_all(
        "#receipt-body tr", "rows => rows.map(r => [r.cells[0].textContent, r.cells[1].textContent])"))
    page.click("#next-diner")
    expect(page.locator("#receipt-overlay")).to_be_hidden()
    subsidy = rows.get("补贴") or rows.get("100% 补贴")
    return {"no": rows["离线编号"], "gross": _fen(rows["合计"]), "subsidy": _fen(subsidy) if subsidy else 0,
            "due": _fen(rows["应收"])}


def _daily(app) -> dict:
    """Today's daily report figures (what the PDF prints), for YLW01."""
    from pos.clock import business_date, now_utc
    from reports.service import build_daily

    settings = app.config["CANTEEN"]
    with app.extensions["canteen_db"].session() as s:
        data = build_daily(session=s, settings=settings, canteen_id="YLW01",
                           business_date=business_date(settings.default_canteen.timezone), now=now_utc()).data
    kinds = {k.kind: (k.count, k.amount_fen) for k in data.summary.by_kind}
    return {"date": data.business_date.isoformat(), "sales": data.summary.sales, "gross": data.summary.gross_fen,
            "subsidy": data.summary.subsidy_fen, "due": data.summary.due_fen, "free_used": data.free_meals.used, "free": kinds.get("free_meal", (0, 0)),
            "age": kinds.get("age_tier", (0, 0)), "exceptions": len(data.exceptions)}


def test_twenty_meals_sold_offline_are_recorded_once_and_reported_right(served, chromium):
    from playwright.sync_api import expect, sync_playwright

    app, url = served
    api = app.test_client()
    registrar = api_token(api, "registrar")
    senior = _register(api, registrar, 0, years=70, worker=False)
    elder = _register(api, registrar, 1, years=85, worker=False)
    workers = [_register(api, registrar, 2 + i, years=40, worker=True) for i in range(6)]
    forged = elder[:-3] + ("AAA" if not elder.endswith("AAA") else "BBB")
    before = _daily(app)

    with sync_playwright() as p:
        browser = chromium(p)
        context = browser.new_context(viewport=TABLET, locale="zh-CN")
        context.set_default_timeout(10_000)
        page = context.new_page()
        _register_the_tablet(page, url)
        _sign_in(page, url, "cashier")
        page.click("#confirm-shift")
        wait_in_page(page, "() => navigator.serviceWorker.controller !== null", timeout_s=30)  # a loaded machine
        wait_in_page(page, "() => caches.match('/till').then(r => r ? r.text() : '').then(t => t.includes('opened_at'))")
        expect(page.locator("#offline-meals")).to_have_text("离线名额 5")

        context.set_offline(True)
        page.reload()
        expect(page.locator("#net-state")).to_have_text("离线")
        page.click('.tab:has-text("套餐")')
        shown = [_sell(page, [SET_MEAL]),
                 _sell(page, [SET_MEAL], senior, "补贴 ¥3.00"),
                 _sell(page, [SET_MEAL], elder, "补贴 ¥7.00")]
        shown += [_sell(page, [WELFARE], w, "补贴 ¥15.00") for w in workers[:5]]
        expect(page.locator("#offline-meals")).to_have_text("离线名额 0")
        shown += [_sell(page, [WELFARE], workers[5], "本机离线名额已用完"),  # pays the menu price
                  _sell(page, [SET_MEAL], senior, "今日已享受过补贴餐")]
        # A forged voucher is not in the kit: refused, nothing queued.
        page.click(SET_MEAL)
        page.locator("#scan").focus()
        page.keyboard.type(forged)
        page.keyboard.press("Enter")
        expect(page.locator("#benefit")).to_have_text("离线时无法识别此餐券")
        page.click('[data-action="new-sale"]')

        page.reload()  # mid-queue
        expect(page.locator("#queued-count")).to_have_text("待同步 10")
        page.click('.tab:has-text("套餐")')
        shown += [_sell(page, [SET_MEAL], elder, "今日已享受过补贴餐")]
        shown += [_sell(page, [SET_MEAL] * (1 + i % 2)) for i in range(8)]  # paid, one or two set meals
        shown += [_sell(page, [WELFARE])]  # a welfare set meal bought at the menu price
        assert [s["no"] for s in shown] == [f"#{n}" for n in range(1, 21)]
        expect(page.locator("#queued-count")).to_have_text("待同步 20")
        page.screenshot(path=str(artifact_dir("browser") / "98-twenty-queued.png"))
        assert _offline_sales(app) == []

        context.set_offline(False)
        expect(page.locator("#queued-count")).to_be_hidden(timeout=60_000)
        browser.close()

    recorded = _offline_sales(app)
    assert [r[0] for r in recorded] == list(range(1, 21))  # each once, numbered as the receipts
    assert [r[5] for r in recorded] == sorted(r[5] for r in recorded)  # the tablet's times, in order
    assert [(r[1], r[2], r[3]) for r in recorded] == [(s["gross"], s["subsidy"], s["due"]) for s in shown]
    assert [r[4] for r in recorded] == [None, "age_tier", "age_tier"] + ["free_meal"] * 5 + [None] * 12
    with app.extensions["canteen_db"].session() as s:
        assert s.execute(text("SELECT COUNT(*) FROM offline_sales")).scalar() == 20
        # The five came out of the lease; what it still held went back (a new lease is taken online).
        assert s.execute(text("SELECT SUM(used) FROM free_meal_leases")).scalar() == 5
        held = s.execute(text("SELECT SUM(size - used - returned) FROM free_meal_leases")).scalar()

    after = _daily(app)
    total = {k: sum(s[k] for s in shown) for k in ("gross", "subsidy", "due")}
    assert total == {"gross": after["gross"] - before["gross"], "subsidy": after["subsidy"] - before["subsidy"],
                     "due": after["due"] - before["due"]}
    assert after["sales"] - before["sales"] == 20
    assert (after["free"][0] - before["free"][0], after["free"][1] - before["free"][1]) == (5, 5 * 1500)
    assert after["free_used"] - before["free_used"] == 5 + held  # the counter counts what leases hold
    assert (after["age"][0] - before["age"][0], after["age"][1] - before["age"][1]) == (2, 300 + 700)
    assert after["exceptions"] == before["exceptions"]  # one till: nothing subsidised twice
    # The accountant's PDF of the day is there for these books.
    pdf = api.get(f"/reports/daily.pdf?canteen=YLW01&date={after['date']}", headers=api_token(api, "accountant"))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
