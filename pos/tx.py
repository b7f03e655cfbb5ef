"""A transaction on one database connection, spoken to in plain SQL.

The sale path — recording a sale, quoting one, looking up a credential, signing in by
token — runs on every request of a lunch rush, so it talks to the driver's cursor
directly: each statement is written once, in full, where it is used, with ``:name``
parameters.  :class:`Tx` adapts that to the engine: PostgreSQL (psycopg) gets
``%(name)s`` and native values; SQLite gets values in the text forms SQLAlchemy stores
(dates as ISO text, booleans as 0/1), so ORM reads of the same rows agree.

A :class:`Tx` comes from :meth:`pos.db.Database.tx` (a connection of its own, committed
when the block ends) or from :meth:`Tx.of` (the transaction an ORM session is already
in, so a store function that speaks plain SQL can take part in it).
"""
from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Iterable

from sqlalchemy import Table
from sqlmodel import Session

_PARAM = re.compile(r"(?<!:):([A-Za-z_][A-Za-z0-9_]*)")


@lru_cache(maxsize=512)
def _for_postgres(sql: str) -> str:
    return _PARAM.sub(r"%(\1)s", sql)


@lru_cache(maxsize=64)
def insert_sql(table: Table) -> str:
    """``INSERT INTO t (every column) VALUES (:every column)``."""
    cols = [c.name for c in table.columns]
    return f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"


def _sqlite_value(v: Any) -> Any:
    t = type(v)
    if t is bool:
        return int(v)
    if t is datetime:
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if t is date:
        return v.isoformat()
    return v


class Tx:
    """Plain statements in one transaction (see the module docstring).

    ``IntegrityError`` is the driver's, for a caller that expects a constraint to refuse
    a row (the one-live-grant-per-diner index, a unique receipt number)."""

    __slots__ = ("cursor", "sqlite", "IntegrityError")

    def __init__(self, cursor, *, sqlite: bool, integrity_error: type[Exception]):
        self.cursor, self.sqlite, self.IntegrityError = cursor, sqlite, integrity_error

    @classmethod
    def of(cls, session: "Session | Tx") -> "Tx":
        """The transaction ``session`` is in (a Tx is its own).  Changes the session holds
        are flushed first, so plain statements see (and may refer to) rows added through
        the ORM."""
        if type(session) is cls:
            return session
        if session.new or session.dirty or session.deleted:
            session.flush()
        conn = session.connection()
        return cls(conn.connection.dbapi_connection.cursor(), sqlite=conn.dialect.name == "sqlite",
                   integrity_error=conn.dialect.loaded_dbapi.IntegrityError)

    def _params(self, params: dict) -> dict:
        return {k: _sqlite_value(v) for k, v in params.items()} if self.sqlite else params

    def execute(self, sql: str, params: dict | None = None):
        """Run one statement; returns the cursor (``fetchone``, ``rowcount``)."""
        self.cursor.execute(sql if self.sqlite else _for_postgres(sql), self._params(params or {}))
        return self.cursor

    def one(self, sql: str, params: dict | None = None) -> tuple | None:
        """The first row, or None."""
        return self.execute(sql, params).fetchone()

    def scalar(self, sql: str, params: dict | None = None) -> Any:
        """The first column of the first row, or None."""
        row = self.one(sql, params)
        return row[0] if row is not None else None

    def all(self, sql: str, params: dict | None = None) -> list[tuple]:
        return self.execute(sql, params).fetchall()

    def insert(self, table: Table, rows: dict | Iterable[dict]) -> None:
        """Insert one row (a dict of every column of ``table``) or several, in one statement."""
        if isinstance(rows, dict):
            self.execute(insert_sql(table), rows)
            return
        rows = list(rows)
        if not rows:
            return
        cols = [c.name for c in table.columns]
        values = ", ".join("(" + ", ".join(f":{c}_{n}" for c in cols) + ")" for n in range(len(rows)))
        params = {f"{c}_{n}": row[c] for n, row in enumerate(rows) for c in cols}
        self.execute(f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES {values}", params)

    def date(self, value: Any) -> date | None:
        """A DATE column's value: SQLite hands back the text it stored, PostgreSQL a date."""
        return date.fromisoformat(value) if isinstance(value, str) else value

    def datetime(self, value: Any) -> datetime | None:
        """A TIMESTAMP column's value (naive UTC): text from SQLite, a datetime from PostgreSQL."""
        return datetime.fromisoformat(value) if isinstance(value, str) else value
