"""SQLite writers take turns on the database's writer lock, across threads and processes.

Several server processes (`canteen serve --processes N`) write to one SQLite file.  A
writer waits on the lock beside the file (pos/recording/sqlite_writer_lock.py, wired by
pos.recording.open_database) and is woken when the one before it commits, however long
that takes, instead of polling in SQLite's busy handler and giving up with "database is
locked" when its timeout runs out.
"""
from __future__ import annotations

import multiprocessing
import threading
import time

import pytest
from sqlalchemy import text


def _hold_writer(url: str, ready, done, hold_s: float) -> None:
    """In another process: take a write transaction, say so, keep it for ``hold_s``, commit."""
    import pos.db as dbmod
    from pos.recording import open_database

    dbmod.BUSY_TIMEOUT_MS = 200
    db = open_database(url)
    with db.transaction() as s:
        s.execute(text("INSERT INTO probe (who, at) VALUES ('child', :t)"), {"t": time.time()})
        ready.set()
        time.sleep(hold_s)
        s.execute(text("UPDATE probe SET at = :t WHERE who = 'child'"), {"t": time.time()})
    done.set()
    db.dispose()


@pytest.fixture
def probe_db(tmp_path, monkeypatch):
    import pos.db as dbmod
    from pos.recording import open_database

    monkeypatch.setattr(dbmod, "BUSY_TIMEOUT_MS", 200)  # far shorter than the other writer holds on
    url = f"sqlite:///{tmp_path / 'probe.db'}"
    db = open_database(url)
    with db.transaction() as s:
        s.execute(text("CREATE TABLE probe (who TEXT, at REAL)"))
    yield url, db
    db.dispose()


def test_a_writer_in_another_process_waits_its_turn_past_the_busy_timeout(probe_db):
    url, db = probe_db
    ctx = multiprocessing.get_context("fork")
    ready, done = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_hold_writer, args=(url, ready, done, 1.0))
    child.start()
    try:
        assert ready.wait(30), "the other process never started its write"
        # The other process holds the writer five times longer than SQLite's busy timeout.
        with db.transaction() as s:
            got_turn = time.time()
            s.execute(text("INSERT INTO probe (who, at) VALUES ('parent', :t)"), {"t": got_turn})
        child.join(30)
        assert child.exitcode == 0
        with db.session() as s:
            committed = s.execute(text("SELECT at FROM probe WHERE who = 'child'")).scalar()
            rows = s.execute(text("SELECT COUNT(*) FROM probe")).scalar()
        assert done.is_set() and rows == 2
        assert got_turn >= committed, "this writer started before the other one committed"
    finally:
        if child.is_alive():
            child.kill()


def test_writers_in_threads_of_one_process_take_turns(probe_db):
    url, db = probe_db
    order: list[tuple[str, str]] = []
    inside = threading.Event()

    def first():
        with db.transaction() as s:
            order.append(("first", "in"))
            inside.set()
            time.sleep(0.5)  # longer than the busy timeout
            s.execute(text("INSERT INTO probe (who, at) VALUES ('first', 0)"))
            order.append(("first", "out"))

    t = threading.Thread(target=first)
    t.start()
    assert inside.wait(10)
    with db.transaction() as s:
        order.append(("second", "in"))
        s.execute(text("INSERT INTO probe (who, at) VALUES ('second', 0)"))
    t.join(10)
    assert order == [("first", "in"), ("first", "out"), ("second", "in")]


def test_a_nested_write_transaction_in_one_thread_does_not_deadlock_on_the_lock(probe_db):
    """The lock is re-entrant in a thread: the inner transaction meets SQLite's own lock
    (and its busy timeout), as it would without the writer lock, instead of hanging, and is
    refused as busy."""
    url, db = probe_db
    from pos.refusal import Refusal

    with db.transaction() as outer:
        outer.execute(text("INSERT INTO probe (who, at) VALUES ('outer', 0)"))
        with pytest.raises(Refusal) as refused:
            with db.transaction() as inner:
                inner.execute(text("INSERT INTO probe (who, at) VALUES ('inner', 0)"))
        assert refused.value.code == "database_busy"
        assert "database is locked" in str(refused.value.__cause__)
    with db.session() as s:
        assert s.execute(text("SELECT who FROM probe")).scalars().all() == ["outer"]
