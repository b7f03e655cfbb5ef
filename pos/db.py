"""Database engines and sessions.

SQLite: WAL, foreign keys on, synchronous=FULL, a busy timeout, and write transactions
that start with BEGIN IMMEDIATE (a deferred transaction that reads and then writes fails
with "database is locked" when two tills sell at once).  Write transactions also take a
writer lock shared by every thread and process using the file (:class:`WriterLock`), so a
waiting writer is woken the moment the previous one commits instead of polling in
SQLite's busy handler, which sleeps up to 100 ms between tries.  PostgreSQL via psycopg 3.

schema.sql is the source of truth; :func:`init_schema` runs it unchanged on both engines.
"""
from __future__ import annotations

import os
import re
import threading
import weakref
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

try:
    import fcntl
except ImportError:  # not POSIX: threads of one process still queue on the thread lock
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from pos.store.fastsql import Fast

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema.sql"
BUSY_TIMEOUT_MS = 10_000
_BEGIN = {"DEFERRED": "BEGIN DEFERRED", "IMMEDIATE": "BEGIN IMMEDIATE"}


class DatabaseExists(Exception):
    """init refused: the database already holds the canteen schema."""


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # Every server thread may hold a connection at once (a read while the group
            # commit writes); a smaller pool would close and reopen connections under load.
            kwargs.setdefault("pool_size", 20)
            kwargs.setdefault("max_overflow", 20)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
                               **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):
            # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # Straight to the driver: this runs for every transaction, and a statement
            # through SQLAlchemy's execution machinery costs several times more.
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.connection.driver_connection.execute(_BEGIN[mode])

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


class WriterLock:
    """One SQLite writer at a time across the threads and processes of one database file.

    A ``flock`` on a small file beside the database: the kernel queues the waiters and
    wakes the next one when the holder commits.  Re-entrant within a thread (a nested
    write transaction still meets SQLite's own lock, as before).  The file is opened
    again after a fork, because a lock taken through an inherited descriptor would be
    shared with the parent."""

    def __init__(self, path: str):
        self.path = path
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid = 0

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._thread_lock:
            if self._depth == 0:
                self._acquire()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._release()

    def _acquire(self) -> None:
        if fcntl is None:
            return
        if self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def _release(self) -> None:
        if fcntl is not None and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


def _sqlite_file(url: str) -> str | None:
    path = url.split("///", 1)[1] if "///" in url else ""
    path = path.split("?", 1)[0]
    return path if path and path != ":memory:" else None


class Database:
    """One engine per app; short sessions per request or per command."""

    def __init__(self, url: str, **engine_kwargs):
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.is_sqlite = url.startswith("sqlite")
        self._write_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        path = _sqlite_file(url) if self.is_sqlite else None
        self.writer_lock = WriterLock(path + ".writer-lock") if path else None
        # SQLite file: each thread keeps one driver connection for cursor() (see there).
        self._kept = threading.local() if path else None
        self._kept_all: "weakref.WeakSet[_KeptConnection]" = weakref.WeakSet()
        # Set by the app under `canteen serve` on a SQLite file: sales are recorded by the
        # writer process (pos.store.sale_writer.SaleWriterClient).
        self.sale_writer = None

    def session(self) -> Session:
        """A session for reading (deferred transaction on SQLite)."""
        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def cursor(self) -> Iterator["Fast"]:
        """A :class:`pos.store.fastsql.Fast` cursor on a pooled driver connection, outside
        any session and ORM, for the hot paths (sign-in by token, the sale).  No transaction
        is begun: on SQLite each statement stands alone and reads the latest commit, unless
        the caller sends BEGIN … COMMIT itself (the group commit does).  Anything that needs
        the ORM takes :meth:`session` or :meth:`transaction`."""
        from pos.store.fastsql import Fast

        kept = self._kept_connection()
        if kept is not None:
            # On a SQLite file each thread keeps its connection between calls: checking a
            # connection out of the pool and back in (with its reset) cost about a tenth of
            # a sale's time under the interpreter lock.  A fresh cursor per call, closed
            # after, leaves no statement (and so no read snapshot) open between requests.
            kept.busy = True
            cursor = kept.driver.cursor()
            try:
                yield Fast.on_cursor(cursor, sqlite=True, integrity_error=kept.integrity_error)
            finally:
                cursor.close()
                if kept.driver.in_transaction:  # a caller's BEGIN left open by an error
                    kept.driver.rollback()
                kept.busy = False
            return
        conn = self.engine.raw_connection()
        try:
            yield Fast.on_driver(conn.driver_connection, sqlite=self.is_sqlite,
                                 integrity_error=self.engine.dialect.loaded_dbapi.IntegrityError)
        finally:
            conn.close()

    def _kept_connection(self) -> "_KeptConnection | None":
        """This thread's kept connection, free for use; None to take one from the pool (not a
        SQLite file, or the thread's own connection is in use by an enclosing call)."""
        if self._kept is None:
            return None
        kept = getattr(self._kept, "connection", None)
        if kept is None or kept.pid != os.getpid():  # first use in this thread, or a forked child
            kept = self._kept.connection = _KeptConnection(self.engine)
            self._kept_all.add(kept)
        return None if kept.busy else kept

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: BEGIN IMMEDIATE on SQLite; commits on success, rolls back
        everything on any exception.  On a SQLite file the writer lock is held from
        before BEGIN until after COMMIT."""
        with self.writer_lock.held() if self.writer_lock is not None else nullcontext():
            with Session(self._write_engine, expire_on_commit=False) as session:
                with session.begin():
                    yield session

    def dispose(self) -> None:
        for kept in list(self._kept_all):
            if kept.pid == os.getpid() and not kept.busy:  # a busy one goes back when its thread ends
                kept.close()
        self._kept_all.clear()
        if self._kept is not None:
            self._kept = threading.local()
        self.engine.dispose()


class _KeptConnection:
    """A pooled connection one thread keeps for :meth:`Database.cursor`.  It goes back to
    the pool when the thread ends (the thread's locals are dropped) or at dispose."""

    def __init__(self, engine: Engine):
        self.pool_connection = engine.raw_connection()
        self.driver = self.pool_connection.driver_connection
        self.integrity_error = engine.dialect.loaded_dbapi.IntegrityError
        self.pid, self.busy = os.getpid(), False
        self._finalizer = weakref.finalize(self, self.pool_connection.close)

    def close(self) -> None:
        self._finalizer()


def schema_statements(sql: str | None = None) -> list[str]:
    """schema.sql split into statements (comments removed)."""
    sql = SCHEMA_PATH.read_text(encoding="utf-8") if sql is None else sql
    without_comments = "\n".join(re.sub(r"--.*$", "", line) for line in sql.splitlines())
    return [s.strip() for s in without_comments.split(";") if s.strip()]


def has_schema(engine: Engine) -> bool:
    return inspect(engine).has_table("schema_version")


def drop_all(engine: Engine) -> None:
    """Drop every table of the schema (used by `init --force` and tests)."""
    from sqlmodel import SQLModel

    import pos.models  # noqa: F401  (registers the tables)

    with engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(text(f'DROP TABLE IF EXISTS "{table.name}"' + ("" if engine.dialect.name == "sqlite" else " CASCADE")))


def init_schema(engine: Engine, *, force: bool = False) -> None:
    """Create the database from schema.sql.  Refuses an existing one unless ``force``."""
    if has_schema(engine):
        if not force:
            raise DatabaseExists("the database already holds the canteen schema; "
                                 "nothing was changed (use --force to erase it and start again)")
        drop_all(engine)
    with engine.begin() as conn:
        for stmt in schema_statements():
            conn.exec_driver_sql(stmt)
