"""The public "today" screen in Debian's Chromium, on a phone (390×844) and on the TV by the
door (1920×1080): today's dishes with their labels and the free welfare meals left; a free
meal sold at the till brings the number on the open page down without a reload.
Screenshots go to test-artifacts/public/."""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date

import pytest
from sqlmodel import select

from support import LiveServer, api_token, artifact_dir, build_app, make_settings

pytestmark = pytest.mark.browser

SIZES = {"phone": {"width": 390, "height": 844}, "tv": {"width": 1920, "height": 1080}}


@pytest.fixture
def quick(tmp_path):
    """(app, base URL): the demo canteen served over HTTP, the page polling every second."""
    url = f"sqlite:///{tmp_path / 'canteen.db'}"
    settings = make_settings(url, tmp_path)
    settings = replace(settings, public=replace(settings.public, refresh_seconds=1))
    app = build_app(url, tmp_path, settings=settings)
    server = LiveServer(app, threads=4)
    yield app, server.url
    server.stop()
    app.extensions["canteen_db"].dispose()


def _sell_a_free_meal(app) -> None:
    """A registered delivery rider gets the free welfare meal through the till's API."""
    from pos.clock import business_date
    from pos.models import StaffUser
    from pos.store.diners import register_diner
    from subsidies.resident_id import check_character

    settings = app.config["CANTEEN"]
    today = business_date(settings.default_canteen.timezone)
    first17 = f"330211{date(today.year - 30, 5, 1):%Y%m%d}777"
    number = first17 + check_character(first17)
    with app.extensions["canteen_db"].transaction() as s:
        registrar = s.exec(select(StaffUser.id).where(StaffUser.username == "registrar")).one()
        register_diner(session=s, id_key=settings.id_key, staff_id=registrar, community="云鹭湾社区", name="骑手甲",
                       id_number=number, resident=False, today=today, worker_category="delivery_rider",
                       worker_proof="平台骑手证明")
    client = app.test_client()
    headers = api_token(client, "cashier")
    assert client.post("/api/v1/shifts", json={"opening_float_fen": 20000}, headers=headers).status_code == 201
    welfare = next(i for i in client.get("/api/v1/menu", headers=headers).get_json()["items"] if i["welfare_meal"])
    r = client.post("/api/v1/sales", headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
                    json={"lines": [{"item_id": welfare["id"], "qty": 1}], "credential": {"id_number": number},
                          "due_fen": 0, "tender": {"method": "free"}})
    assert r.status_code == 201, r.get_json()


def test_the_today_screen_on_a_phone_and_a_tv_counts_down_live(quick, chromium):
    from playwright.sync_api import expect, sync_playwright

    app, url = quick
    shots = artifact_dir("public")
    with sync_playwright() as p:
        browser = chromium(p)
        pages = {}
        for name, size in SIZES.items():
            page = browser.new_page(viewport=size, locale="zh-CN")
            errors: list[str] = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
            page.goto(url + "/today/YLW01")
            expect(page.locator("#free-meals-left")).to_have_text("40")
            dish = page.locator(".dish", has_text="清炒时蔬")
            expect(dish).to_be_visible()
            expect(dish.locator(".badge")).to_have_text(["少盐", "清淡"])
            expect(dish).to_contain_text("¥5.00")
            expect(dish).to_contain_text("约 90 千卡")
            expect(page.locator("#healthy-pick")).to_contain_text("清炒时蔬")
            # Nothing spills sideways: the page is as wide as the screen.
            assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
            page.screenshot(path=str(shots / f"today-{name}.png"), full_page=name == "phone")
            pages[name] = (page, errors)

        _sell_a_free_meal(app)
        for name, (page, errors) in pages.items():
            expect(page.locator("#free-meals-left")).to_have_text("39", timeout=5000)
            assert not errors, errors
            page.screenshot(path=str(shots / f"today-{name}-after-a-free-meal.png"))
        browser.close()
