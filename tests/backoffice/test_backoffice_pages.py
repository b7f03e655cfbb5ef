"""The back-office pages: registering and editing diners, vouchers, tickets, the menu,
staff accounts, the policy page — and who may see what."""
from __future__ import annotations

import re
from datetime import date, timedelta

from sqlmodel import select

from backoffice.bo_helpers import make_id_number, signed_in, staff_id
from pos.models import AuditEntry, Diner, DinerChange, FreeMealCounter, MenuItem, StaffUser, Voucher
from pos.store.diners import register_diner


def html(r) -> str:
    return r.get_data(as_text=True)


def notices(page: str) -> list[str]:
    return re.findall(r'role="status">([^<]*)<', page)


def register_page(client, **fields):
    data = {"name": "林阿姨", "id_number": make_id_number(301, date(1944, 6, 1)), "resident": "on",
            "issue_voucher": "on", **fields}
    return client.post("/backoffice/diners/new", data=data)


def test_registering_a_diner_issues_a_voucher_and_shows_the_masked_id(bo_app):
    registrar = signed_in(bo_app, "registrar")
    r = register_page(registrar)
    assert r.status_code == 302
    page = html(registrar.get(r.headers["Location"]))
    assert "林阿姨" in page and "3302**********" in page and "80岁以上" in page
    assert any(n.startswith("已发放餐券") for n in notices(page))
    with bo_app.extensions["canteen_db"].session() as s:
        d = s.exec(select(Diner).where(Diner.name == "林阿姨")).one()
        assert d.birth_date == date(1944, 6, 1) and d.community == "云鹭湾社区"
        assert s.exec(select(Voucher).where(Voucher.diner_id == d.id)).one().status == "active"
        actions = [a.action for a in s.exec(select(AuditEntry).where(AuditEntry.target.in_([d.id])))]
        assert "diner_registered" in actions
        for entry in s.exec(select(AuditEntry)):
            assert "林阿姨" not in entry.detail


def test_a_bad_id_number_is_refused_on_the_form_with_the_engines_message(bo_app):
    registrar = signed_in(bo_app, "registrar")
    r = register_page(registrar, id_number="33020519440601301")  # 17 characters
    assert r.status_code == 422 and "身份证号码应为18位" in html(r)
    r = register_page(registrar, id_number=make_id_number(1, date(1955, 1, 1)), name="")
    assert r.status_code == 422 and "请填写姓名" in html(r)
    r = register_page(registrar)
    assert r.status_code == 302
    again = register_page(registrar)
    assert again.status_code == 409 and "该身份证号已登记" in html(again)


def test_edit_records_each_change_in_the_history_and_worker_verification(bo_app):
    registrar = signed_in(bo_app, "registrar")
    diner_id = register_page(registrar).headers["Location"].rsplit("/", 1)[1]
    r = registrar.post(f"/backoffice/diners/{diner_id}/edit",
                       data={"name": "林阿姨", "resident": "on", "worker_category": "cleaner",
                             "worker_proof": "物业公司工作证", "phone": "13800000000"})
    assert r.status_code == 302
    page = html(registrar.get(f"/backoffice/diners/{diner_id}"))
    assert "保洁员" in page and "物业公司工作证" in page and "13800000000" in page
    with bo_app.extensions["canteen_db"].session() as s:
        d = s.get(Diner, diner_id)
        assert d.worker_category == "cleaner" and d.worker_verified_by == staff_id(bo_app, "registrar")
        fields = {c.field for c in s.exec(select(DinerChange).where(DinerChange.diner_id == diner_id))}
    assert {"worker_category", "worker_proof", "phone"} <= fields
    # The edit form never shows the number, only its masked form.
    form = html(registrar.get(f"/backoffice/diners/{diner_id}/edit"))
    assert "3302**********" in form and make_id_number(301, date(1944, 6, 1)) not in form


def test_suspend_needs_a_reason_and_reinstating_works(bo_app):
    registrar = signed_in(bo_app, "registrar")
    diner_id = register_page(registrar).headers["Location"].rsplit("/", 1)[1]
    r = registrar.post(f"/backoffice/diners/{diner_id}/suspend", data={"action": "suspend", "reason": ""})
    assert r.status_code == 422
    assert registrar.post(f"/backoffice/diners/{diner_id}/suspend",
                          data={"action": "suspend", "reason": "搬离社区"}).status_code == 302
    page = html(registrar.get(f"/backoffice/diners/{diner_id}"))
    assert "已停用" in page and "搬离社区" in page
    # No voucher for a suspended diner until reinstated.
    assert registrar.post(f"/backoffice/diners/{diner_id}/vouchers").status_code == 409
    assert registrar.post(f"/backoffice/diners/{diner_id}/suspend",
                          data={"action": "reinstate", "reason": "已回社区"}).status_code == 302
    assert registrar.post(f"/backoffice/diners/{diner_id}/vouchers").status_code == 302


def test_reissue_supersedes_and_revoke_ends_the_voucher(bo_app):
    registrar = signed_in(bo_app, "registrar")
    diner_id = register_page(registrar).headers["Location"].rsplit("/", 1)[1]
    assert registrar.post(f"/backoffice/diners/{diner_id}/vouchers").status_code == 302
    with bo_app.extensions["canteen_db"].session() as s:
        rows = sorted(s.exec(select(Voucher).where(Voucher.diner_id == diner_id)), key=lambda v: v.version)
    assert [v.status for v in rows] == ["superseded", "active"]
    assert registrar.post(f"/backoffice/vouchers/{rows[1].id}/revoke").status_code == 302
    assert registrar.post(f"/backoffice/vouchers/{rows[1].id}/revoke").status_code == 409
    page = html(registrar.get(f"/backoffice/diners/{diner_id}"))
    assert "已作废" in page and "已被取代" in page and "暂无有效餐券" in page


def test_search_by_name_masked_id_last_four_full_number_and_voucher_code(bo_app):
    registrar = signed_in(bo_app, "registrar")
    number = make_id_number(301, date(1944, 6, 1))
    diner_id = register_page(registrar).headers["Location"].rsplit("/", 1)[1]
    with bo_app.extensions["canteen_db"].session() as s:
        code = s.exec(select(Voucher.code).where(Voucher.diner_id == diner_id)).one()
        masked = s.get(Diner, diner_id).id_masked
    for q in ("林", masked, number[-4:], f"{code[:3]}-{code[3:6]}-{code[6:]}".lower()):
        assert "林阿姨" in html(registrar.get("/backoffice/diners", query_string={"q": q})), q
    page = html(registrar.post("/backoffice/diners", data={"q": number}))
    assert "林阿姨" in page and number not in page
    assert "林阿姨" not in html(registrar.get("/backoffice/diners", query_string={"q": "不存在的人"}))


def test_a_registrar_sees_and_changes_only_their_communitys_diners(bo_app):
    with bo_app.extensions["canteen_db"].transaction() as s:
        other = register_diner(session=s, id_key=bo_app.config["CANTEEN"].id_key, staff_id=staff_id(bo_app, "admin"),
                               community="景明社区", name="景明居民", id_number=make_id_number(5, date(1941, 2, 3)),
                               resident=True, today=date.today())
        other_id = other.id
    registrar = signed_in(bo_app, "registrar")
    assert "景明居民" not in html(registrar.get("/backoffice/diners", query_string={"q": "景明"}))
    assert registrar.get(f"/backoffice/diners/{other_id}").status_code == 404
    assert registrar.post(f"/backoffice/diners/{other_id}/vouchers").status_code == 404
    assert registrar.post(f"/backoffice/diners/{other_id}/edit", data={"name": "x"}).status_code == 404
    admin = signed_in(bo_app, "admin")
    assert "景明居民" in html(admin.get("/backoffice/diners", query_string={"q": "景明"}))
    assert registrar.get("/backoffice/tickets", query_string={"canteen": "JM01"}).status_code == 403


def test_the_policy_page_shows_the_rules_in_force_and_free_meals_left(bo_app):
    from pos.clock import business_date

    cashier = signed_in(bo_app, "cashier")
    page = html(cashier.get("/backoffice/"))
    assert "2026-01" in page and "¥3.00" in page and "¥7.00" in page and 'id="free-meals-left">40<' in page
    day = business_date("Asia/Shanghai")
    with bo_app.extensions["canteen_db"].transaction() as s:
        s.add(FreeMealCounter(canteen_id="YLW01", business_date=day, cap=40, used=13))
    assert 'id="free-meals-left">27<' in html(cashier.get("/backoffice/"))
    english = html(cashier.get("/backoffice/?lang=en"))
    assert "Policy in force" in english and "27 left of 40 a day" in english
    # A cashier reads the policy but does not reach the registry, the menu or staff.
    for url in ("/backoffice/diners", "/backoffice/menu", "/backoffice/staff", "/backoffice/tickets"):
        assert cashier.get(url).status_code == 403, url


def test_tickets_page_makes_a_sheet_and_refuses_more_than_the_cap(bo_app):
    from pos.clock import business_date

    supervisor = signed_in(bo_app, "supervisor")
    day = business_date("Asia/Shanghai")
    r = supervisor.post("/backoffice/tickets", data={"business_date": day.isoformat(), "count": "30"})
    assert r.status_code == 302
    page = html(supervisor.get(r.headers["Location"]))
    assert "已生成 30 张" in page
    over = supervisor.post("/backoffice/tickets", data={"business_date": day.isoformat(), "count": "11"})
    assert over.status_code == 409 and "最多还能印 10 张" in html(over)
    past = supervisor.post("/backoffice/tickets", data={"business_date": (day - timedelta(days=1)).isoformat()})
    assert past.status_code == 422
    assert supervisor.post("/backoffice/tickets", data={"business_date": "tomorrow"}).status_code == 422
    assert supervisor.post("/backoffice/tickets", data={"business_date": day.isoformat(), "count": "-1"}).status_code == 422
    pdf = supervisor.get(f"/backoffice/tickets/YLW01/{day.isoformat()}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_menu_prices_are_typed_in_yuan_and_stored_in_fen(bo_app):
    admin = signed_in(bo_app, "admin")
    r = admin.post("/backoffice/menu", data={"canteen": "YLW01", "name": "葱油拌面", "category": "主食",
                                             "price": "8.5", "available": "on", "sort_order": "3"})
    assert r.status_code == 302
    with bo_app.extensions["canteen_db"].session() as s:
        item = s.exec(select(MenuItem).where(MenuItem.name == "葱油拌面")).one()
    assert item.price_fen == 850 and item.canteen_id == "YLW01"
    assert "¥8.50" in html(admin.get("/backoffice/menu"))
    for bad in ("8.505", "abc", "-1"):
        r = admin.post(f"/backoffice/menu/{item.id}", data={"name": "葱油拌面", "category": "主食", "price": bad,
                                                            "sort_order": "0"})
        assert r.status_code == 422, bad
    r = admin.post(f"/backoffice/menu/{item.id}", data={"name": "葱油拌面", "category": "主食", "price": "9",
                                                        "sort_order": "0", "available": "on", "welfare_meal": "on"})
    assert r.status_code == 302
    with bo_app.extensions["canteen_db"].session() as s:
        item = s.get(MenuItem, item.id)
        assert item.price_fen == 900 and item.welfare_meal
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "menu_item_updated")).one()
    assert "[850, 900]" in entry.detail


def test_staff_accounts_are_added_reset_and_disabled(bo_app):
    admin = signed_in(bo_app, "admin")
    r = admin.post("/backoffice/staff", data={"username": "cashier3", "display_name": "收银员小张", "role": "cashier",
                                              "canteen": "YLW01", "password": "first-pass-123"})
    assert r.status_code == 302
    first_session = bo_app.test_client()
    assert first_session.post("/login", data={"username": "cashier3", "password": "first-pass-123"}).status_code == 302
    assert first_session.get("/backoffice/").status_code == 200
    uid = staff_id(bo_app, "cashier3")
    assert admin.post(f"/backoffice/staff/{uid}/password", data={"password": "short"}).status_code == 422
    assert admin.post(f"/backoffice/staff/{uid}/password", data={"password": "second-pass-456"}).status_code == 302
    fresh = bo_app.test_client()
    assert fresh.post("/login", data={"username": "cashier3", "password": "first-pass-123"}).status_code == 401
    assert fresh.post("/login", data={"username": "cashier3", "password": "second-pass-456"}).status_code == 302
    assert fresh.get("/backoffice/").status_code == 200
    assert admin.post(f"/backoffice/staff/{uid}/active", data={"active": "0"}).status_code == 302
    r = fresh.get("/backoffice/")  # the open session of a disabled account is not honoured
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert bo_app.test_client().post("/login", data={"username": "cashier3",
                                                     "password": "second-pass-456"}).status_code == 401
    with bo_app.extensions["canteen_db"].session() as s:
        assert s.get(StaffUser, uid).active is False
    # An admin cannot lock themselves out; duplicates and bad roles are refused.
    assert admin.post(f"/backoffice/staff/{staff_id(bo_app, 'admin')}/active", data={"active": "0"}).status_code == 409
    dup = admin.post("/backoffice/staff", data={"username": "cashier", "role": "cashier", "password": "x" * 10})
    assert dup.status_code == 409
    assert admin.post("/backoffice/staff", data={"username": "zz", "role": "boss", "password": "x" * 10}).status_code == 422


def test_the_diner_page_shows_the_voucher_and_reveals_nothing_more(bo_app):
    from pos.store import tokens
    from pos.store import vouchers as vstore

    settings = bo_app.config["CANTEEN"]
    with bo_app.extensions["canteen_db"].session() as s:
        d = s.exec(select(Diner).where(Diner.name == "冯师傅")).one()
        v = vstore.issued(settings, vstore.active_voucher(session=s, diner_id=d.id))
    anonymous = bo_app.test_client()
    r = anonymous.get(f"/v/{v.token}")
    page = html(r)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert "冯*傅" in page and "公益套餐 每日一份" in page and "有效 · 今日尚未使用" in page
    assert "环卫工" not in page  # the benefit is named, never the diner's work
    assert "<svg" in page and "<script" not in page.split("</header>")[1].split("</main>")[0]
    assert d.name not in page and d.id_masked not in page and d.birth_date.isoformat() not in page
    assert d.id_hmac not in page and d.id not in page
    assert tokens.display_code(v.code) in page
    english = html(anonymous.get(f"/v/{v.token}?lang=en"))
    assert "a welfare set meal a day" in english and "sanitation" not in english
    for bad in (v.token[:-3], v.token[::-1], "nonsense", v.token + "/extra"):
        r = anonymous.get(f"/v/{bad}")
        assert 400 <= r.status_code < 500 and "这张券暂时不能使用" in html(r) and "Traceback" not in html(r), bad


def test_the_diner_page_says_when_the_voucher_was_used_today(bo_app):
    import uuid

    from support import api_token
    from pos.store import vouchers as vstore

    settings = bo_app.config["CANTEEN"]
    with bo_app.extensions["canteen_db"].session() as s:
        d = s.exec(select(Diner).where(Diner.name == "王阿婆")).one()
        v = vstore.issued(settings, vstore.active_voucher(session=s, diner_id=d.id))
    till = bo_app.test_client()
    headers = api_token(till, "cashier")
    assert till.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=headers).status_code == 201
    item = next(i for i in till.get("/api/v1/menu", headers=headers).get_json()["items"] if not i["welfare_meal"])
    q = till.post("/api/v1/sales/quote", json={"lines": [{"item_id": item["id"], "qty": 1}],
                                               "credential": {"scan": v.url}}, headers=headers).get_json()
    r = till.post("/api/v1/sales", json={"lines": [{"item_id": item["id"], "qty": 1}], "credential": {"scan": v.url},
                                         "due_fen": q["due_fen"], "tender": {"method": "cash", "tendered_fen": 5000}},
                  headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201, r.get_json()
    assert "今日已享受过补贴餐" in html(bo_app.test_client().get(f"/v/{v.token}"))


def test_a_ticket_page_for_a_phone(bo_app):
    from pos.clock import business_date
    from support import api_token

    client = bo_app.test_client()
    day = business_date("Asia/Shanghai")
    r = client.post("/api/v1/tickets", json={"business_date": day.isoformat(), "count": 1},
                    headers=api_token(client, "supervisor"))
    ticket = r.get_json()["tickets"][0]
    page = html(bo_app.test_client().get(ticket["url"].split("5000", 1)[1]))
    assert "今日有效，尚未使用" in page and ticket["code_display"] in page
