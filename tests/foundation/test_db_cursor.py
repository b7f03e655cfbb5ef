"""Database.cursor() on a SQLite file: each thread keeps one driver connection between
calls (the sale path's reads and the group commit use it on every sale), a nested call
gets its own, nothing is left open between calls, and dispose hands every one back."""
from __future__ import annotations

import threading

import pytest

from pos.db import Database


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'c.db'}")
    with database.cursor() as fast:
        fast.execute("CREATE TABLE t (n INTEGER)")
    yield database
    database.dispose()


def _connection_of(fast):
    return fast.cursor.connection


def test_a_thread_keeps_its_connection_and_a_nested_call_gets_another(db):
    with db.cursor() as first:
        kept = _connection_of(first)
        with db.cursor() as nested:
            assert _connection_of(nested) is not kept
    with db.cursor() as again:
        assert _connection_of(again) is kept
    other = []

    def worker():
        with db.cursor() as fast:
            other.append(_connection_of(fast))

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert other[0] is not kept


def test_nothing_stays_open_between_calls(db):
    with db.cursor() as fast:
        fast.execute("INSERT INTO t VALUES (1)")
        fast.execute("INSERT INTO t VALUES (2)")
        fast.one("SELECT n FROM t ORDER BY n")  # a second row left unread
        kept = _connection_of(fast)
    with pytest.raises(RuntimeError):
        with db.cursor() as fast:
            fast.execute("BEGIN IMMEDIATE")
            fast.execute("INSERT INTO t VALUES (3)")
            raise RuntimeError("the caller fails before its COMMIT")
    assert not kept.in_transaction  # rolled back, not carried into the next request
    with db.cursor() as fast:
        assert [n for (n,) in fast.all("SELECT n FROM t ORDER BY n")] == [1, 2]
    # Another connection can write at once: no read or write transaction was left behind.
    with db.transaction() as s:
        s.connection().exec_driver_sql("INSERT INTO t VALUES (4)")


def test_dispose_returns_every_kept_connection(db):
    started, stop = threading.Event(), threading.Event()

    def worker():
        with db.cursor() as fast:
            fast.one("SELECT 1")
        started.set()
        stop.wait(10)

    t = threading.Thread(target=worker)
    t.start()
    started.wait(10)
    with db.cursor() as fast:
        fast.one("SELECT 1")
    assert db.engine.pool.checkedout() == 2  # this thread's and the worker's
    db.dispose()
    assert db.engine.pool.checkedout() == 0
    stop.set()
    t.join()


def test_a_finished_thread_gives_its_connection_back(db):
    before = db.engine.pool.checkedout()  # this thread's own (the fixture made the table)
    during = []

    def worker():
        with db.cursor() as fast:
            fast.one("SELECT 1")
        during.append(db.engine.pool.checkedout())

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert during == [before + 1]
    assert db.engine.pool.checkedout() == before
