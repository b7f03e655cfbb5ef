"""A diner's rights, on SQLite and PostgreSQL: correction through the edit with history, the
export of everything held about them (JSON and a PDF in Chinese), erasure — after which no
text column of the database holds their name, phone or masked ID (the frozen claim and
day-close documents included), their vouchers are revoked, a claim submitted before still
adds up to the fen with its figures and recorded digest unchanged, a claim built after
still has their grants, and the ledger and frozen documents verify — and the purge after
the retention, which takes only what is past it.
"""
from __future__ import annotations

import random
import subprocess
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import inspect, select, text

from pos.demo import demo_resident_id
from pos.demo.history import _lunch
from pos.models import Diner, StaffUser
from pos.store.day_close import close_day
from pos.store.diner_rights import ERASED
from pos.store.diners import register_diner
from pos.web.cli import cli
from pos.web.cli.ledger_commands import verify_all
from reports.claim_document import claim_lines
from reports.queries import pseudonym
from support import api_token, browser_login, demo_app, need_tool

OCTOBER = (date(2026, 10, 12), date(2026, 10, 13))


@pytest.fixture(params=["sqlite", "postgres"])
def rights_app(request, tmp_path, demo_templates):
    """The demo canteen (a fresh copy) with form CSRF checks off, on each engine."""
    with demo_app(request.param, demo_templates, tmp_path, WTF_CSRF_ENABLED=False) as app:
        yield app


def _db(app):
    return app.extensions["canteen_db"]


def _lunches(app, days, diners=None):
    """Real lunches at YLW01 on ``days`` through the store (chained like a till's sales)."""
    settings = app.config["CANTEEN"]
    with _db(app).transaction() as s:
        staff = {u.username: u for u in s.execute(select(StaffUser)).scalars()}
        everyone = list(s.execute(select(Diner).order_by(Diner.created_at, Diner.id)).scalars())
        chosen = [d for d in everyone if diners is None or d.id in diners]
        for back, day in enumerate(days):
            _lunch(s, settings, random.Random(day.toordinal()), settings.canteens[0], day, back + 10, 30,
                   staff["cashier"], staff["supervisor"], chosen, set())


def _close(app, days):
    settings = app.config["CANTEEN"]
    for day in days:
        with _db(app).transaction() as s:
            closer = s.execute(select(StaffUser).where(StaffUser.username == "supervisor")).scalar_one()
            close_day(session=s, settings=settings, canteen_id="YLW01", business_date=day, actor=closer,
                      now=datetime.now(timezone.utc))


def _submit_october(client, headers):
    body = {"month": "2026-10", "scope_kind": "canteen", "scope": "YLW01"}
    r = client.post("/api/v1/claims", json=body, headers=headers)
    if r.status_code == 422 and r.get_json()["error"]["code"] == "checks_unexplained":
        r = client.post("/api/v1/claims", json={**body, "explanations": {c: "已核实" for c in r.get_json()["checks"]}},
                        headers=headers)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _october_fen(conn) -> int:
    return int(conn.execute(text("SELECT COALESCE(SUM(amount_fen), 0) FROM subsidy_grants WHERE canteen_id = 'YLW01' "
                                 "AND business_date BETWEEN :a AND :b AND voided = :f"),
                            {"a": date(2026, 10, 1), "b": date(2026, 10, 31), "f": False}).scalar())


def _where_found(conn, needles: list[str]) -> set[tuple[str, str, str]]:
    """(table, column, needle) for every text column of every table holding a needle."""
    found = set()
    insp = inspect(conn)
    for table in insp.get_table_names():
        for col in insp.get_columns(table):
            if "CHAR" not in str(col["type"]).upper() and "TEXT" not in str(col["type"]).upper():
                continue
            for needle in needles:
                hit = conn.execute(text(f'SELECT 1 FROM {table} WHERE "{col["name"]}" LIKE :p LIMIT 1'),
                                   {"p": f"%{needle}%"}).first()
                if hit:
                    found.add((table, col["name"], needle))
    return found


def _count(tree, who: str, masked: str) -> int:
    if isinstance(tree, dict):
        return int(tree.get("diner") == who and tree.get("masked_id") == masked) + sum(
            _count(v, who, masked) for v in tree.values())
    return sum(_count(v, who, masked) for v in tree) if isinstance(tree, list) else 0


def _redacted(tree, who: str, masked: str):
    """The document with the masked ID beside ``who`` replaced, as an erasure leaves it."""
    if isinstance(tree, dict):
        out = {k: _redacted(v, who, masked) for k, v in tree.items()}
        if out.get("diner") == who and out.get("masked_id") == masked:
            out["masked_id"] = ERASED
        return out
    return [_redacted(v, who, masked) for v in tree] if isinstance(tree, list) else tree


def _grants_of(conn, diner_id: str, key: str) -> list[tuple]:
    return conn.execute(text("SELECT id, business_date, canteen_id, amount_fen, voided FROM subsidy_grants "
                             "WHERE diner_id = :d OR diner_key = :k ORDER BY id"), {"d": diner_id, "k": key}).all()


def _lines_of(app, key: str) -> list:
    """The diner's lines of the October claim as a claim built now has them."""
    with _db(app).session() as s:
        return [x for x in claim_lines(session=s, codes=["YLW01"], month=date(2026, 10, 1)) if x.diner == pseudonym(key)]


def test_export_then_erasure_keeps_claims_and_ledger_whole(rights_app):
    app, client = rights_app, rights_app.test_client()
    _lunches(app, OCTOBER)
    _close(app, OCTOBER)
    accountant, registrar = api_token(client, "accountant"), api_token(client, "registrar")
    claim = _submit_october(client, accountant)
    before_doc = client.get(f"/api/v1/claims/{claim['id']}", headers=accountant).get_json()

    with _db(app).session() as s:
        conn = s.connection()
        assert claim["net_fen"] == _october_fen(conn) > 0
        # The diner with the most subsidised meals in October.
        diner_id, key = conn.execute(text(
            "SELECT g.diner_id, g.diner_key FROM subsidy_grants g WHERE g.diner_id IS NOT NULL AND g.voided = :f "
            "AND g.business_date BETWEEN :a AND :b GROUP BY g.diner_id, g.diner_key ORDER BY COUNT(*) DESC, g.diner_id"),
            {"f": False, "a": OCTOBER[0], "b": OCTOBER[1]}).first()
        first_name, masked = conn.execute(text("SELECT name, id_masked FROM diners WHERE id = :d"),
                                          {"d": diner_id}).first()
    october_lines = _lines_of(app, key)

    # Correction: the existing edit keeps the history and is audited.
    browser = app.test_client()
    assert browser_login(browser, "registrar").status_code in (302, 303)
    new_name, phone = "欧阳测试", "13912345678"
    r = browser.post(f"/backoffice/diners/{diner_id}/edit",
                     data={"name": new_name, "phone": phone, "resident": "on", "worker_proof": ""})
    assert r.status_code in (302, 303), r.get_data(as_text=True)[:500]

    # The export holds every record of the person, as the database has it.
    r = client.get(f"/api/v1/diners/{diner_id}/export", headers=registrar)
    assert r.status_code == 200, r.get_json()
    export = r.get_json()
    with _db(app).session() as s:
        conn = s.connection()
        changes = conn.execute(text("SELECT field, old_value, new_value FROM diner_changes WHERE diner_id = :d "
                                    "ORDER BY at, id"), {"d": diner_id}).all()
        vouchers = conn.execute(text("SELECT id FROM vouchers WHERE diner_id = :d ORDER BY version"),
                                {"d": diner_id}).scalars().all()
        sales = conn.execute(text("SELECT id FROM sales WHERE diner_id = :d ORDER BY id"), {"d": diner_id}).scalars().all()
        grants = _grants_of(conn, diner_id, key)
    assert export["diner"]["name"] == new_name and export["diner"]["phone"] == phone
    assert export["diner"]["masked_id"] == masked and "id_hmac" not in str(export)
    assert [(c["field"], c["old_value"], c["new_value"]) for c in export["changes"]] == [tuple(c) for c in changes]
    assert ("name", first_name, new_name) in [tuple(c) for c in changes] and ("phone", "", phone) in changes
    assert [v["id"] for v in export["vouchers"]] == list(vouchers) and vouchers
    assert sorted(x["id"] for x in export["sales"]) == sorted(sales) and sales
    assert sorted(m["id"] for m in export["subsidised_meals"]) == [g[0] for g in grants]
    assert {m["id"]: (m["business_date"], m["canteen_id"], m["amount_fen"]) for m in export["subsidised_meals"]} == \
        {g[0]: (str(g[1]), g[2], g[3]) for g in grants}
    assert export["totals"]["subsidy_fen"] == sum(g[3] for g in grants if not g[4])
    assert "diner_edited" in [a["action"] for a in export["audit"]]

    # The PDF for the person, in Chinese.
    r = browser.get(f"/backoffice/diners/{diner_id}/export.pdf")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    pdftotext = need_tool("pdftotext", "poppler-utils")
    words = subprocess.run([pdftotext, "-layout", "-", "-"], input=r.data, capture_output=True, check=True).stdout
    words = words.decode("utf-8")
    assert "就餐者个人信息副本" in words and new_name in words and phone in words and "享受补贴的用餐" in words

    # A note about them elsewhere in their record (a life event's, where the registry keeps one).
    with _db(app).transaction() as s:
        if "left_note" in {c["name"] for c in inspect(s.connection()).get_columns("diners")}:
            s.connection().execute(text("UPDATE diners SET left_note = :n WHERE id = :d"),
                                   {"n": f"{new_name}家属来电 {phone}", "d": diner_id})

    # Erasure, with a reason; a second one is refused.
    r = client.post(f"/api/v1/diners/{diner_id}/erase", json={"reason": "本人书面申请删除"}, headers=registrar)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["vouchers_revoked"] == 1
    r = client.post(f"/api/v1/diners/{diner_id}/erase", json={"reason": "again"}, headers=registrar)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "diner_erased"

    with _db(app).session() as s:
        conn = s.connection()
        # Nothing identifies them: the name (old and new), the phone and the masked ID are in
        # no text column of any table — the frozen day-close and claim documents included.
        assert _where_found(conn, [first_name, new_name, phone, masked]) == set()
        redacted = conn.execute(text("SELECT document, SUM(fields) FROM document_redactions WHERE diner_id = :d "
                                     "GROUP BY document"), {"d": diner_id}).all()
        assert {doc for doc, n in redacted if n > 0} == {"day_close", "claim_revision"}
        assert conn.execute(text("SELECT COUNT(*) FROM vouchers WHERE diner_id = :d AND status = 'active'"),
                            {"d": diner_id}).scalar() == 0
        row = conn.execute(text("SELECT e.reason, u.username FROM diner_erasures e JOIN staff_users u "
                                "ON u.id = e.erased_by WHERE e.diner_id = :d"), {"d": diner_id}).first()
        assert tuple(row) == ("本人书面申请删除", "registrar")
        # Their pseudonymous grants are all still there, and the ledger verifies.
        assert _grants_of(conn, diner_id, key) == grants
        ok, lines = verify_all(session=s, canteen_ids=["YLW01", "JM01"])
        assert ok, lines
        assert _october_fen(conn) == claim["net_fen"]
        actions = conn.execute(text("SELECT action FROM audit_log WHERE target = :d"), {"d": diner_id}).scalars().all()
    assert {"diner_exported", "diner_erased", "diner_edited"} <= set(actions)
    assert actions.count("diner_exported") == 2  # the JSON and the PDF

    # The claim submitted before: the same document — the same figures, pseudonyms and
    # recorded SHA-256 — but for the masked ID beside the diner's pseudonym; it still adds
    # up to the fen, and says when it was redacted.
    after_doc = client.get(f"/api/v1/claims/{claim['id']}", headers=accountant).get_json()
    assert after_doc["claim"] == before_doc["claim"]
    assert [r["fields"] for r in after_doc["redactions"]] == [_count(before_doc["document"], pseudonym(key), masked)]
    assert after_doc["document"] == _redacted(before_doc["document"], pseudonym(key), masked)
    assert before_doc["redactions"] == []
    doc = after_doc["document"]
    assert doc["totals"]["net_fen"] == sum(x["amount_fen"] for x in doc["lines"]) == claim["net_fen"]
    # A claim built after the erasure still has their grants.
    assert _lines_of(app, key) == october_lines and october_lines
    r = app.test_cli_runner().invoke(cli, args=["verify"])
    assert r.exit_code == 0, r.output

    # A frozen document edited by hand is not mistaken for a redacted one.
    with _db(app).transaction() as s:
        s.connection().execute(text("UPDATE claim_revisions SET content_json = REPLACE(content_json, :a, :b) "
                                    "WHERE claim_id = :i"), {"a": '"revision":1', "b": '"revision":2', "i": claim["id"]})
    r = app.test_cli_runner().invoke(cli, args=["verify", "--canteen", "YLW01"])
    assert r.exit_code == 1 and f"the frozen claim revision {claim['id']} 1 was edited" in r.output, r.output

    # The erased diner's page says so; the export now holds the placeholders and the erasure.
    page = browser.get(f"/backoffice/diners/{diner_id}").get_data(as_text=True)
    assert "个人信息已于" in page and new_name not in page
    export = client.get(f"/api/v1/diners/{diner_id}/export", headers=registrar).get_json()
    assert export["erasure"]["reason"] == "本人书面申请删除" and export["diner"]["phone"] is None
    assert new_name not in str(export) and masked not in str(export)


def _register(app, n: int, years: int) -> str:
    settings = app.config["CANTEEN"]
    with _db(app).transaction() as s:
        registrar = s.execute(select(StaffUser).where(StaffUser.username == "registrar")).scalar_one()
        birth = date(2026 - years, 3, 3)
        return register_diner(session=s, id_key=settings.id_key, staff_id=registrar.id, community="云鹭湾社区",
                              name=f"测试{n}", id_number=demo_resident_id(n, birth), resident=True,
                              today=date(2026, 11, 30)).id


def test_purge_takes_only_what_is_past_the_retention(rights_app, monkeypatch):
    app, client = rights_app, rights_app.test_client()
    registrar = api_token(client, "registrar")
    old = _register(app, 81, 75)        # subsidised in October 2026 only
    never = _register(app, 82, 70)      # never subsidised
    _lunches(app, OCTOBER[:1], diners={old})
    with _db(app).session() as s:
        recent = s.connection().execute(text(  # a demo diner subsidised in the demo's November week
            "SELECT diner_id FROM subsidy_grants WHERE diner_id IS NOT NULL AND business_date >= :d "
            "ORDER BY diner_id LIMIT 1"), {"d": date(2026, 11, 1)}).scalar()
        old_grants = s.connection().execute(text("SELECT COUNT(*) FROM subsidy_grants WHERE diner_id = :d"),
                                            {"d": old}).scalar()
    assert old_grants == 1 and recent
    for diner_id in (old, never, recent):
        r = client.post(f"/api/v1/diners/{diner_id}/erase", json={"reason": "本人申请"}, headers=registrar)
        assert r.status_code == 200, r.get_json()

    # Ten years on (retention_years = 10): October 2026 is past it, November 2026 is not.
    monkeypatch.setenv("CANTEEN_NOW", "2036-11-15T10:00:00+08:00")
    runner = app.test_cli_runner()
    r = runner.invoke(cli, args=["diners", "purge", "--dry-run"])
    assert r.exit_code == 0, r.output
    assert old in r.output and never in r.output and recent not in r.output
    assert "would purge 2 erased diner(s); grants from 2026-11-01 on are kept" in r.output
    with _db(app).session() as s:
        assert s.connection().execute(text("SELECT COUNT(*) FROM diners WHERE id_hmac LIKE 'purged:%'")).scalar() == 0

    r = runner.invoke(cli, args=["diners", "purge"])
    assert r.exit_code == 0, r.output
    assert "purged 2 erased diner(s)" in r.output
    with _db(app).session() as s:
        conn = s.connection()
        keys = dict(conn.execute(text("SELECT id, id_hmac FROM diners WHERE id IN (:a, :b, :c)"),
                                 {"a": old, "b": never, "c": recent}).all())
        assert keys[old] == f"purged:{old}" and keys[never] == f"purged:{never}"
        assert not keys[recent].startswith("purged:")
        for gone in (old, never):
            for table in ("diner_changes", "vouchers"):
                assert conn.execute(text(f"SELECT COUNT(*) FROM {table} WHERE diner_id = :d"), {"d": gone}).scalar() == 0
        assert conn.execute(text("SELECT COUNT(*) FROM vouchers WHERE diner_id = :d"), {"d": recent}).scalar() > 0
        # The grants stay (the chain and the claims refer to them); the ledger verifies.
        assert conn.execute(text("SELECT COUNT(*) FROM subsidy_grants WHERE diner_id = :d"), {"d": old}).scalar() == 1
        ok, lines = verify_all(session=s, canteen_ids=["YLW01", "JM01"])
        assert ok, lines
        purged = conn.execute(text("SELECT detail FROM audit_log WHERE action = 'diners_purged'")).scalars().all()
    assert len(purged) == 1 and old in purged[0] and never in purged[0] and recent not in purged[0]
    r = runner.invoke(cli, args=["diners", "purge"])
    assert r.exit_code == 0 and "purged 0 erased diner(s)" in r.output
