"""Dish labels and energy, and notices for the public: what the cook and the staff may say,
who may say it for which canteen, and when a notice shows (both engines)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from backoffice.bo_helpers import ctx_for, signed_in
from pos.models import AuditEntry, MenuItem, Notice, StaffUser
from pos.refusal import Refusal
from pos.store import notices as nstore
from pos.store.dish_labels import DISH_LABELS, check_energy, parse_labels, stored_labels


@pytest.fixture
def forms_app(app):
    """The demo app on each engine, with form CSRF checks off so the tests can post forms."""
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def _item(app, name: str, canteen: str = "YLW01") -> MenuItem:
    with app.extensions["canteen_db"].session() as s:
        return s.exec(select(MenuItem).where(MenuItem.canteen_id == canteen, MenuItem.name == name)).one()


def _staff(app, username: str) -> StaffUser:
    with app.extensions["canteen_db"].session() as s:
        return s.exec(select(StaffUser).where(StaffUser.username == username)).one()


# -- labels and energy ------------------------------------------------------------------------

@pytest.mark.parametrize("given, stored", [
    ([], ""),
    (["light"], "light"),
    (["light", "low_salt"], "low_salt light"),  # the list's order, whatever the order ticked
    (["contains_peanuts", "soft", "soft"], "soft contains_peanuts"),  # once each
    ("light low_salt", "low_salt light"),  # stored text read back
])
def test_labels_are_stored_once_each_in_the_order_of_the_list(given, stored):
    assert stored_labels(given) == stored
    assert parse_labels(stored) == tuple(stored.split())


def test_a_label_retired_from_the_list_is_not_shown():
    assert parse_labels("low_salt msg_free light") == ("low_salt", "light")


@pytest.mark.parametrize("given", [["no_msg"], ["light", "LIGHT"], [""]])
def test_an_unknown_label_is_refused_naming_it(given):
    with pytest.raises(Refusal) as e:
        stored_labels(given)
    assert e.value.code == "invalid_labels" and "没有这个菜品标签" in e.value.zh
    assert "unknown dish label" in e.value.en and all(code in e.value.en for code in DISH_LABELS)


@pytest.mark.parametrize("energy, ok", [(None, True), (0, True), (520, True), (5000, True), (5001, False),
                                        (-1, False), (True, False), (3.5, False), ("520", False)])
def test_energy_is_whole_kcal_up_to_5000_or_unknown(energy, ok):
    if ok:
        assert check_energy(energy) == energy
    else:
        with pytest.raises(Refusal) as e:
            check_energy(energy)
        assert e.value.code == "invalid_energy"


def test_an_admin_sets_labels_and_energy_on_the_menu_item_page(forms_app):
    item = _item(forms_app, "红烧肉")
    admin = signed_in(forms_app, "admin")
    r = admin.post(f"/backoffice/menu/{item.id}", data={
        "name": item.name, "category": item.category, "price": "12.00", "sort_order": str(item.sort_order),
        "available": "on", "labels": ["contains_nuts", "soft", "low_salt"], "energy_kcal": "560"})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    after = _item(forms_app, "红烧肉")
    assert (after.labels, after.energy_kcal, after.price_fen) == ("low_salt soft contains_nuts", 560, 1200)
    page = admin.get(f"/backoffice/menu/{item.id}").get_data(as_text=True)
    assert 'value="contains_nuts" checked' in page and 'value="560"' in page


def test_a_supervisor_sets_labels_for_their_canteen_and_a_wrong_label_is_refused_with_the_reason(forms_app):
    item = _item(forms_app, "番茄炒蛋")
    supervisor = signed_in(forms_app, "supervisor")
    assert supervisor.get("/backoffice/menu/labels").status_code == 200
    r = supervisor.post(f"/backoffice/menu/labels/{item.id}", data={"labels": ["light"], "energy_kcal": ""})
    assert r.status_code == 302
    after = _item(forms_app, "番茄炒蛋")
    assert (after.labels, after.energy_kcal) == ("light", None)
    with forms_app.extensions["canteen_db"].session() as s:
        entry = s.exec(select(AuditEntry).where(AuditEntry.target == item.id,
                                                AuditEntry.action == "menu_item_updated")).one()
        assert entry.actor == "supervisor" and "labels" in entry.detail and "energy_kcal" in entry.detail

    r = supervisor.post(f"/backoffice/menu/labels/{item.id}", data={"labels": ["light", "msg_free"]})
    assert r.status_code == 422 and "没有这个菜品标签：msg_free" in r.get_data(as_text=True)
    r = supervisor.post(f"/backoffice/menu/labels/{item.id}", data={"labels": ["light"], "energy_kcal": "lots"})
    assert r.status_code == 422 and "热量须为 0–5000 之间的整数" in r.get_data(as_text=True)
    assert _item(forms_app, "番茄炒蛋").labels == "light"  # nothing changed by the refusals


def test_a_supervisor_cannot_label_another_canteens_dish(forms_app):
    item = _item(forms_app, "红烧肉", canteen="YLW01")
    r = signed_in(forms_app, "jm-supervisor").post(f"/backoffice/menu/labels/{item.id}", data={"labels": ["spicy"]})
    assert r.status_code == 403
    assert _item(forms_app, "红烧肉").labels == item.labels


# -- notices: what a notice may hold ------------------------------------------------------------

def _draft(day: date, **changes) -> nstore.NoticeDraft:
    fields = {"place": "today", "topic": "general", "title": "周五加菜", "body": "汤圆一碗", "starts_on": day,
              "ends_on": day, **changes}
    return nstore.NoticeDraft(**fields)


@pytest.mark.parametrize("changes, code", [
    ({"ends_on": date(2026, 3, 4)}, "invalid_notice_dates"),  # ends the day before it starts
    ({"title": ""}, "invalid_notice_title"),
    ({"title": "\u200b"}, "invalid_notice_title"),  # nothing visible
    ({"title": "字" * 61}, "invalid_notice_title"),
    ({"body": "字" * 1001}, "invalid_notice_body"),
    ({"place": "everywhere"}, "invalid_notice_place"),
    ({"topic": "gossip"}, "invalid_notice_topic"),
])
def test_a_notice_is_refused_with_the_reason(changes, code):
    with pytest.raises(Refusal) as e:
        nstore.check_draft(_draft(date(2026, 3, 5), **changes))
    assert e.value.code == code


@pytest.mark.parametrize("changes", [{}, {"title": "字" * 60, "body": "字" * 1000, "ends_on": date(2026, 3, 5)},
                                     {"ends_on": date(2026, 4, 5), "body": ""}])
def test_a_notice_within_the_limits_is_accepted(changes):
    assert nstore.check_draft(_draft(date(2026, 3, 5), **changes)).title


@pytest.mark.parametrize("starts_on, ends_on, status, said", [
    ("2026-03-06", "2026-03-05", 422, "结束日期不能早于开始日期"),
    ("1999-12-31", "2026-03-05", 422, "日期须在 2000-01-01"),  # before the input policy's first day
    ("2026-03-05", "9999-12-31", 422, "日期须在 2000-01-01"),
    ("5 March", "2026-03-05", 422, "请填写开始日期"),
])
def test_the_notice_form_refuses_dates_out_of_order_or_out_of_range(forms_app, starts_on, ends_on, status, said):
    r = signed_in(forms_app, "supervisor").post("/backoffice/notices/new", data={
        "canteen": "YLW01", "place": "today", "topic": "general", "title": "周五加菜",
        "starts_on": starts_on, "ends_on": ends_on})
    assert r.status_code == status and said in r.get_data(as_text=True)
    with forms_app.extensions["canteen_db"].session() as s:
        assert not s.exec(select(Notice).where(Notice.title == "周五加菜")).all()


# -- notices: when they show ---------------------------------------------------------------------

def test_a_notice_shows_only_within_its_dates_and_never_after_it_is_withdrawn(forms_app):
    ctx = ctx_for(forms_app)
    day = ctx.today
    supervisor = _staff(forms_app, "supervisor")
    with ctx.db.transaction() as s:
        notice = nstore.post_notice(session=s, canteen_id="YLW01", actor=supervisor, draft=_draft(
            day + timedelta(days=1), ends_on=day + timedelta(days=3), place="riders", topic="safe_riding",
            title="雨天慢行"))

    def showing(on: date, place: str = "riders", canteen: str = "YLW01") -> bool:
        with ctx.db.session() as s:
            found = nstore.current_notices(session=s, canteen_id=canteen, day=on, place=place)
        return notice.id in [n.id for n in found]

    assert [showing(day + timedelta(days=k)) for k in range(5)] == [False, True, True, True, False]
    assert not showing(day + timedelta(days=2), place="today") and not showing(day + timedelta(days=2), canteen="JM01")
    with ctx.db.transaction() as s:
        nstore.withdraw_notice(session=s, notice_id=notice.id, actor=supervisor)
    assert not any(showing(day + timedelta(days=k)) for k in range(5))
    with ctx.db.session() as s:
        actions = [e.action for e in s.exec(select(AuditEntry).where(AuditEntry.target == notice.id))]
    assert sorted(actions) == ["notice_posted", "notice_withdrawn"]


def test_staff_post_edit_and_withdraw_a_notice_from_the_back_office(forms_app):
    registrar = signed_in(forms_app, "registrar")
    day = ctx_for(forms_app).today
    r = registrar.post("/backoffice/notices/new", data={
        "canteen": "YLW01", "place": "riders", "topic": "health", "title": "免费量血压", "body": "每周三\n14:00–16:00",
        "starts_on": day.isoformat(), "ends_on": (day + timedelta(days=6)).isoformat()})
    assert r.status_code == 302
    with forms_app.extensions["canteen_db"].session() as s:
        notice = s.exec(select(Notice).where(Notice.title == "免费量血压")).one()
    assert notice.body == "每周三\n14:00–16:00" and notice.created_by == _staff(forms_app, "registrar").id
    listing = registrar.get("/backoffice/notices").get_data(as_text=True)
    assert "免费量血压" in listing and "展示中" in listing

    r = registrar.post(f"/backoffice/notices/{notice.id}/edit", data={
        "place": "riders", "topic": "health", "title": "免费量血压和血糖", "body": "",
        "starts_on": day.isoformat(), "ends_on": day.isoformat()})
    assert r.status_code == 302
    assert registrar.post(f"/backoffice/notices/{notice.id}/withdraw").status_code == 302
    r = registrar.post(f"/backoffice/notices/{notice.id}/edit", data={
        "place": "riders", "topic": "health", "title": "再改", "starts_on": day.isoformat(), "ends_on": day.isoformat()})
    assert r.status_code == 409 and "已撤下" in r.get_data(as_text=True)
    with forms_app.extensions["canteen_db"].session() as s:
        entries = {e.action: e for e in s.exec(select(AuditEntry).where(AuditEntry.target == notice.id))}
    assert set(entries) == {"notice_posted", "notice_edited", "notice_withdrawn"}
    assert '"fields": ["body", "ends_on", "title"]' in entries["notice_edited"].detail
    assert all(e.actor == "registrar" for e in entries.values())


# -- notices: who may post for which canteen -------------------------------------------------------

def test_a_supervisor_of_jm01_cannot_post_edit_or_withdraw_for_ylw01(forms_app):
    day = ctx_for(forms_app).today
    form = {"canteen": "YLW01", "place": "today", "topic": "general", "title": "不是我的食堂",
            "starts_on": day.isoformat(), "ends_on": day.isoformat()}
    jm = signed_in(forms_app, "jm-supervisor")
    assert jm.post("/backoffice/notices/new", data=form).status_code == 403
    assert jm.post("/backoffice/notices/new", data={**form, "canteen": "JM01"}).status_code == 302
    with forms_app.extensions["canteen_db"].session() as s:
        posted = s.exec(select(Notice).where(Notice.title == "不是我的食堂")).all()
        ylw = s.exec(select(Notice).where(Notice.canteen_id == "YLW01")).first()
    assert [n.canteen_id for n in posted] == ["JM01"]
    assert jm.get(f"/backoffice/notices/{ylw.id}/edit").status_code == 403
    assert jm.post(f"/backoffice/notices/{ylw.id}/withdraw").status_code == 403
    assert "不是我的食堂" not in signed_in(forms_app, "supervisor").get("/backoffice/notices").get_data(as_text=True)
    with forms_app.extensions["canteen_db"].session() as s:
        assert s.get(Notice, ylw.id).withdrawn_at is None
