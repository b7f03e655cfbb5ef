"""Database engines, sessions and transactions; the schema and its upgrades.

SQLite: WAL, foreign keys on, synchronous=FULL, a busy timeout, and write transactions
that start with BEGIN IMMEDIATE (a deferred transaction that reads and then writes fails
with "database is locked" when two tills sell at once).  When the app is wired with a
writer lock (:mod:`pos.recording.sqlite_writer_lock`), every write transaction holds it
from before BEGIN until after COMMIT.  PostgreSQL via psycopg 3.

Two ways in: :meth:`Database.session` / :meth:`Database.transaction` give a SQLModel
session (the registry, the back office, reports); :meth:`Database.tx` gives a
:class:`pos.tx.Tx` on one pooled connection (the sale path).  A reading ``tx`` runs
its statements without a transaction and a writing one ends with COMMIT, never a
ROLLBACK unless it failed: on PostgreSQL a ROLLBACK makes psycopg drop the connection's
prepared statements, which the sale path reuses from sale to sale.

Storage failures are refusals, decided here and nowhere else (:func:`storage_refusal`):
a full disk, a read-only file or folder, a disk I/O error, a file that cannot be opened
(``storage_unavailable``), a PostgreSQL server that cannot be reached
(``database_unavailable``), another writer holding the database past the time limit —
the writer lock, SQLite's busy timeout, PostgreSQL's ``lock_timeout``
(``database_busy``).  The transaction rolls back, so nothing is half-written, and the web
layer answers 503 with a Retry-After header.  :meth:`Database.write_problem` tells
``/healthz`` and ``canteen serve`` whether the database can be written now.

schema.sql is the source of truth for a new database (:func:`init_schema`); an existing
one is brought up to date by the numbered files in ``pos/migrations`` (:func:`upgrade_schema`).
"""
from __future__ import annotations

import errno
import logging
import re
import shutil
import threading
import time
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Protocol

from sqlalchemy import event, exc, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from pos.refusal import Refusal
from pos.tx import Tx

log = logging.getLogger(__name__)

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema.sql"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 10_000
PING_AFTER_IDLE_S = 10.0  # a pooled PostgreSQL connection idle longer than this is checked before use
_BEGIN = {"DEFERRED": "BEGIN DEFERRED", "IMMEDIATE": "BEGIN IMMEDIATE"}
REMEMBER_FAILURE_S = 60.0  # /healthz reports a failed write this long, unless a later write commits
MIN_FREE_BYTES = 1 << 20   # a SQLite database's disk with less free space than this counts as full


class DatabaseExists(Exception):
    """init refused: the database already holds the canteen schema."""


class SchemaError(Exception):
    """The database's schema version is not the one this code was written for."""


class WriterLock(Protocol):
    def held(self): ...


class WriterBusy(Exception):
    """Another writer held the database past the time limit (e.g. a server process
    stopped while it was writing)."""


# -- storage failures ----------------------------------------------------------------------------

STORAGE_UNAVAILABLE, DATABASE_UNAVAILABLE, DATABASE_BUSY = "storage_unavailable", "database_unavailable", "database_busy"
_WORDS = {
    STORAGE_UNAVAILABLE: ("数据库无法写入：磁盘已满或只读", "the database cannot be written: the disk is full or read-only"),
    DATABASE_UNAVAILABLE: ("数据库暂时无法连接，请稍后重试", "the database cannot be reached for now; try again in a moment"),
    DATABASE_BUSY: ("数据库正忙，请稍后重试", "the database is busy (another writer is holding it); try again in a moment"),
}
# SQLite's primary result codes (the low byte of an extended code).
_SQLITE_CODES = {13: STORAGE_UNAVAILABLE,  # SQLITE_FULL: database or disk is full
                 8: STORAGE_UNAVAILABLE,   # SQLITE_READONLY: attempt to write a readonly database
                 10: STORAGE_UNAVAILABLE,  # SQLITE_IOERR: disk I/O error
                 14: STORAGE_UNAVAILABLE,  # SQLITE_CANTOPEN: unable to open database file
                 5: DATABASE_BUSY}         # SQLITE_BUSY: database is locked (the busy timeout ran out)
_SQLITE_WORDS = {"database or disk is full": STORAGE_UNAVAILABLE, "readonly database": STORAGE_UNAVAILABLE,
                 "disk i/o error": STORAGE_UNAVAILABLE, "unable to open database file": STORAGE_UNAVAILABLE,
                 "database is locked": DATABASE_BUSY}
# PostgreSQL's SQLSTATEs: disk full, I/O error, a read-only transaction (a standby, or
# default_transaction_read_only); the server going away or refusing connections; a lock
# or statement waited past its time limit.
_PG_STATES = {"53100": STORAGE_UNAVAILABLE, "58030": STORAGE_UNAVAILABLE, "25006": STORAGE_UNAVAILABLE,
              "53300": DATABASE_UNAVAILABLE, "57P01": DATABASE_UNAVAILABLE, "57P02": DATABASE_UNAVAILABLE,
              "57P03": DATABASE_UNAVAILABLE, "55P03": DATABASE_BUSY, "57014": DATABASE_BUSY}
# The operating system refusing the files beside the database (the writer lock's).
_OS_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}


def storage_refusal(error: BaseException) -> Refusal | None:
    """The refusal a storage failure is answered with, or None when ``error`` is something
    else (a constraint, a bug), which stays what it is."""
    code = _storage_code(error)
    return None if code is None else Refusal(code, *_WORDS[code])


def _storage_code(error: BaseException) -> str | None:
    if isinstance(error, WriterBusy):
        return DATABASE_BUSY
    if isinstance(error, exc.TimeoutError):  # no pooled connection came free in time
        return DATABASE_BUSY
    if isinstance(error, exc.DBAPIError):
        if error.orig is None:
            return DATABASE_UNAVAILABLE if error.connection_invalidated else None
        code = _storage_code(error.orig)
        return code or (DATABASE_UNAVAILABLE if error.connection_invalidated else None)
    if isinstance(error, OSError):
        return STORAGE_UNAVAILABLE if error.errno in _OS_ERRORS else None
    module = type(error).__module__
    if module.startswith("sqlite3"):
        number = getattr(error, "sqlite_errorcode", None)
        if number is not None:
            return _SQLITE_CODES.get(number & 0xFF)
        words = str(error).lower()
        return next((code for phrase, code in _SQLITE_WORDS.items() if phrase in words), None)
    if module.startswith("psycopg"):
        state = getattr(error, "sqlstate", None) or ""
        if state.startswith("08"):
            return DATABASE_UNAVAILABLE
        if state in _PG_STATES:
            return _PG_STATES[state]
        # No SQLSTATE: the connection failed or was lost (refused, closed, server gone).
        if not state and type(error).__name__ == "OperationalError":
            return DATABASE_UNAVAILABLE
    return None


def driver_words(error: BaseException) -> str:
    """The driver's own first line about a failure, for the log (never the statement or
    its parameters)."""
    orig = error.orig if isinstance(error, exc.DBAPIError) and error.orig is not None else error
    first = (str(orig).strip().splitlines() or [""])[0]
    return f"{type(orig).__name__}: {first}"[:300]


def sqlite_file(url: str) -> str | None:
    """The file of a ``sqlite:///`` URL, or None (not SQLite, or in memory)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    path = path.split("?", 1)[0]
    if path.startswith("file:"):  # a URI filename (``?uri=true``, e.g. ``mode=ro``): the file it names
        path = path[len("file:"):]
        path = "/" + path.lstrip("/") if path.startswith("/") else path
    return path if path and path != ":memory:" else None


def make_engine(url: str, *, lock_timeout_s: float | None = None, **kwargs) -> Engine:
    """The engine for ``url``.  ``lock_timeout_s``: on PostgreSQL, a statement that waits
    longer than this for a lock another connection holds fails (and is answered "busy")."""
    # Statement parameters hold personal data (a diner's name, phone): neither SQLAlchemy's
    # statement log nor the text of a database error, which a failed request logs, shows them.
    kwargs["hide_parameters"] = True
    if url.startswith("sqlite"):
        path = sqlite_file(url)
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # Every server thread may hold a connection at once (a read while another
            # thread writes); a smaller pool would close and reopen connections under load.
            kwargs.setdefault("pool_size", 20)
            kwargs.setdefault("max_overflow", 20)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
                               **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):
            # Transactions are begun explicitly (pysqlite's own BEGIN would be deferred).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.connection.driver_connection.execute(_BEGIN[mode])

        _drop_connection_on_storage_failure(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    if lock_timeout_s is not None:
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args["options"] = (connect_args.get("options", "") + f" -c lock_timeout={int(lock_timeout_s * 1000)}").strip()
        kwargs["connect_args"] = connect_args
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine)
    _drop_connection_on_storage_failure(engine)
    return engine


def _drop_connection_on_storage_failure(engine: Engine) -> None:
    """A connection that met a storage failure is closed rather than pooled again: one
    opened while the file was read-only stays read-only after the file is mended."""

    @event.listens_for(engine, "handle_error")
    def _storage_failure(context):
        refusal = storage_refusal(context.original_exception)
        if refusal is not None and refusal.code != DATABASE_BUSY:
            context.is_disconnect = True
            context.invalidate_pool_on_disconnect = False


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it has been idle a while (a server
    restart shows there), instead of a round trip before every use."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, _proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            with dbapi_conn.cursor() as cur:
                cur.execute("SELECT 1")
            dbapi_conn.commit()
        except Exception as e:  # noqa: BLE001 - any failure: the pool opens a fresh connection
            raise exc.DisconnectionError() from e


class _ReadSession(Session):
    """A session for reading.  When it closes with nothing changed in it, its transaction
    ends with COMMIT rather than ROLLBACK: on PostgreSQL a ROLLBACK makes psycopg drop the
    connection's prepared statements, which the sale path reuses from sale to sale."""

    def close(self) -> None:
        if self.in_transaction() and not (self.new or self.dirty or self.deleted):
            try:
                self.commit()
            except Exception:  # noqa: BLE001 - a failed transaction: close() rolls it back
                pass
        super().close()


class Database:
    """One engine per app; short sessions or transactions per request or command."""

    def __init__(self, url: str, *, writer_lock: WriterLock | None = None, lock_timeout_s: float | None = None,
                 **engine_kwargs):
        self.url = url
        self.engine = make_engine(url, lock_timeout_s=lock_timeout_s, **engine_kwargs)
        self.is_sqlite = url.startswith("sqlite")
        self.writer_lock = writer_lock
        self._write_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._integrity_error = self.engine.dialect.loaded_dbapi.IntegrityError
        self._held = threading.local()
        self._failed_write: tuple[float, Refusal] | None = None  # (when, why) of the last storage failure

    def session(self) -> Session:
        """A session for reading (deferred transaction on SQLite)."""
        return _ReadSession(self.engine, expire_on_commit=False)

    def _lock(self):
        return self.writer_lock.held() if self.writer_lock is not None else nullcontext()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction with a session: BEGIN IMMEDIATE on SQLite; commits on
        success, rolls back everything on any exception (a storage failure becomes its
        refusal, see :func:`storage_refusal`)."""
        with self._storage_failures(write=True), self._lock():
            with Session(self._write_engine, expire_on_commit=False) as session:
                with session.begin():
                    yield session

    @contextmanager
    def _storage_failures(self, *, write: bool) -> Iterator[None]:
        """Raise a storage failure in the block as its refusal; a write that commits
        clears the one remembered."""
        try:
            yield
        except Refusal:
            raise
        except Exception as e:
            refusal = self.refusal_for(e)
            if refusal is None:
                raise
            raise refusal from e
        if write:
            self._failed_write = None

    def refusal_for(self, error: BaseException) -> Refusal | None:
        """:func:`storage_refusal` of ``error``; a failure to write is logged (the driver's
        words) and remembered for :meth:`write_problem`."""
        refusal = storage_refusal(error)
        if refusal is not None:
            if not getattr(self._held, "probing", False):
                log.warning("%s (%s)", refusal.en, driver_words(error))
            self._failed_write = (time.monotonic(), refusal)
        return refusal

    def write_problem(self) -> Refusal | None:
        """Why the database cannot be written now, or None: a write failed on storage or
        waited past the time limit in the last minute (and none has committed since); the
        disk of a SQLite file is full; or a write transaction that changes nothing cannot
        begin — read-only, unreachable, or another writer holding it past the time limit."""
        failed = self._failed_write
        if failed is not None and time.monotonic() - failed[0] < REMEMBER_FAILURE_S:
            return failed[1]
        path = sqlite_file(self.url)
        if path:
            try:
                free = shutil.disk_usage(Path(path).parent).free
            except OSError:
                free = None
            if free is not None and free < MIN_FREE_BYTES:
                refusal = storage_refusal(OSError(errno.ENOSPC, "disk full"))
                refusal.__cause__ = OSError(errno.ENOSPC, f"{free} bytes free on the disk holding {path}")
                return refusal
        self._held.probing = True  # the answer says why; the log need not
        try:
            with self.tx(write=True) as tx:
                # Refused on a read-only database though it matches no row; writes nothing.
                tx.execute("UPDATE schema_version SET version = version WHERE version < 0")
        except Refusal as refusal:
            return refusal
        except Exception:  # noqa: BLE001 - not a storage failure (no schema yet): say nothing of it here
            return None
        finally:
            self._held.probing = False
        return None

    def hold_connection(self) -> None:
        """From now until :meth:`release_connection`, this thread's transactions (``tx``)
        share one pooled connection, taken at the first: a request signs in and records
        its sale on one connection, not one each."""
        self._held.pooled, self._held.busy, self._held.active = None, False, True

    def release_connection(self) -> None:
        """Give the held connection back to the pool (see :meth:`hold_connection`)."""
        pooled = getattr(self._held, "pooled", None)
        self._held.pooled, self._held.busy, self._held.active = None, False, False
        if pooled is not None:
            pooled.close()

    def _checkout(self):
        """A pooled connection for one ``tx``, and whether it is the held one."""
        if getattr(self._held, "active", False) and not self._held.busy:
            if self._held.pooled is None:
                self._held.pooled = self.engine.raw_connection()
            self._held.busy = True
            return self._held.pooled, True
        return self.engine.raw_connection(), False

    @contextmanager
    def tx(self, *, write: bool = False) -> Iterator[Tx]:
        """A :class:`Tx` on one pooled connection.  ``write``: one transaction (BEGIN
        IMMEDIATE on SQLite, under the writer lock when there is one), committed when the
        block ends and rolled back on any exception.  Without ``write`` the statements run
        on their own, with no transaction to begin or end: each sees what is committed when
        it runs, as in a READ COMMITTED transaction."""
        with self._storage_failures(write=write), self._lock() if write else nullcontext():
            pooled, held = self._checkout()
            driver = pooled.driver_connection
            broken = False
            try:
                if not write and not self.is_sqlite:
                    driver.autocommit = True  # SQLite connections are in autocommit already
                cursor = driver.cursor()
                if write and self.is_sqlite:
                    cursor.execute("BEGIN IMMEDIATE")  # psycopg begins by itself
                try:
                    yield Tx(cursor, sqlite=self.is_sqlite, integrity_error=self._integrity_error)
                    if write and self.is_sqlite:
                        cursor.execute("COMMIT")
                    elif write:
                        driver.commit()
                except BaseException:
                    if write and not _roll_back(driver, sqlite=self.is_sqlite):
                        broken = True
                    raise
                cursor.close()
            except BaseException as e:
                refusal = storage_refusal(e)
                broken = broken or (refusal is not None and refusal.code != DATABASE_BUSY)
                raise
            finally:
                if held:
                    self._held.busy = False
                if broken:
                    # Closed, not pooled again (see _drop_connection_on_storage_failure).
                    pooled.invalidate()
                    if held:
                        self._held.pooled = None
                else:
                    if not write and not self.is_sqlite:
                        driver.autocommit = False
                    if not held:
                        pooled.close()

    def dispose(self) -> None:
        self.engine.dispose()


def _roll_back(driver, *, sqlite: bool) -> bool:
    """Roll back a failed write transaction (a failed COMMIT may have ended it already);
    False when the connection could not even do that."""
    try:
        if not sqlite:
            driver.rollback()
        elif driver.in_transaction:
            driver.execute("ROLLBACK")
    except Exception:  # noqa: BLE001 - the first failure is the one to report
        return False
    return True


# -- the schema ----------------------------------------------------------------------------------

def schema_statements(sql: str | None = None) -> list[str]:
    """schema.sql (or ``sql``) split into statements, comments removed."""
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


ENGINE_SUFFIXES = ("sqlite", "postgresql")


def migrations(dialect: str | None = None) -> list[tuple[int, str, list[Path]]]:
    """The upgrade files ``pos/migrations/NNNN_what.sql`` as (version, description, files),
    in order.  A change one engine makes differently (SQLite cannot alter a constraint)
    goes in ``NNNN_what.<dialect>.sql`` beside the shared file and runs after it; files
    for other engines are left out."""
    found: dict[int, tuple[str, list[Path]]] = {}
    for path in sorted(MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        number, _, name = path.stem.partition("_")
        name, _, engine = name.partition(".")
        if engine and engine != dialect:
            if engine not in ENGINE_SUFFIXES:
                raise SchemaError(f"{path.name}: unknown engine {engine!r}")
            continue
        description, files = found.setdefault(int(number), (name.replace("_", " "), []))
        files.append(path)
    return [(v, d, sorted(files, key=lambda p: p.name.count("."))) for v, (d, files) in sorted(found.items())]


def code_schema_version() -> int:
    """The schema version this code expects: schema.sql's, which is the last upgrade's."""
    versions = [int(v) for v in re.findall(r"VALUES \((\d+), CURRENT_TIMESTAMP",
                                           SCHEMA_PATH.read_text(encoding="utf-8"))]
    return max(versions)


def database_schema_version(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT MAX(version) FROM schema_version")).scalar() or 0


def check_schema_version(engine: Engine) -> None:
    """Refuse (SchemaError, one line) a database older or newer than this code."""
    found, expected = database_schema_version(engine), code_schema_version()
    if found < expected:
        raise SchemaError(f"the database is at schema version {found}, this release needs {expected}: "
                          f"run `canteen upgrade` first (back the database up before)")
    if found > expected:
        raise SchemaError(f"the database is at schema version {found}, newer than this release "
                          f"({expected}): run the release that wrote it")


def upgrade_schema(engine: Engine) -> list[int]:
    """Apply the upgrade files newer than the database's version, in order, in one
    transaction; returns the versions applied (empty when already current).  The version
    is read inside that transaction, under a lock, so two upgrades started at once run one
    after the other and the second finds nothing to do."""
    expected = code_schema_version()
    sqlite = engine.dialect.name == "sqlite"
    with engine.execution_options(sqlite_begin="IMMEDIATE").begin() as conn:
        if not sqlite:
            conn.execute(text("SET LOCAL lock_timeout = 0"))  # an upgrade waits for the one before it, however long
            conn.execute(text("LOCK TABLE schema_version IN EXCLUSIVE MODE"))
        current = conn.execute(text("SELECT MAX(version) FROM schema_version")).scalar() or 0
        if current > expected:
            raise SchemaError(f"the database is at schema version {current}, newer than this release "
                              f"({expected}): run the release that wrote it")
        pending = [(v, name, files) for v, name, files in migrations(engine.dialect.name) if v > current]
        for version, name, files in pending:
            for path in files:
                for stmt in schema_statements(path.read_text(encoding="utf-8")):
                    conn.exec_driver_sql(stmt)
            conn.execute(text("INSERT INTO schema_version (version, applied_at, description) VALUES (:v, :at, :d)"),
                         {"v": version, "at": datetime.now(timezone.utc).replace(tzinfo=None), "d": name})
    return [v for v, _, _ in pending]
