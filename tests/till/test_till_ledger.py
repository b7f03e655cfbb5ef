"""The per-canteen hash chain: every sale, line, grant and void is linked to the one
before it, and verify_chain finds an edited, removed or mislabelled row."""
from __future__ import annotations

from sqlalchemy import text

from pos.store.ledger import GENESIS, verify_chain


def _verify(app, canteen="YLW01"):
    with app.extensions["canteen_db"].session() as s:
        return verify_chain(session=s, canteen_id=canteen)


def _exec(app, sql: str, **params):
    with app.extensions["canteen_db"].transaction() as s:
        s.execute(text(sql), params)


def _sell_three(till, seniors, client):
    lines = [{"item_id": till.welfare["id"], "qty": 1}]
    a = till.sell(lines).get_json()
    b = till.sell(lines, {"id_number": seniors[0]}).get_json()
    c = till.sell(lines).get_json()
    client.post(f"/api/v1/sales/{c['id']}/void", headers=till.headers,
                json={"reason": "test", "supervisor": "supervisor", "pin": "1234"})
    return a, b, c


def test_sales_lines_grants_and_voids_form_one_chain(app, client, till, seniors):
    _sell_three(till, seniors, client)
    with app.extensions["canteen_db"].session() as s:
        total = sum(s.execute(text(f"SELECT COUNT(*) FROM {t} WHERE canteen_id = 'YLW01'")).scalar()
                    for t in ("sales", "sale_lines", "subsidy_grants", "voids", "corrections"))
        head = s.execute(text("SELECT chain_seq, chain_head FROM canteens WHERE id = 'YLW01'")).one()
        first = s.execute(text("SELECT prev_hash FROM sales WHERE canteen_id = 'YLW01' AND chain_seq = 1")).scalar()
    result = _verify(app)
    assert result.ok and result.first_broken is None
    assert result.rows_checked == total == head[0]
    assert first == GENESIS and len(head[1]) == 64


def test_an_edited_line_breaks_the_chain_at_that_row(app, client, till, seniors):
    a, _, _ = _sell_three(till, seniors, client)
    _exec(app, "UPDATE sale_lines SET name = '红烧肉' WHERE sale_id = :s", s=a["id"])
    result = _verify(app)
    assert not result.ok
    assert result.first_broken.table == "sale_lines" and "row_hash" in result.first_broken.problem


def test_a_removed_grant_leaves_a_gap(app, client, till, seniors):
    _, b, _ = _sell_three(till, seniors, client)
    _exec(app, "DELETE FROM subsidy_grants WHERE sale_id = :s", s=b["id"])
    result = _verify(app)
    assert not result.ok and "gap" in result.first_broken.problem


def test_a_sale_marked_voided_without_a_void_row_is_found(app, client, till, seniors):
    a, _, _ = _sell_three(till, seniors, client)
    _exec(app, "UPDATE sales SET status = 'voided' WHERE id = :s", s=a["id"])
    result = _verify(app)
    assert not result.ok
    assert result.first_broken.table == "sales" and result.first_broken.id == a["id"]
    assert "voids" in result.first_broken.problem


def test_a_grant_revived_after_its_void_is_found(app, client, till, seniors):
    lines = [{"item_id": till.welfare["id"], "qty": 1}]
    sale = till.sell(lines, {"id_number": seniors[1]}).get_json()
    client.post(f"/api/v1/sales/{sale['id']}/void", headers=till.headers,
                json={"reason": "test", "supervisor": "supervisor", "pin": "1234"})
    assert _verify(app).ok  # the void flipped the flags, which are outside the hash
    _exec(app, "UPDATE subsidy_grants SET voided = FALSE WHERE sale_id = :s", s=sale["id"])
    result = _verify(app)
    assert not result.ok and result.first_broken.table == "subsidy_grants"


def test_each_canteen_has_its_own_chain(app, client, till):
    from support import api_token

    jm = api_token(client, "jm-cashier")
    client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=jm)
    item = client.get("/api/v1/menu", headers=jm).get_json()["items"][0]
    import uuid

    r = client.post("/api/v1/sales", headers={**jm, "Idempotency-Key": str(uuid.uuid4())},
                    json={"lines": [{"item_id": item["id"], "qty": 1}], "due_fen": item["price_fen"],
                          "tender": {"method": "wechat"}})
    assert r.status_code == 201
    till.sell([{"item_id": till.welfare["id"], "qty": 1}])
    assert _verify(app, "YLW01").ok and _verify(app, "JM01").ok
    assert not _verify(app, "NOPE").ok
