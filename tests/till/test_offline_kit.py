"""The offline kit (GET /api/v1/till/offline-kit), on SQLite and PostgreSQL: what a
registered till needs to sell offline today, and nothing that identifies a person — no
full name, resident ID number, pseudonym or date of birth; a revoked or superseded voucher
is absent, so its scan is refused offline too."""
from __future__ import annotations

import json
from datetime import time

import pytest

from pos.store.offline_kit import match_hash
from pos.store.tokens import token_in
from subsidies import wire
from subsidies.age import age_on
from subsidies.engine import Counters, Order, OrderLine, decide
from till.conftest import register
from till.device_helpers import device_headers, register_device, today


@pytest.fixture
def device(client):
    return register_device(client)


@pytest.fixture
def on_device(till, device):
    return device_headers(till.headers, device)


def kit(client, headers) -> dict:
    r = client.get("/api/v1/till/offline-kit", headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def entitlement(found: dict, scan: str) -> dict | None:
    """What the till finds for a scan: the hash of the token in the URL."""
    wanted = match_hash(token_in(scan) or scan)
    return next((e for e in found["entitlements"] if wanted in e["match"]), None)


def test_the_kit_holds_the_menu_the_policy_the_entitlements_and_the_lease(app, client, till, on_device):
    lease = client.post("/api/v1/devices/lease", headers=on_device).get_json()
    found = kit(client, on_device)
    assert found["canteen"] == "YLW01" and found["business_date"] == today(app).isoformat()
    assert found["expires_at"] > found["generated_at"]
    assert {m["id"] for m in found["menu"]} == {m["id"] for m in till.menu}
    assert found["lease"]["lease_id"] == lease["lease_id"] and found["lease"]["outstanding"] == lease["outstanding"]
    assert found["entitlements"], "the demo diners' vouchers"
    for e in found["entitlements"]:
        assert set(e) == {"match", "kind", "masked_name", "band_zh", "band_en", "diner", "facts", "counters"}
        assert e["kind"] in ("voucher", "ticket") and len(e["match"]) == 2


def test_the_kits_policy_round_trips_through_wire_and_is_the_one_in_force(app, client, on_device):
    found = kit(client, on_device)
    policy = wire.policy_from_json(found["policy"])
    assert policy == app.config["CANTEEN"].policy.in_force(today(app))


def test_no_full_name_id_number_pseudonym_or_birth_date_leaves_in_the_kit(app, client, on_device):
    from sqlalchemy import text

    body = json.dumps(kit(client, on_device), ensure_ascii=False)
    with app.extensions["canteen_db"].session() as s:
        diners = s.execute(text("SELECT name, id_hmac, birth_date, id_masked FROM diners")).all()
    assert diners
    for name, id_hmac, birth, _masked in diners:
        assert name not in body
        assert id_hmac not in body and id_hmac[:10] not in body
        assert str(birth)[:10] not in body  # a stand-in birth date only: the tier's age today


def test_the_stand_in_birth_date_gives_the_servers_decision_today(app, client, till, on_device, voucher_for):
    eighty = register(app, n=1, years=85, worker_category=None, seq_base=900)
    url = voucher_for(eighty[0])
    e = entitlement(kit(client, on_device), url)
    facts = wire.diner_from_json(e["facts"])
    assert age_on(facts.birth_date, today(app)) == 80  # the tier reached, not the diner's age
    item = till.item(welfare=False)
    order = Order((OrderLine(item["id"], item["name"], item["price_fen"], 1, False),))
    offline = decide(policy=wire.policy_from_json(kit(client, on_device)["policy"]), diner=facts, order=order,
                     business_date=today(app), local_time=time(12), counters=Counters())
    assert (offline.kind, offline.amount_fen) == ("age_tier", 700)


def test_a_revoked_or_superseded_voucher_is_absent_and_the_diner_ref_is_one_per_diner(
        app, client, till, on_device, voucher_for):
    from pos.store import vouchers

    seniors = register(app, n=2, years=70, worker_category=None, seq_base=800)
    first = voucher_for(seniors[0])
    second = voucher_for(seniors[0])  # a new card: the first is superseded
    revoked = voucher_for(seniors[1])
    with app.extensions["canteen_db"].transaction() as s:
        vouchers.revoke_voucher(session=s, voucher_id=_voucher_id(app, revoked))
    found = kit(client, on_device)
    assert entitlement(found, first) is None
    assert entitlement(found, revoked) is None
    assert entitlement(found, second) is not None
    # A diner has one live voucher: each ref is one diner's, the same in every kit of the
    # day, and not their pseudonym.
    refs = [e["diner"] for e in found["entitlements"] if e["kind"] == "voucher"]
    assert len(set(refs)) == len(refs)
    assert entitlement(found, second)["diner"] == entitlement(kit(client, on_device), second)["diner"]


def _voucher_id(app, url: str) -> str:
    from pos.store.tokens import open_token

    return open_token(secret_key=app.config["CANTEEN"].secret_key, token=token_in(url)).row_id


def test_the_short_code_finds_the_same_entitlement(app, client, on_device, voucher_for):
    from sqlalchemy import text

    seniors = register(app, n=1, years=70, worker_category=None, seq_base=800)
    url = voucher_for(seniors[0])
    with app.extensions["canteen_db"].session() as s:
        code = s.execute(text("SELECT code FROM vouchers WHERE id = :i"), {"i": _voucher_id(app, url)}).scalar()
    found = kit(client, on_device)
    assert entitlement(found, url) is next(e for e in found["entitlements"] if match_hash("code:" + code) in e["match"])


def test_the_kit_needs_the_device_header(client, till):
    r = client.get("/api/v1/till/offline-kit", headers=till.headers)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "device_required"
