"""Recording a sale through the app's recorder: what the till is answered — sales,
replays, refusals with their reasons and new quotes, vouchers, ID numbers and one-time
tickets — on both engines; and how the recorder is wired."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text


def _count(app, sql: str, **params) -> int:
    with app.extensions["canteen_db"].session() as s:
        return s.execute(text(sql), params).scalar()


def test_sales_answer_replays_and_refusals(app, till, seniors, workers, voucher_for):
    from pos.store import vouchers

    paid = till.sell([{"item_id": till.item(name="荤素套餐")["id"], "qty": 1}])
    assert paid.status_code == 201 and paid.get_json()["subsidy"]["kind"] is None
    assert paid.get_json()["subsidy"]["code"] == "no_credential"  # why no subsidy, kept with the sale
    # A scanned voucher: ¥3 off.
    url = voucher_for(seniors[0])
    lines = [{"item_id": till.item(name="荤素套餐")["id"], "qty": 1}]
    key = str(uuid.uuid4())
    first = till.sell(lines, {"scan": url}, due_fen=1300, key=key)
    assert first.status_code == 201 and first.get_json()["subsidy"]["amount_fen"] == 300
    # The same key and body: the first answer, byte for byte; another body: refused.
    assert till.sell(lines, {"scan": url}, due_fen=1300, key=key).get_data() == first.get_data()
    other = till.sell(lines, {"id_number": seniors[1]}, due_fen=1300, key=key)
    assert other.status_code == 422 and other.get_json()["error"]["code"] == "idempotency_key_reused"
    # A till still showing the discount for a second meal is told the new price, with the
    # new quote and its reason.
    again = till.sell(lines, {"id_number": seniors[0]}, due_fen=1300)
    body = again.get_json()
    assert again.status_code == 409 and body["error"]["code"] == "price_changed"
    assert body["quote"]["due_fen"] == 1600 and "今日已享受过补贴餐" in body["quote"]["subsidy"]["reason"]
    # A retry of the recorded sale still gets its first answer after the voucher is revoked;
    # a new sale with it is refused.
    voucher_id = _count(app, "SELECT id FROM vouchers WHERE status = 'active' ORDER BY issued_at DESC LIMIT 1")
    with app.extensions["canteen_db"].transaction() as s:
        vouchers.revoke_voucher(session=s, voucher_id=voucher_id)
    assert till.sell(lines, {"scan": url}, due_fen=1300, key=key).get_data() == first.get_data()
    revoked = till.sell(lines, {"scan": url}, due_fen=1300)
    assert revoked.status_code == 422 and revoked.get_json()["error"]["code"] == "voucher_revoked"
    # The free welfare meal claims today's counter.
    free = till.sell([{"item_id": till.welfare["id"], "qty": 1}], {"id_number": workers[0]})
    assert free.status_code == 201 and free.get_json()["due_fen"] == 0
    quota = till.client.get("/api/v1/quota/today", headers=till.headers).get_json()
    assert quota["free_meals"]["used"] == 1
    assert _count(app, "SELECT COUNT(*) FROM sales WHERE id IN (:a, :b, :c)", a=paid.get_json()["id"],
                  b=first.get_json()["id"], c=free.get_json()["id"]) == 3


def test_a_one_time_ticket_is_spent_once(app, client, till):
    from pos.clock import business_date

    from support import api_token

    day = business_date(app.config["CANTEEN"].default_canteen.timezone)
    r = client.post("/api/v1/tickets", json={"business_date": day.isoformat(), "count": 1},
                    headers=api_token(client, "registrar"))
    assert r.status_code == 201, r.get_json()
    ticket = r.get_json()["tickets"][0]
    welfare = [{"item_id": till.welfare["id"], "qty": 1}]
    first = till.sell(welfare, {"scan": ticket["url"]}, due_fen=0)
    assert first.status_code == 201 and first.get_json()["credential_kind"] == "ticket"
    again = till.sell(welfare, {"scan": ticket["code"]}, due_fen=0)
    assert again.status_code == 409 and again.get_json()["quote"]["subsidy_fen"] == 0  # nothing recorded


@pytest.mark.parametrize("no_lock", ["", "1"])
def test_the_app_records_with_the_plain_recorder_and_the_sqlite_writer_lock_unless_told(tmp_path, monkeypatch,
                                                                                       no_lock):
    from pos import create_app
    from pos.recording import PlainRecorder
    from pos.recording.sqlite_writer_lock import WriterLock

    from support import make_settings

    monkeypatch.setenv("CANTEEN_NO_WRITER_LOCK", no_lock)
    app = create_app({"CANTEEN": make_settings(f"sqlite:///{tmp_path / 'c.db'}", tmp_path), "TESTING": True})
    recorder, db = app.extensions["canteen_recorder"], app.extensions["canteen_db"]
    assert isinstance(recorder, PlainRecorder) and recorder.database is db
    assert isinstance(db.writer_lock, WriterLock) if not no_lock else db.writer_lock is None
    db.dispose()


def test_a_sale_takes_one_connection_from_the_pool(app, till):
    """Signing the request in and recording the sale share one pooled connection (the
    request holds it), instead of taking one for each."""
    from sqlalchemy import event

    engine = app.extensions["canteen_db"].engine
    checkouts = []
    listener = lambda *_args: checkouts.append(1)  # noqa: E731
    event.listen(engine, "checkout", listener)
    try:
        sold = till.sell([{"item_id": till.item(name="荤素套餐")["id"], "qty": 1}], due_fen=1600)
    finally:
        event.remove(engine, "checkout", listener)
    assert sold.status_code == 201, sold.get_json()
    assert len(checkouts) == 1
