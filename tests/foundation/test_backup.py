"""`canteen backup` and `canteen restore`, through the real `canteen` command, on SQLite and
PostgreSQL.

The rules: a backup taken while four tills sell over HTTP holds every sale acknowledged
before it started, no sale that was not acknowledged, and no gap (it is the database at
one moment); restored into a new database it verifies.  Sales go on while it runs.  A
restore refuses a database that holds the canteen schema unless --force, and with --force
the database is the backup again.  A backup never replaces a file without --force and a
failed one leaves no file behind; a file that is not a backup of this product, or one
newer than the code, is refused.  Each refusal is one line and exit status 1.
"""
from __future__ import annotations

import http.client
import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool

from pos.db import code_schema_version
from support import (PG_ADMIN_URL, LiveServer, _pg_admin, _pg_state, api_token, assert_one_line_refusal, pg_drop,
                     run_canteen as canteen)

ROOT = Path(__file__).resolve().parents[2]
TILLS = 4


# -- helpers --------------------------------------------------------------------------------------





def rows(url: str, sql: str, **params) -> list[tuple]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def sale_ids(url: str) -> set[str]:
    return {i for (i,) in rows(url, "SELECT id FROM sales")}


@pytest.fixture
def source(app) -> str:
    """The demo canteen's database (a fresh copy on each engine), its connections let go."""
    app.extensions["canteen_db"].dispose()
    return app.config["CANTEEN"].database_url


@pytest.fixture
def empty_url(source, tmp_path):
    """A new, empty database of the source's engine to restore into (on PostgreSQL a
    throwaway database of this test, dropped afterwards)."""
    if source.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"{_pg_state['name']}_restore_{uuid.uuid4().hex[:6]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    _pg_state.setdefault("extra", []).append(name)
    try:
        yield f"{PG_ADMIN_URL.rpartition('/')[0]}/{name}"
    finally:
        pg_drop(name)


def _sell_one(app) -> str:
    """One cash sale through the API (the shift opened if need be); its id."""
    client = app.test_client()
    headers = api_token(client, "cashier")
    client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=headers)
    item = next(i for i in client.get("/api/v1/menu", headers=headers).get_json()["items"] if not i["welfare_meal"])
    r = client.post("/api/v1/sales", json={"lines": [{"item_id": item["id"], "qty": 1}], "due_fen": item["price_fen"],
                                           "tender": {"method": "cash", "tendered_fen": item["price_fen"]}},
                    headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


# -- a backup while the tills sell ----------------------------------------------------------------

class Lane:
    """One till selling cash sales over its own keep-alive connection until told to stop;
    every request is logged with when it was sent and answered."""

    def __init__(self, port: int, headers: dict, body: dict):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Content-Type": "application/json", **headers}
        self.body = json.dumps(body).encode()
        self.log: list[tuple[float, float, int, dict]] = []  # (sent, answered, status, answer)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            sent = time.monotonic()
            self.conn.request("POST", "/api/v1/sales", body=self.body,
                              headers={**self.headers, "Idempotency-Key": str(uuid.uuid4())})
            r = self.conn.getresponse()
            answer = json.loads(r.read())
            self.log.append((sent, time.monotonic(), r.status, answer))
        self.conn.close()


def test_a_backup_taken_while_four_tills_sell_holds_every_acknowledged_sale_and_restores(app, source, empty_url,
                                                                                        tmp_path):
    if source.startswith("sqlite"):
        # Checkpoints held off, as a long read (a month's report) holds them off: the day's
        # sales are then only in the WAL, and a copy of the database file alone would miss them.
        event.listen(app.extensions["canteen_db"].engine, "connect",
                     lambda conn, _record: conn.execute("PRAGMA wal_autocheckpoint=0"))
    client = app.test_client()
    headers = [api_token(client, "cashier") for _ in range(TILLS)]
    assert client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=headers[0]).status_code == 201
    item = next(i for i in client.get("/api/v1/menu", headers=headers[0]).get_json()["items"]
                if not i["welfare_meal"])
    body = {"lines": [{"item_id": item["id"], "qty": 1}], "due_fen": item["price_fen"],
            "tender": {"method": "cash", "tendered_fen": item["price_fen"]}}
    history = sale_ids(source)
    out = tmp_path / "canteen-backup.db"

    server = LiveServer(app)
    stop = threading.Event()
    lanes = [Lane(server.port, h, body) for h in headers]
    threads = [threading.Thread(target=lane.run, args=(stop,)) for lane in lanes]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while sum(len(lane.log) for lane in lanes) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        started = time.monotonic()
        backup = canteen(source, tmp_path, "backup", "--out", str(out))
        finished = time.monotonic()
        time.sleep(0.3)  # a few sales more, sent after the backup finished
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        server.stop()
        app.extensions["canteen_db"].dispose()

    assert backup.returncode == 0, backup.stdout + backup.stderr
    assert "SQLite" in backup.stdout or "PostgreSQL" in backup.stdout
    assert f"schema version {code_schema_version()}" in backup.stdout
    if source.startswith("sqlite"):
        assert "the copy's ledger intact" in backup.stdout, backup.stdout
    assert out.is_file() and [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []

    log = [entry for lane in lanes for entry in lane.log]
    assert {status for _, _, status, _ in log} == {201}, [a for _, _, s, a in log if s != 201][:3]
    acknowledged = {answer["id"] for _, _, _, answer in log}
    before = {answer["id"] for _, answered, _, answer in log if answered < started}
    during = [answer["id"] for sent, answered, _, answer in log if started < sent and answered < finished]
    after = {answer["id"] for sent, _, _, answer in log if sent > finished}
    # The tills were not held up: sales were sent and answered while the backup ran.
    assert during, "no sale was answered while the backup ran"
    assert before and after

    r = canteen(empty_url, tmp_path, "restore", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ledger intact" in r.stdout, r.stdout
    r = canteen(empty_url, tmp_path, "verify")
    assert r.returncode == 0 and "ledger intact" in r.stdout, r.stdout + r.stderr

    copied = sale_ids(empty_url) - history
    assert history <= sale_ids(empty_url)
    assert before <= copied, f"{len(before - copied)} acknowledged sale(s) missing from the backup"
    assert copied <= acknowledged, "the backup holds a sale no till was answered for"
    assert not copied & after, "the backup holds sales sent after it finished"
    # One moment of the database: the copy's new receipts are the first ones, with no gap.
    receipts = {i: n for i, n in rows(source, "SELECT id, receipt_no FROM sales WHERE canteen_id = 'YLW01'")}
    last = max(receipts[i] for i in copied)
    assert copied == {i for i, n in receipts.items() if n <= last and i not in history}


# -- restoring over a database --------------------------------------------------------------------

def test_restore_refuses_an_existing_database_and_with_force_replaces_it(app, source, tmp_path):
    out = tmp_path / "before.backup"
    r = canteen(source, tmp_path, "backup", "--out", str(out))
    assert r.returncode == 0, r.stderr
    later = _sell_one(app)  # a row the backup does not have
    app.extensions["canteen_db"].dispose()
    held = sale_ids(source)
    assert later in held

    r = canteen(source, tmp_path, "restore", str(out))
    assert_one_line_refusal(r, "already holds", "--force")
    assert sale_ids(source) == held  # nothing changed

    r = canteen(source, tmp_path, "restore", str(out), "--force")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "in place of" in r.stdout and "ledger intact" in r.stdout, r.stdout
    assert sale_ids(source) == held - {later}
    r = canteen(source, tmp_path, "verify")
    assert r.returncode == 0, r.stdout + r.stderr
    if source.startswith("sqlite"):
        # SQLite folded the restore into the main file and took its WAL away with the last connection.
        path = Path(source.split("///", 1)[1])
        assert not Path(f"{path}-wal").exists() and not Path(f"{path}-shm").exists()


# -- refusals -------------------------------------------------------------------------------------

def test_backup_never_replaces_a_file_without_force(source, tmp_path):
    out = tmp_path / "nightly.backup"
    out.write_bytes(b"yesterday's backup")

    r = canteen(source, tmp_path, "backup", "--out", str(out))
    assert_one_line_refusal(r, "already exists", "--force")
    assert out.read_bytes() == b"yesterday's backup"

    r = canteen(source, tmp_path, "backup", "--out", str(out), "--force")
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() != b"yesterday's backup" and f"wrote {out}" in r.stdout
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_failed_backup_leaves_no_file(db_url, tmp_path):
    # The configured database holds no canteen schema: refused, and nothing is left in the folder.
    if db_url.startswith("sqlite"):
        sqlite3.connect(db_url.split("///", 1)[1]).close()
    out = tmp_path / "backups" / "c.backup"
    out.parent.mkdir()
    r = canteen(db_url, tmp_path, "backup", "--out", str(out))
    assert_one_line_refusal(r, "no canteen schema")
    assert list(out.parent.iterdir()) == []


def test_restore_refuses_files_that_are_not_backups_of_this_product(source, tmp_path):
    text_file = tmp_path / "notes.txt"
    text_file.write_text("菜单\n", encoding="utf-8")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE things (x)")
    conn.close()
    for path, words in [(text_file, ("not a canteen backup",)), (other, ("not a canteen backup",)),
                        (tmp_path / "missing.db", ("no file",))]:
        r = canteen(source, tmp_path, "restore", str(path), "--force")
        assert_one_line_refusal(r, str(path), *words)
    r = canteen(source, tmp_path, "verify")
    assert r.returncode == 0, r.stdout + r.stderr


def test_restore_refuses_a_backup_newer_than_the_code_and_one_of_the_other_engine(sqlite_app, tmp_path):
    url = sqlite_app.config["CANTEEN"].database_url
    sqlite_app.extensions["canteen_db"].dispose()
    newer = tmp_path / "newer.backup"
    assert canteen(url, tmp_path, "backup", "--out", str(newer)).returncode == 0
    with sqlite3.connect(newer) as conn:
        conn.execute("INSERT INTO schema_version (version, applied_at, description) "
                     "VALUES (99, CURRENT_TIMESTAMP, 'from the future')")
    conn.close()
    target = f"sqlite:///{tmp_path / 'empty.db'}"
    r = canteen(target, tmp_path, "restore", str(newer))
    assert_one_line_refusal(r, "newer", "99")
    assert not (tmp_path / "empty.db").exists()

    r = canteen("postgresql+psycopg://nobody@127.0.0.1:1/none", tmp_path, "restore", str(newer))
    assert_one_line_refusal(r, "SQLite backup", "PostgreSQL")
