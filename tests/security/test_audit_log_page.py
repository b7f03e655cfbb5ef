"""The audit log can be read: /backoffice/audit for admins and accountants, filtered by
local date, person, action and canteen, newest first, a page at a time, and scoped — an
accountant sees only their community's canteens, entries tied to no canteen are for
admins, everyone else is refused.  Bad filters are a 4xx with a message, never a 500."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from pos.models import AuditEntry
from pos.store.staff import create_user
from pos.tx import Tx
from support import browser_login

MARK = "auditpage"  # actions made up for these tests, so the demo's own entries do not count
YLW, JM = "YLW01", "JM01"


def put(app, *, at: datetime, action: str, canteen: str | None, actor: str = "cashier", target: str = "",
        detail: str = "{}", entry_id: str | None = None) -> str:
    """One entry at ``at`` (naive UTC), written as pos.store.audit writes it."""
    entry_id = entry_id or f"{at:%Y%m%d%H%M%S%f}{action[-4:]}{canteen or '-'}"
    with app.extensions["canteen_db"].transaction() as s:
        Tx.of(s).insert(AuditEntry.__table__, {"id": entry_id, "at": at, "actor_id": None, "actor": actor,
                                               "canteen_id": canteen, "action": action, "target": target,
                                               "detail": detail, "address": "10.0.0.7"})
    return entry_id


def signed_in(app, username: str):
    app.config["WTF_CSRF_ENABLED"] = False
    c = app.test_client()
    assert browser_login(c, username).status_code == 302
    return c


def targets(response) -> list[str]:
    """The targets shown in the table, top to bottom (the tests put a unique one on each entry)."""
    return re.findall(r'<td class="mono small">(t-[^<]+)</td>', response.get_data(as_text=True))


@pytest.fixture
def jm_accountant(app):
    with app.extensions["canteen_db"].transaction() as s:
        create_user(session=s, username="jm-accountant", password="jm-accountant-demo-pass", role="accountant",
                    community=app.config["CANTEEN"].canteen(JM).community, display_name="景明会计")
    return "jm-accountant"


# 2026-03-01 16:30 UTC is 00:30 on 2 March in Shanghai: the entry belongs to the 2nd.
@pytest.mark.parametrize("since, until, shown", [
    ("2026-03-02", "2026-03-02", True),
    ("2026-03-01", "2026-03-01", False),
    ("2026-03-01", "", True),
    ("", "2026-03-01", False),
    ("2026-03-03", "", False),
])
def test_dates_are_the_canteens_local_dates(app, since, until, shown):
    put(app, at=datetime(2026, 3, 1, 16, 30), action=f"{MARK}_late", canteen=YLW, target="t-late")
    put(app, at=datetime(2026, 3, 1, 15, 59), action=f"{MARK}_late", canteen=YLW, target="t-before-midnight")
    r = signed_in(app, "admin").get("/backoffice/audit", query_string={
        "since": since, "until": until, "action": f"{MARK}_late"})
    assert r.status_code == 200
    assert ("t-late" in targets(r)) is shown
    # 23:59 local on the 1st: on the 1st, never on the 2nd.
    assert ("t-before-midnight" in targets(r)) is (since != "2026-03-02" and since != "2026-03-03")


def test_filters_by_person_action_and_canteen(app):
    at = datetime(2026, 3, 5, 3, 0)
    put(app, at=at, action=f"{MARK}_a", canteen=YLW, actor="cashier", target="t-ylw-cashier-a")
    put(app, at=at + timedelta(minutes=1), action=f"{MARK}_b", canteen=YLW, actor="cashier", target="t-ylw-cashier-b")
    put(app, at=at + timedelta(minutes=2), action=f"{MARK}_a", canteen=YLW, actor="supervisor", target="t-ylw-sup-a")
    put(app, at=at + timedelta(minutes=3), action=f"{MARK}_a", canteen=JM, actor="jm-cashier", target="t-jm-a")
    c = signed_in(app, "admin")
    day = {"since": "2026-03-05", "until": "2026-03-05"}
    assert targets(c.get("/backoffice/audit", query_string={**day, "actor": "cashier"})) == [
        "t-ylw-cashier-b", "t-ylw-cashier-a"]
    assert targets(c.get("/backoffice/audit", query_string={**day, "action": f"{MARK}_a"})) == [
        "t-jm-a", "t-ylw-sup-a", "t-ylw-cashier-a"]
    assert targets(c.get("/backoffice/audit", query_string={**day, "action": f"{MARK}_a", "canteen": JM})) == [
        "t-jm-a"]
    assert targets(c.get("/backoffice/audit", query_string={**day, "actor": "nobody"})) == []


def test_pages_newest_first_without_gaps_or_repeats(app):
    start = datetime(2026, 3, 6, 2, 0)
    made = []
    for n in range(120):
        # Several entries share one instant: the id orders them, and the cursor must too.
        at = start + timedelta(seconds=n // 3)
        made.append((at, put(app, at=at, action=f"{MARK}_page", canteen=YLW, target=f"t-{n:03d}",
                             entry_id=f"0000{n:04d}")))
    c = signed_in(app, "accountant")
    seen, url, pages = [], "/backoffice/audit?action=" + f"{MARK}_page", 0
    while url:
        r = c.get(url)
        assert r.status_code == 200
        seen += targets(r)
        pages += 1
        older = re.search(r'href="([^"]+)" id="audit-older"', r.get_data(as_text=True))
        url = older.group(1).replace("&amp;", "&") if older else None
        if pages > 1:
            assert 'id="audit-first"' in r.get_data(as_text=True)
    assert pages == 3
    assert seen == [f"t-{n:03d}" for n in range(119, -1, -1)]


def test_an_accountant_sees_their_community_only_and_no_entries_without_a_canteen(app, jm_accountant):
    at = datetime(2026, 3, 7, 4, 0)
    put(app, at=at, action=f"{MARK}_scope", canteen=YLW, target="t-ylw")
    put(app, at=at, action=f"{MARK}_scope", canteen=JM, target="t-jm")
    put(app, at=at, action=f"{MARK}_scope", canteen=None, actor="cli", target="t-none")
    query = {"action": f"{MARK}_scope"}
    assert sorted(targets(signed_in(app, "admin").get("/backoffice/audit", query_string=query))) == [
        "t-jm", "t-none", "t-ylw"]
    assert targets(signed_in(app, "accountant").get("/backoffice/audit", query_string=query)) == ["t-ylw"]
    other = signed_in(app, jm_accountant)
    assert targets(other.get("/backoffice/audit", query_string=query)) == ["t-jm"]
    # Naming our canteen does not get them in: refused, with a message, nothing shown.
    r = other.get("/backoffice/audit", query_string={**query, "canteen": YLW})
    assert r.status_code == 403
    assert "t-ylw" not in r.get_data(as_text=True) and "不能查看其他社区的数据" in r.get_data(as_text=True)
    # Nor by their canteen list: only their own is offered.
    assert f'value="{YLW}"' not in other.get("/backoffice/audit").get_data(as_text=True)


@pytest.mark.parametrize("username", ["cashier", "supervisor", "registrar"])
def test_other_roles_are_refused(app, username):
    c = signed_in(app, username)
    assert c.get("/backoffice/audit").status_code == 403
    assert 'id="nav-audit"' not in c.get("/backoffice/").get_data(as_text=True)


def test_signed_out_goes_to_the_sign_in_page(app):
    r = app.test_client().get("/backoffice/audit")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


@pytest.mark.parametrize("query, status, words", [
    ({"since": "2026-13-01"}, 400, "开始日期格式应为 YYYY-MM-DD"),
    ({"until": "yesterday"}, 400, "结束日期格式应为 YYYY-MM-DD"),
    ({"since": "2026-03-05", "until": "2026-03-01"}, 400, "晚于结束日期"),
    ({"before": "not-a-cursor"}, 400, "翻页位置无效"),
    ({"before": "2026-02-30T00:00:00~abc"}, 400, "翻页位置无效"),
    ({"canteen": "NOPE"}, 404, "没有这个食堂"),
])
def test_bad_filters_are_a_clear_4xx(app, query, status, words):
    r = signed_in(app, "admin").get("/backoffice/audit", query_string=query)
    assert r.status_code == status
    assert words in r.get_data(as_text=True)
    assert 'id="audit-filters"' in r.get_data(as_text=True)  # the form is there to correct it


def test_actions_are_named_in_the_readers_language_and_details_read_plainly(app):
    put(app, at=datetime(2026, 3, 8, 4, 0), action="sale_voided", canteen=YLW, target="t-void",
        detail='{"refund_fen": 1250, "approved_by": "supervisor", "checks_failed": ["a", "b"]}')
    c = signed_in(app, "admin")
    zh = c.get("/backoffice/audit", query_string={"since": "2026-03-08", "until": "2026-03-08"}).get_data(as_text=True)
    assert "销售已作废" in zh and "¥12.50（1250 分）" in zh and "a、b" in zh
    assert "<dt>退款</dt>" in zh and "<dt>批准人</dt>" in zh
    assert "Sale voided" not in zh and ">sale_voided<" not in zh and "refund_fen" not in zh
    c.set_cookie("lang", "en")
    en = c.get("/backoffice/audit", query_string={"since": "2026-03-08", "until": "2026-03-08"}).get_data(as_text=True)
    assert "Sale voided" in en and "¥12.50 (1250 fen)" in en and "Audit log" in en
    assert "<dt>Refund</dt>" in en and "<dt>Approved by</dt>" in en
    assert not re.search(r"[\u4e00-\u9fff]", re.sub(r"<header.*?</header>", "", en, flags=re.S)
                         .replace("云鹭湾社区邻里食堂", "").replace("景明社区长者食堂", ""))


def test_a_resident_id_never_shows_even_if_one_was_logged(app):
    number = "330205195603011234"  # not a valid number: what matters is that it is never shown
    put(app, at=datetime(2026, 3, 9, 4, 0), action=f"{MARK}_pii", canteen=YLW, target=number,
        detail=f'{{"note": "id {number}"}}')
    body = signed_in(app, "admin").get("/backoffice/audit", query_string={"action": f"{MARK}_pii"}).get_data(
        as_text=True)
    assert number not in body and "3302**********1234" in body


def test_the_navigation_leads_there_for_admins_and_accountants(app):
    for username in ("admin", "accountant"):
        c = signed_in(app, username)
        assert 'id="nav-audit"' in c.get("/backoffice/").get_data(as_text=True)
    assert 'id="nav-audit"' in signed_in(app, "accountant").get("/reports").get_data(as_text=True)
