"""A dish's labels and energy through the menu API: set, read back (the menu items, the till's
menu), changed, cleared and refused with nothing changed; the back office and the public
screen show what the API set.  On SQLite and PostgreSQL."""
from __future__ import annotations

import json
import re

import pytest
from sqlmodel import select

from backoffice.bo_helpers import signed_in
from pos.models import AuditEntry
from pos.store.dish_labels import DISH_LABELS, MAX_ENERGY_KCAL
from support import api_token

ITEMS = "/api/v1/menu/items"
STEAMED_FISH = {"name": "清蒸鲈鱼", "price_fen": 1800, "category": "荤菜", "canteen": "YLW01"}


@pytest.fixture
def admin(client):
    return api_token(client, "admin")


def create(client, admin, **fields):
    r = client.post(ITEMS, json={**STEAMED_FISH, **fields}, headers=admin)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def till_dish(client, item_id: str) -> dict:
    menu = client.get("/api/v1/menu", headers=api_token(client, "cashier")).get_json()["items"]
    return next(d for d in menu if d["id"] == item_id)


def audits(app, item_id: str) -> list[tuple[str, str, dict]]:
    """The dish's audit entries, oldest first: (action, actor, detail)."""
    with app.extensions["canteen_db"].session() as s:
        rows = s.exec(select(AuditEntry).where(AuditEntry.target == item_id).order_by(AuditEntry.at, AuditEntry.id))
        return [(e.action, e.actor, json.loads(e.detail)) for e in rows]


def on_today_screen(client, name: str) -> str:
    """What the public screen's list of today's dishes says of a dish: name, price, labels, energy."""
    html = client.get("/today/YLW01").get_data(as_text=True)
    dish = re.search(rf'<li class="dish">\s*<span class="name">{name}</span>.*?</li>', html, re.S).group(0)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dish)).strip()


def test_a_dish_created_with_labels_and_energy_reads_back_everywhere(app, client, admin):
    # Ticked in any order, once each or not: kept once each in the order of the list.
    made = create(client, admin, labels=["light", "contains_seafood", "low_salt", "light"], energy_kcal=320)
    assert made["labels"] == ["low_salt", "light", "contains_seafood"] and made["energy_kcal"] == 320

    one = client.get(f"{ITEMS}/{made['id']}", headers=admin)
    assert one.status_code == 200 and one.get_json() == made
    listed = client.get(f"{ITEMS}?canteen=YLW01", headers=admin).get_json()
    assert listed["canteen"] == "YLW01" and made in listed["items"]
    dish = till_dish(client, made["id"])
    assert (dish["labels"], dish["energy_kcal"]) == (["low_salt", "light", "contains_seafood"], 320)
    assert [action for action, _, _ in audits(app, made["id"])] == ["menu_item_created"]


def test_a_dish_created_without_them_has_none_and_the_demo_dishes_keep_theirs(client, admin):
    made = create(client, admin)
    assert (made["labels"], made["energy_kcal"]) == ([], None)
    by_name = {i["name"]: i for i in client.get(ITEMS, headers=api_token(client, "platform")).get_json()["items"]}
    assert (by_name["清炒时蔬"]["labels"], by_name["清炒时蔬"]["energy_kcal"]) == (["low_salt", "light"], 90)
    assert (by_name["红烧肉"]["labels"], by_name["红烧肉"]["energy_kcal"]) == (["soft"], 520)
    assert by_name["清蒸鲈鱼"]["labels"] == []


def test_labels_and_energy_are_changed_and_cleared_and_audited(app, client, admin):
    made = create(client, admin, labels=["light"], energy_kcal=320)
    url = f"{ITEMS}/{made['id']}"

    r = client.patch(url, json={"labels": ["spicy", "contains_peanuts", "soft"], "energy_kcal": 610}, headers=admin)
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["labels"], r.get_json()["energy_kcal"]) == (["soft", "spicy", "contains_peanuts"], 610)
    assert audits(app, made["id"])[-1] == ("menu_item_updated", "admin", {"fields": ["energy_kcal", "labels"]})

    # A change of price alone leaves them as they are.
    r = client.patch(url, json={"price_fen": 1900}, headers=admin)
    assert (r.get_json()["labels"], r.get_json()["energy_kcal"], r.get_json()["price_fen"]) == \
        (["soft", "spicy", "contains_peanuts"], 610, 1900)

    # An empty list clears the labels; null says the energy is not known.
    r = client.patch(url, json={"labels": [], "energy_kcal": None}, headers=admin)
    assert r.status_code == 200 and (r.get_json()["labels"], r.get_json()["energy_kcal"]) == ([], None)
    assert client.get(url, headers=admin).get_json() == r.get_json()
    assert (till_dish(client, made["id"])["labels"], till_dish(client, made["id"])["energy_kcal"]) == ([], None)
    assert len(audits(app, made["id"])) == 4  # created, changed three times

    # The same again changes nothing and writes no audit entry.
    assert client.patch(url, json={"labels": [], "energy_kcal": None}, headers=admin).status_code == 200
    assert len(audits(app, made["id"])) == 4


@pytest.mark.parametrize("body, code, named", [
    ({"labels": ["msg_free"]}, "invalid_labels", "msg_free"),
    ({"labels": ["light", "LIGHT"]}, "invalid_labels", "LIGHT"),  # codes are exact
    ({"labels": ["light", ""]}, "invalid_labels", None),
    ({"labels": "light"}, "invalid_request", "labels"),  # a list, not the stored text
    ({"labels": None}, "invalid_request", "null"),  # cleared with [], not null
    ({"labels": ["light"] * 21}, "invalid_request", "labels"),
    ({"energy_kcal": MAX_ENERGY_KCAL + 1}, "invalid_request", "energy_kcal"),
    ({"energy_kcal": -1}, "invalid_request", "energy_kcal"),
    ({"energy_kcal": 3.5}, "invalid_request", "energy_kcal"),
    ({"energy_kcal": "520"}, "invalid_request", "energy_kcal"),
    ({"energy_kcal": True}, "invalid_request", "energy_kcal"),
])
def test_a_wrong_label_or_energy_is_refused_and_changes_nothing(app, client, admin, body, code, named):
    made = create(client, admin, labels=["soft"], energy_kcal=400)
    url = f"{ITEMS}/{made['id']}"
    before = audits(app, made["id"])

    for r in (client.patch(url, json={**body, "price_fen": 2500}, headers=admin),
              client.post(ITEMS, json={**STEAMED_FISH, "name": "白灼虾", **body}, headers=admin)):
        error = r.get_json()["error"]
        if body == {"labels": None} and r.request.method == "POST":
            assert r.status_code == 422 and error["code"] == "invalid_request"  # not a list
            continue
        assert r.status_code == 422 and error["code"] == code, (body, error)
        if named:
            assert named in error["message_en"]
        if code == "invalid_labels":
            assert error["message_zh"].startswith("没有这个菜品标签：") and (named or "") in error["message_zh"]
            assert all(known in error["message_en"] for known in DISH_LABELS)  # the list, to try again

    assert client.get(url, headers=admin).get_json() == made
    assert audits(app, made["id"]) == before
    assert "白灼虾" not in {i["name"] for i in client.get(ITEMS, headers=admin).get_json()["items"]}


@pytest.mark.parametrize("energy", [0, MAX_ENERGY_KCAL])
def test_energy_at_the_ends_of_the_range_is_accepted(client, admin, energy):
    assert create(client, admin, energy_kcal=energy)["energy_kcal"] == energy


def test_who_reads_and_writes_the_menu(client, admin):
    made = create(client, admin, labels=["light"])
    url = f"{ITEMS}/{made['id']}"
    for username in ("cashier", "supervisor", "platform"):
        assert client.get(url, headers=api_token(client, username)).get_json()["labels"] == ["light"], username
    cashier = api_token(client, "cashier")
    assert client.patch(url, json={"labels": []}, headers=cashier).status_code == 403
    assert client.post(ITEMS, json={**STEAMED_FISH, "name": "白灼虾"}, headers=cashier).status_code == 403
    # A canteen's staff read their own canteen's menu only.
    other = api_token(client, "jm-supervisor")
    assert client.get(url, headers=other).get_json()["error"]["code"] == "other_canteen"
    assert client.get(f"{ITEMS}?canteen=YLW01", headers=other).status_code == 403
    assert client.get(ITEMS, headers=other).get_json()["canteen"] == "JM01"
    assert client.get(f"{ITEMS}/{'0' * 20}", headers=admin).get_json()["error"]["code"] == "item_not_found"
    assert client.get(f"{ITEMS}?canteen=NOPE", headers=admin).status_code == 404
    assert client.get(url).status_code == 401


def test_the_back_office_and_the_public_screen_show_what_the_api_set(app, client, admin):
    made = create(client, admin, labels=["contains_seafood", "soft"], energy_kcal=333)
    app.config["WTF_CSRF_ENABLED"] = False  # the pages are signed in through their form

    labels_page = signed_in(app, "supervisor").get("/backoffice/menu/labels").get_data(as_text=True)
    form = re.search(rf'action="/backoffice/menu/labels/{made["id"]}".*?</form>', labels_page, re.S).group(0)
    assert re.findall(r'value="(\w+)" checked', form) == ["soft", "contains_seafood"] and 'value="333"' in form
    item_page = signed_in(app, "admin").get(f"/backoffice/menu/{made['id']}").get_data(as_text=True)
    assert 'value="soft" checked' in item_page and 'value="contains_seafood" checked' in item_page
    assert 'value="333"' in item_page and 'value="light" checked' not in item_page

    assert on_today_screen(client, "清蒸鲈鱼") == "清蒸鲈鱼 ¥18.00 软烂 含海鲜 约 333 千卡"

    client.patch(f"{ITEMS}/{made['id']}", json={"labels": ["light"], "energy_kcal": None}, headers=admin)
    assert on_today_screen(client, "清蒸鲈鱼") == "清蒸鲈鱼 ¥18.00 清淡"
    assert "value=\"333\"" not in signed_in(app, "supervisor").get("/backoffice/menu/labels").get_data(as_text=True)
