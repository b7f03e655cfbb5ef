"""A writer that stops while it holds the database — another server process frozen with
SIGSTOP in the middle of recording a sale — does not hang the other tills: after
``app.write_wait_seconds`` their sales answer 503 "busy, try again" (Retry-After) with
nothing recorded, and after SIGCONT the till's retry with the same Idempotency-Key records
the sale exactly once.

On SQLite the wait is for the writer lock (or, without it, SQLite's busy timeout); on
PostgreSQL for the ledger head's row lock (``lock_timeout``).
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
import uuid

import pytest
from sqlalchemy import text

from support import api_token, cash_sale, cash_sale_body, make_settings

WAIT_S = 1
SLACK_S = 3.0  # a loaded test machine answers late; a hung sale would not answer at all


def _stuck_writer(url: str, ready, writer_lock: bool) -> None:
    """In another process: begin recording a sale — lock the canteen's ledger head in a
    write transaction — then stop until SIGCONT, and finish."""
    from pos.recording import open_database
    from pos.store import ledger

    db = open_database(url, writer_lock=writer_lock)
    with db.tx(write=True) as tx:
        ledger.open_chain(tx, canteen_id="YLW01")
        ready.set()
        os.kill(os.getpid(), signal.SIGSTOP)
    db.dispose()


def _freeze_a_writer(url: str, *, writer_lock: bool = True):
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    child = ctx.Process(target=_stuck_writer, args=(url, ready, writer_lock), daemon=True)
    child.start()
    assert ready.wait(30), "the other writer never began"
    deadline = time.time() + 10
    while not _stopped(child.pid):
        assert time.time() < deadline, "the other writer did not stop"
        time.sleep(0.02)
    return child


def _stopped(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rpartition(")")[2].split()[0] == "T"


def _thaw(child) -> None:
    os.kill(child.pid, signal.SIGCONT)
    child.join(30)
    assert child.exitcode == 0


def _sales(app) -> int:
    with app.extensions["canteen_db"].session() as s:
        return s.execute(text("SELECT COUNT(*) FROM sales")).scalar()


def _assert_busy(r) -> None:
    assert r.status_code == 503, r.get_json()
    assert r.get_json()["error"]["code"] == "database_busy"
    assert r.get_json()["error"]["message_zh"] == "数据库正忙，请稍后重试"
    assert r.headers["Retry-After"] == "2"


def _sales_within(app, headers: dict, body: dict, keys: list[str]) -> dict:
    """Send one sale per key at once, each from its own till; their answers, which must all
    come within the time limit."""
    answers: dict = {}

    def sell(k: str) -> None:
        answers[k] = cash_sale(app.test_client(), headers, k, body)

    threads = [threading.Thread(target=sell, args=(k,), daemon=True) for k in keys]
    for t in threads:
        t.start()
    deadline = time.monotonic() + WAIT_S + SLACK_S
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    assert set(answers) == set(keys), f"{len(keys) - len(answers)} sale(s) still waiting after {WAIT_S + SLACK_S} s"
    return answers


@pytest.fixture
def impatient(app, tmp_path):
    """The demo app again on the same database, waiting at most WAIT_S for another writer."""
    from pos import create_app

    settings = make_settings(app.config["CANTEEN"].database_url, tmp_path, write_wait_seconds=WAIT_S)
    impatient = create_app({"CANTEEN": settings, "TESTING": True})
    yield impatient
    impatient.extensions["canteen_db"].dispose()


def test_a_writer_stopped_mid_sale_makes_sales_answer_busy_within_the_limit_and_the_retry_records_once(impatient):
    client = impatient.test_client()
    h = api_token(client, "cashier")
    assert client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=h).status_code == 201
    body = cash_sale_body(client, h)
    before = _sales(impatient)
    child = _freeze_a_writer(impatient.config["CANTEEN"].database_url)
    try:
        key = str(uuid.uuid4())
        _assert_busy(_sales_within(impatient, h, body, [key])[key])
        # Tills waiting at once each give up within the limit too (not one after the other).
        keys = [str(uuid.uuid4()) for _ in range(3)]
        answers = _sales_within(impatient, h, body, keys)
        for k in keys:
            _assert_busy(answers[k])
        health = client.get("/healthz")
        assert health.status_code == 503 and health.get_json()["code"] == "database_busy"
        assert _sales(impatient) == before
    finally:
        _thaw(child)

    first = cash_sale(client, h, key, body)
    assert first.status_code == 201, first.get_json()
    again = cash_sale(client, h, key, body)
    assert again.get_json()["id"] == first.get_json()["id"]
    for k in keys:
        assert cash_sale(client, h, k, body).status_code == 201
    assert _sales(impatient) == before + 1 + len(keys)
    assert client.get("/healthz").status_code == 200


def test_without_the_writer_lock_sqlite_s_busy_timeout_answers_busy(sqlite_app, tmp_path, monkeypatch):
    import pos.db as dbmod
    from pos import create_app
    from pos.recording import open_database

    monkeypatch.setattr(dbmod, "BUSY_TIMEOUT_MS", 500)
    url = sqlite_app.config["CANTEEN"].database_url
    app = create_app({"CANTEEN": sqlite_app.config["CANTEEN"], "TESTING": True,
                      "DATABASE": open_database(url, writer_lock=False)})
    client = app.test_client()
    try:
        h = api_token(client, "cashier")
        assert client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=h).status_code == 201
        body = cash_sale_body(client, h)
        before = _sales(app)
        child = _freeze_a_writer(url, writer_lock=False)
        try:
            key = str(uuid.uuid4())
            _assert_busy(_sales_within(app, h, body, [key])[key])
            assert _sales(app) == before
        finally:
            _thaw(child)
        assert cash_sale(client, h, key, body).status_code == 201
        assert cash_sale(client, h, key, body).status_code == 201
        assert _sales(app) == before + 1
    finally:
        app.extensions["canteen_db"].dispose()
