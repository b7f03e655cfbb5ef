"""Plain DB-API statements for the sale path, inside the session's own transaction.

Recording a sale takes about fifteen statements.  Through SQLAlchemy Core each costs
~50 µs of Python; through the driver's cursor, a few µs — the difference between a till
server that keeps up with a lunch rush on a small machine and one that does not.  The
statements here are written once with ``:name`` parameters and adapted per engine:
PostgreSQL (psycopg) gets ``%(name)s`` and native values; SQLite gets values in the same
text forms SQLAlchemy stores (so ORM reads of these rows give back dates, datetimes and
booleans as usual).
"""
from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Iterable

from sqlalchemy import Table
from sqlmodel import Session

_PARAM = re.compile(r"(?<!:):([A-Za-z_][A-Za-z0-9_]*)")


@lru_cache(maxsize=256)
def _for_postgres(sql: str) -> str:
    return _PARAM.sub(r"%(\1)s", sql)


def _sqlite_value(v: Any) -> Any:
    t = type(v)
    if t is bool:
        return int(v)
    if t is datetime:
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if t is date:
        return v.isoformat()
    return v


@lru_cache(maxsize=64)
def insert_sql(table: Table) -> str:
    """``INSERT INTO t (every column) VALUES (:every column)``."""
    cols = [c.name for c in table.columns]
    return f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"


class Fast:
    """A cursor on the session's connection (same transaction, same savepoints).

    ``Fast(session)`` is cheap to call repeatedly: the cursor is kept on the session for
    as long as its transaction lasts (asking the session for its connection costs more
    than most statements here)."""

    __slots__ = ("sqlite", "cursor", "IntegrityError")

    def __new__(cls, session: "Session | Fast"):
        if type(session) is cls:  # already a cursor (the group commit's own transaction)
            return session
        tx = session.get_transaction()
        kept = session.info.get("fastsql")
        if kept is not None and tx is not None and kept[0] is tx:
            return kept[1]
        self = super().__new__(cls)
        conn = session.connection()
        self.sqlite = conn.dialect.name == "sqlite"
        self.cursor = conn.connection.dbapi_connection.cursor()
        self.IntegrityError = conn.dialect.loaded_dbapi.IntegrityError
        session.info["fastsql"] = (session.get_transaction(), self)
        return self

    @classmethod
    def on_driver(cls, dbapi_connection, *, sqlite: bool, integrity_error: type[Exception]) -> "Fast":
        """A cursor on a bare driver connection whose transaction the caller runs, if any
        (see :meth:`pos.db.Database.cursor`).  The sale path accepts it wherever it takes
        a session."""
        return cls.on_cursor(dbapi_connection.cursor(), sqlite=sqlite, integrity_error=integrity_error)

    @classmethod
    def on_cursor(cls, cursor, *, sqlite: bool, integrity_error: type[Exception]) -> "Fast":
        """A :class:`Fast` around a driver cursor the caller owns."""
        self = super().__new__(cls)
        self.sqlite, self.IntegrityError, self.cursor = sqlite, integrity_error, cursor
        return self

    def _params(self, params: dict) -> dict:
        return {k: _sqlite_value(v) for k, v in params.items()} if self.sqlite else params

    def execute(self, sql: str, params: dict | None = None):
        """Run one statement; returns the cursor (``fetchone``, ``rowcount``)."""
        self.cursor.execute(sql if self.sqlite else _for_postgres(sql), self._params(params or {}))
        return self.cursor

    def one(self, sql: str, params: dict | None = None) -> tuple | None:
        return self.execute(sql, params).fetchone()

    def scalar(self, sql: str, params: dict | None = None) -> Any:
        row = self.one(sql, params)
        return row[0] if row is not None else None

    def all(self, sql: str, params: dict | None = None) -> list[tuple]:
        return self.execute(sql, params).fetchall()

    def insert(self, table: Table, rows: dict | Iterable[dict]) -> None:
        """Insert one row (a dict of every column) or several."""
        sql = insert_sql(table)
        if isinstance(rows, dict):
            self.execute(sql, rows)
        else:
            self.cursor.executemany(sql if self.sqlite else _for_postgres(sql), [self._params(r) for r in rows])


def synced(session: Session) -> Fast:
    """``Fast(session)`` after flushing pending ORM changes, so a plain statement sees (and
    may refer to) rows the caller added through the ORM in the same transaction."""
    if type(session) is Fast:
        return session
    if session.new or session.dirty or session.deleted:
        session.flush()
    return Fast(session)
