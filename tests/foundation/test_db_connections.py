"""How the sale path uses its database connections: a request holds one, and on
PostgreSQL the statements a connection has prepared survive the reads done on it."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from pos.db import Database
from support import pg_url_or_skip


@pytest.fixture
def one_connection():
    """A PostgreSQL database whose pool holds a single connection, so every use is the
    same one (prepared statements are PostgreSQL's: psycopg prepares after a fifth use)."""
    database = Database(pg_url_or_skip(), pool_size=1, max_overflow=0)
    yield database
    database.dispose()


def _prepared(database: Database) -> int:
    with database.tx() as tx:
        return tx.scalar("SELECT COUNT(*) FROM pg_prepared_statements")


@pytest.mark.parametrize("read_with", ["session", "tx"])
def test_reading_does_not_throw_away_the_prepared_statements(one_connection, read_with):
    db = one_connection
    for n in range(8):  # used often enough to be prepared
        with db.tx(write=True) as tx:
            tx.scalar("SELECT :n + 1", {"n": n})
    assert _prepared(db) >= 1
    if read_with == "session":
        with db.session() as s:
            s.execute(text("SELECT 1")).scalar()
    else:
        with db.tx() as tx:
            tx.scalar("SELECT 1")
    assert _prepared(db) >= 1, "a read ended in ROLLBACK, and psycopg dropped the prepared statements"


def test_a_request_holds_one_connection_for_all_its_transactions(db_url):
    database = Database(db_url)
    try:
        database.hold_connection()
        with database.tx() as tx:
            first = tx.cursor.connection
        with database.tx(write=True) as tx:
            assert tx.cursor.connection is first
            with database.tx() as inner:  # a transaction inside another gets a connection of its own
                assert inner.cursor.connection is not first
        database.release_connection()
        with database.tx() as tx:  # released: the next one comes from the pool again
            assert database._held.pooled is None
    finally:
        database.dispose()
