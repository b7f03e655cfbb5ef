"""The public "today" page by the door (/today/<code>) and its live count: today's dishes
with prices, labels and energy, the welfare meals left (the till's own counter), hours,
notices and the riders' corner — in Chinese with no English, in English on request, small,
and naming no one (both engines)."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlmodel import select

from pos.config import ConfigError, load_settings
from pos.models import Diner, StaffUser
from pos.store.diners import mask_name
from pos.store.dish_labels import healthy_pick


def page(client, url: str) -> str:
    r = client.get(url)
    assert r.status_code == 200, r.status_code
    return r.get_data(as_text=True)


class _Text(HTMLParser):
    """The text a reader sees (not tags, attributes, scripts or styles)."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def test_an_unknown_canteen_has_no_page_and_no_count(client):
    assert client.get("/today/NOPE").status_code == 404
    r = client.get("/today/NOPE/live.json", headers={"Accept": "application/json"})
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "unknown_canteen"


def test_with_several_canteens_today_lists_them(client):
    listing = page(client, "/today")
    assert 'href="/today/YLW01"' in listing and 'href="/today/JM01"' in listing and "景明社区长者食堂" in listing


def test_the_page_shows_todays_dishes_prices_labels_energy_hours_and_notices(client):
    html = page(client, "/today/YLW01")
    text = re.sub(r"\s+", " ", visible_text(html))
    assert "云鹭湾社区邻里食堂" in text
    assert re.search(r"红烧肉 ¥12\.00 软烂 约 520 千卡", text)
    assert re.search(r"糖醋排骨 ¥14\.00 含花生 约 480 千卡", text)
    assert re.search(r"清炒时蔬 ¥5\.00 少盐 清淡 约 90 千卡", text)  # badges in the list's order
    assert "营业时间 06:30–19:30" in text and "午餐 10:30–14:00" in text
    assert "本周五午餐加菜：宁波汤圆" in text  # a 'today' notice of the demo
    assert "骑行中的议事厅" in text and "每周三下午免费量血压" in text and "安全骑行" in text
    assert "今日健康推荐" in text
    assert 'href="/neighbourhood/new?canteen=YLW01"' in html
    assert 'id="free-meals-left">40<' in html and "剩余 / 每日 40 份" in text
    assert "长者助餐日" not in text  # JM01's notice stays on JM01's page


def test_a_dish_taken_off_today_is_not_on_the_page(app, client):
    from pos.models import MenuItem

    with app.extensions["canteen_db"].transaction() as s:
        item = s.exec(select(MenuItem).where(MenuItem.canteen_id == "YLW01", MenuItem.name == "红烧肉")).one()
        item.available = False
        s.add(item)
    assert "红烧肉" not in page(client, "/today/YLW01")


def test_the_chinese_page_has_no_english_and_the_english_page_is_english(client):
    zh = visible_text(page(client, "/today/YLW01"))
    assert sorted(set(re.findall(r"[A-Za-z]{3,}", zh)) - {"English"}) == []
    client.get("/lang/en?next=/today/YLW01")
    en = re.sub(r"\s+", " ", visible_text(page(client, "/today/YLW01")))
    assert "Braised pork ¥12.00 soft about 520 kcal" in en and "Riders' corner" in en and "Opening hours" in en
    assert "lunch 10:30–14:00" in en and "中文" in en


def test_the_page_may_be_cached_briefly_and_sets_no_cookie(app):
    fresh = app.test_client()
    r = fresh.get("/today/YLW01")
    assert r.headers["Cache-Control"] == "public, max-age=10" and "Cookie" in r.headers["Vary"]
    assert "Set-Cookie" not in r.headers
    live = fresh.get("/today/YLW01/live.json")
    assert live.headers["Cache-Control"] == "no-store" and "Set-Cookie" not in live.headers


def test_the_page_html_css_and_js_stay_well_under_30_kb(client):
    html = client.get("/today/YLW01").get_data()
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', html.decode())
    assert sorted(Path(a).name for a in assets) == ["public.css", "public.js"]
    total = len(html) + sum(len(client.get(a).get_data()) for a in assets)
    assert total < 30 * 1024, total
    assert "<img" not in html.decode() and "@font-face" not in client.get("/static/public.css").get_data(as_text=True)


def test_the_live_count_drops_by_one_when_a_free_meal_is_sold(app, client, till, workers):
    before = client.get("/today/YLW01/live.json").get_json()
    assert set(before) == {"business_date", "free_meals_left", "free_meals_cap", "as_of"}
    assert before["free_meals_cap"] == 40 and before["free_meals_left"] == 40
    sale = till.sell([{"item_id": till.welfare["id"], "qty": 1}], {"id_number": workers[0]})
    assert sale.status_code == 201 and sale.get_json()["due_fen"] == 0
    after = client.get("/today/YLW01/live.json").get_json()
    assert after["free_meals_left"] == 39 and after["business_date"] == before["business_date"]
    assert 'id="free-meals-left">39<' in page(client, "/today/YLW01")
    assert client.get("/today/JM01/live.json").get_json()["free_meals_left"] == 40  # another canteen's counter
    # The same number the back office shows the staff.
    from support import browser_login

    app.config["WTF_CSRF_ENABLED"] = False  # to sign in through the form
    staff = app.test_client()
    assert browser_login(staff, "supervisor").status_code == 302
    assert 'id="free-meals-left">39<' in staff.get("/backoffice/").get_data(as_text=True)


def test_no_public_page_names_a_diner_or_a_member_of_staff(app, client, till, workers):
    with app.extensions["canteen_db"].transaction() as s:
        diners = list(s.exec(select(Diner)))
        for n, d in enumerate(diners[:5]):
            d.phone = f"1380000{n:04d}"
            s.add(d)
        staff = [u.display_name for u in s.exec(select(StaffUser))]
    for number in workers[:3]:  # people ate today: a page must still not say who
        assert till.sell([{"item_id": till.welfare["id"], "qty": 1}], {"id_number": number}).status_code == 201
    secrets = {d.name for d in diners} | {mask_name(d.name) for d in diners} | {d.id_masked for d in diners}
    secrets |= {d.phone for d in diners[:5]} | set(staff) | set(workers)
    client.get("/lang/zh?next=/")
    bodies = {url: client.get(url).get_data(as_text=True) for url in
              ("/today", "/today/YLW01", "/today/JM01", "/today/YLW01/live.json", "/today/YLW01?lang=en")}
    for url, body in bodies.items():
        found = sorted(s for s in secrets if s and s in body)
        assert not found, f"{url} shows {found}"
    assert len(secrets) > 60


@dataclass(frozen=True)
class Dish:
    name: str
    labels: tuple[str, ...] = ()
    energy_kcal: int | None = None


SOUP = Dish("汤", ("light",), 60)
GREENS = Dish("青菜", ("light", "low_salt"), 90)
EGG = Dish("番茄炒蛋", ("low_salt",), 210)
TOFU = Dish("豆腐", ("light",), None)
PORK = Dish("红烧肉", ("soft",), 520)
RICE = Dish("米饭", (), 230)
BUN = Dish("馒头", (), 220)
PLAIN = Dish("无标签无热量")


@pytest.mark.parametrize("menu, pick", [
    # Both labels first, then the lower energy, an unknown energy last; at most three.
    ([PORK, SOUP, EGG, GREENS, TOFU], [GREENS, SOUP, EGG]),
    ([TOFU, PORK, SOUP], [SOUP, TOFU]),
    # Menu order breaks a tie.
    ([Dish("甲", ("light",), 100), Dish("乙", ("light",), 100)], [Dish("甲", ("light",), 100), Dish("乙", ("light",), 100)]),
    # Unlabelled dishes never join a labelled pick, however light.
    ([Dish("清水", (), 0), SOUP], [SOUP]),
    # No dish labelled light or low salt: the lowest known energy instead.
    ([PORK, RICE, BUN, PLAIN], [BUN, RICE, PORK]),
    ([PORK, Dish("辣鸡", ("spicy",), 400)], [Dish("辣鸡", ("spicy",), 400), PORK]),
    # Nothing to go on: no pick rather than a guess.
    ([PLAIN, Dish("花生米", ("contains_peanuts",))], []),
    ([], []),
])
def test_the_healthy_pick(menu, pick):
    assert healthy_pick(menu) == pick


@pytest.mark.parametrize("value, ok", [(1, True), (15, True), (600, True), (0, False), (601, False),
                                       ("15", False), (1.5, False)])
def test_the_refresh_interval_is_1_to_600_seconds(tmp_path, value, ok):
    from support import ROOT

    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^refresh_seconds = .*$", f"refresh_seconds = {value!r}".replace("'", '"'), text)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    if ok:
        assert load_settings(path, env={"CANTEEN_ENV": "development"}).public.refresh_seconds == value
    else:
        with pytest.raises(ConfigError) as e:
            load_settings(path, env={"CANTEEN_ENV": "development"})
        assert str(e.value).startswith("config.toml: public.refresh_seconds must be") and "\n" not in str(e.value)


def test_the_page_polls_at_the_configured_interval(app, tmp_path):
    from pos import create_app

    settings = app.config["CANTEEN"]
    quick = create_app({"CANTEEN": replace(settings, public=replace(settings.public, refresh_seconds=1)),
                        "TESTING": True, "DATABASE": app.extensions["canteen_db"]})
    assert 'data-refresh="1"' in quick.test_client().get("/today/YLW01").get_data(as_text=True)
    assert 'data-refresh="15"' in app.test_client().get("/today/YLW01").get_data(as_text=True)
