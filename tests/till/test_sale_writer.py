"""The sale writer process (`canteen serve` on SQLite): server threads prepare a sale and
the writer records it.  The answers are the same as when a server process records the
sale itself — sales, replays, refusals with their reasons and new quotes, vouchers,
ID numbers and one-time tickets — a peer without the key is refused and a silent one
holds up nobody, and a writer that dies and restarts costs the till a retry, never a
second sale."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
import threading
import time
import uuid
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client
from pathlib import Path

import pytest
from sqlalchemy import text

from pos.demo import DEMO_PASSWORD_SUFFIX
from support import ServedProcesses, api_token, copy_sqlite

sqlite_only = pytest.mark.parametrize("app", ["sqlite"], indirect=True)  # the writer serves SQLite files


class _Writer:
    """A writer serving a test's database in a thread of this process."""

    def __init__(self, app, address: str, key: bytes):
        from pos.store import sale_writer

        self.address, self.key, self.stop = address, key, threading.Event()
        self.thread = threading.Thread(target=sale_writer.serve,
                                       args=(address, key, app.config["CANTEEN"], self.stop), daemon=True)
        self.thread.start()

    def halt(self) -> None:
        self.stop.set()
        self.thread.join(5)


@pytest.fixture
def writer(app):
    """A writer for this test's database; the app's sales go to it."""
    from pos.store import sale_writer

    address, key = sale_writer.new_address()
    running = [_Writer(app, address, key)]
    db = app.extensions["canteen_db"]
    db.sale_writer = sale_writer.SaleWriterClient(address, key)
    yield address, key, running
    db.sale_writer = None
    for w in running:
        w.halt()
    shutil.rmtree(os.path.dirname(address), ignore_errors=True)


def _count(app, sql: str, **params) -> int:
    with app.extensions["canteen_db"].session() as s:
        return s.execute(text(sql), params).scalar()


@sqlite_only
def test_sales_recorded_by_the_writer_answer_as_the_server_would(app, writer, till, seniors, workers, voucher_for):
    from pos.store import vouchers

    paid = till.sell([{"item_id": till.item(name="荤素套餐")["id"], "qty": 1}])
    assert paid.status_code == 201 and paid.get_json()["subsidy"]["kind"] is None
    # A scanned voucher (resolved through the ORM before the writer is asked): ¥3 off.
    url = voucher_for(seniors[0])
    lines = [{"item_id": till.item(name="荤素套餐")["id"], "qty": 1}]
    key = str(uuid.uuid4())
    first = till.sell(lines, {"scan": url}, due_fen=1300, key=key)
    assert first.status_code == 201 and first.get_json()["subsidy"]["amount_fen"] == 300
    # The same key and body: the first answer, byte for byte; another body: refused.
    assert till.sell(lines, {"scan": url}, due_fen=1300, key=key).get_data() == first.get_data()
    other = till.sell(lines, {"id_number": seniors[1]}, due_fen=1300, key=key)
    assert other.status_code == 422 and other.get_json()["error"]["code"] == "idempotency_key_reused"
    # A refusal decided in the writer comes back whole: a till still showing the discount
    # for a second meal is told the new price, with the new quote and its reason.
    again = till.sell(lines, {"id_number": seniors[0]}, due_fen=1300)
    body = again.get_json()
    assert again.status_code == 409 and body["error"]["code"] == "price_changed"
    assert body["quote"]["due_fen"] == 1600 and "今日已享受过补贴餐" in body["quote"]["subsidy"]["reason"]
    # A refusal found before the writer (a revoked voucher) still comes after the replay.
    voucher_id = _count(app, "SELECT id FROM vouchers WHERE status = 'active' ORDER BY issued_at DESC LIMIT 1")
    with app.extensions["canteen_db"].transaction() as s:
        vouchers.revoke_voucher(session=s, voucher_id=voucher_id)
    assert till.sell(lines, {"scan": url}, due_fen=1300, key=key).get_data() == first.get_data()
    revoked = till.sell(lines, {"scan": url}, due_fen=1300)
    assert revoked.status_code == 422 and revoked.get_json()["error"]["code"] == "voucher_revoked"
    # The free welfare meal claims today's counter in the writer.
    free = till.sell([{"item_id": till.welfare["id"], "qty": 1}], {"id_number": workers[0]})
    assert free.status_code == 201 and free.get_json()["due_fen"] == 0 and free.get_json()["free_meals"]["used"] == 1
    assert _count(app, "SELECT COUNT(*) FROM sales WHERE id IN (:a, :b, :c)", a=paid.get_json()["id"],
                  b=first.get_json()["id"], c=free.get_json()["id"]) == 3


@sqlite_only
def test_with_the_writer_stopped_a_sale_is_a_503_and_its_retry_records_it_once(app, writer, till, monkeypatch):
    """The sales really go to the writer: with it stopped, the till is told to try again
    (nothing recorded); the retry with the same key, once a writer is back, records one sale."""
    from pos.store import sale_writer

    address, key, running = writer
    lines = [{"item_id": till.item(name="荤素套餐")["id"], "qty": 1}]
    assert till.sell(lines).status_code == 201
    before = _count(app, "SELECT COUNT(*) FROM sales")
    running[0].halt()
    monkeypatch.setattr(sale_writer, "RECONNECT_SECONDS", 0.3)
    sale_key = str(uuid.uuid4())
    refused = till.sell(lines, key=sale_key)
    assert refused.status_code == 503 and refused.get_json()["error"]["code"] == "recorder_unavailable"
    assert _count(app, "SELECT COUNT(*) FROM sales") == before
    running.append(_Writer(app, address, key))
    retried = till.sell(lines, key=sale_key)
    assert retried.status_code == 201
    assert till.sell(lines, key=sale_key).get_data() == retried.get_data()
    assert _count(app, "SELECT COUNT(*) FROM sales") == before + 1


@sqlite_only
def test_a_one_time_ticket_is_spent_once_through_the_writer(app, writer, client, till):
    from pos.clock import business_date

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


@sqlite_only
def test_a_peer_without_the_key_is_refused_and_the_writer_carries_on(app, writer, till):
    address = writer[0]
    assert os.stat(os.path.dirname(address)).st_mode & 0o077 == 0  # only the server's user may enter
    with pytest.raises(AuthenticationError):
        Client(address, family="AF_UNIX", authkey=os.urandom(32))
    with socket.socket(socket.AF_UNIX) as silent:  # a peer that connects and says nothing
        silent.connect(address)
        with socket.socket(socket.AF_UNIX) as hangs_up:
            hangs_up.connect(address)
    assert till.sell([{"item_id": till.item(name="荤素套餐")["id"], "qty": 1}]).status_code == 201


def _writer_pid(server_pid: int) -> int:
    """The `canteen serve` child listening on that server's sale writer socket (its
    directory's name carries the server's process id)."""
    name = os.path.join(tempfile.gettempdir(), f"canteen-sale-writer-{server_pid}-")
    inodes = {int(f[6]) for f in (line.split() for line in Path("/proc/net/unix").read_text().splitlines()[1:])
              if len(f) > 7 and f[7].startswith(name)}
    children = [c for task in Path(f"/proc/{server_pid}/task").iterdir()
                for c in (task / "children").read_text().split()]
    for child in children:
        for fd in Path(f"/proc/{child}/fd").iterdir():
            try:
                link = os.readlink(fd)
            except OSError:
                continue
            if link.startswith("socket:[") and int(link[8:-1]) in inodes:
                return int(child)
    raise LookupError(f"no sale writer among the children {children} of {server_pid}")


def test_a_writer_killed_mid_service_costs_a_retry_not_a_second_sale(tmp_path, demo_templates):
    import http.client
    import json

    target = tmp_path / "canteen.db"
    copy_sqlite(Path(demo_templates("sqlite")), target)
    served = ServedProcesses(f"sqlite:///{target}", tmp_path, processes=2, server="granian")
    try:
        conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)

        def call(method, path, body=None, headers=None):
            conn.request(method, path, body=json.dumps(body) if body is not None else None,
                         headers={"Content-Type": "application/json", **(headers or {})})
            r = conn.getresponse()
            return r.status, json.loads(r.read())

        status, token = call("POST", "/api/v1/auth/token", {"username": "cashier", "password": "cashier" + DEMO_PASSWORD_SUFFIX})
        assert status in (200, 201), token
        auth = {"Authorization": f"Bearer {token['token']}"}
        status, shift = call("POST", "/api/v1/shifts", {"opening_float_fen": 0}, auth)
        assert status == 201, shift
        item = next(i for i in call("GET", "/api/v1/menu", headers=auth)[1]["items"] if not i["welfare_meal"])
        sale = {"lines": [{"item_id": item["id"], "qty": 1}], "due_fen": item["price_fen"],
                "tender": {"method": "cash", "tendered_fen": item["price_fen"]}}

        def sell(key):
            return call("POST", "/api/v1/sales", sale, {**auth, "Idempotency-Key": key})

        assert sell(str(uuid.uuid4()))[0] == 201
        first = _writer_pid(served.proc.pid)
        os.kill(first, signal.SIGKILL)
        key = str(uuid.uuid4())
        status, answer = sell(key)  # waits for the restarted writer
        assert status == 201, answer
        assert sell(key) == (201, answer)
        deadline = time.time() + 10
        while _writer_pid(served.proc.pid) == first and time.time() < deadline:
            time.sleep(0.1)
        assert _writer_pid(served.proc.pid) != first
    finally:
        served.stop()
    import sqlite3

    db = sqlite3.connect(target)
    try:
        assert db.execute("SELECT COUNT(*) FROM sales WHERE shift_id = ?", (shift["id"],)).fetchone()[0] == 2
        assert db.execute("SELECT COUNT(*) FROM idempotency_keys WHERE key = ?", (key,)).fetchone()[0] == 1
    finally:
        db.close()
