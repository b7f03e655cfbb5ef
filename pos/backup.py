"""Backing the database up to one file, and putting such a file back (`canteen backup`,
`canteen restore`).

SQLite: the copy is made with SQLite's online backup API from a read-only connection,
in one step.  The live database is in WAL mode, where a reader never blocks a writer, so
the tills go on selling while the copy is read; the copy is the database as it stood
when the step began (its snapshot), nothing half-written.  One step, not many small ones:
SQLite starts a stepwise backup over whenever another connection writes between two
steps, which at a lunch rush is after every sale.  The copy is switched to a plain
rollback journal, so the backup is one self-contained file.

PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot, taken without blocking
writers) and ``pg_restore --single-transaction``.

A backup is written under a temporary name beside the file asked for and renamed at the
end, so a failed backup never leaves a half file under that name.  Every refusal is a
:class:`BackupError` with a one-line message, and refusing changes nothing.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Generic, TypeVar

from sqlalchemy import create_engine, exc, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from pos.db import BUSY_TIMEOUT_MS, code_schema_version, sqlite_file
from pos.recording.sqlite_writer_lock import WriterLock

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_ARCHIVE_MAGIC = b"PGDMP"  # the first bytes of a pg_dump custom-format archive
SQLITE, POSTGRESQL = "SQLite", "PostgreSQL"
T = TypeVar("T")


class BackupError(Exception):
    """A backup or restore refused or failed; the message is one line an operator can act on."""


@dataclass(frozen=True)
class Written(Generic[T]):
    """A backup file in place: its size, engine, schema version and what the check of the
    copy found (SQLite only; None without a check)."""
    path: Path
    size: int
    engine: str
    schema_version: int
    checked: T | None = None


@dataclass(frozen=True)
class Restored:
    """A backup put in place of the configured database."""
    source: Path
    engine: str
    schema_version: int
    replaced: bool  # the configured database held tables, which the backup replaced


# -- backup ---------------------------------------------------------------------------------------

def backup(url: str, out: Path, *, force: bool = False, check: Callable[[Engine], T] | None = None) -> Written[T]:
    """Write a backup of the database at ``url`` to ``out``.  Refuses an existing ``out``
    unless ``force``.  On SQLite, ``check`` is called with a read-only engine on the copy
    before it is renamed into place, and its answer is kept in :attr:`Written.checked`."""
    out = Path(out)
    _refuse_existing(out, force)
    if not out.parent.is_dir():
        raise BackupError(f"the folder {out.parent} does not exist")
    engine = _engine_name(url)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if engine == SQLITE:
            version = _sqlite_backup(_sqlite_path(url), tmp)
            checked = None
            if check is not None:
                copy = _read_only_engine(tmp)
                try:
                    checked = check(copy)
                finally:
                    copy.dispose()
        else:
            _pg_dump(url, tmp)
            version, checked = _archive_schema_version(tmp), None
        _fsync(tmp)
        _refuse_existing(out, force)  # made meanwhile by someone else
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync(out.parent)
    return Written(path=out, size=out.stat().st_size, engine=engine, schema_version=version, checked=checked)


def _refuse_existing(out: Path, force: bool) -> None:
    if out.is_dir():
        raise BackupError(f"{out} is a folder; name the backup file to write")
    if out.exists() and not force:
        raise BackupError(f"{out} already exists; nothing was written (use --force to replace it)")


def _sqlite_backup(path: Path, tmp: Path) -> int:
    if not path.is_file():
        raise BackupError(f"there is no database at {path}; nothing to back up")
    with closing(_open_read_only(path, live=True)) as source, \
            closing(sqlite3.connect(tmp, isolation_level=None)) as copy:
        if _sqlite_schema_version(source) is None:
            raise BackupError(f"the database {path} holds no canteen schema; nothing to back up")
        try:
            source.backup(copy)  # pages=-1: one step, one snapshot (see the module docstring)
            copy.execute("PRAGMA journal_mode=DELETE")
            return _sqlite_schema_version(copy)  # the copy's own, from the same snapshot
        except sqlite3.Error as e:
            raise BackupError(f"copying {path} failed: {_first_line(e)}") from None


def _read_only_engine(path: Path) -> Engine:
    return create_engine(f"sqlite:///{_read_only_uri(path)}&uri=true", poolclass=NullPool)


# -- restore --------------------------------------------------------------------------------------

def backup_schema_version(path: Path) -> tuple[str, int]:
    """What a backup file is — (engine, schema version) — or a BackupError saying why it is
    not a backup of this product."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"there is no file {path}")
    with path.open("rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        try:
            with closing(_open_read_only(path)) as conn:
                version = _sqlite_schema_version(conn)
        except sqlite3.DatabaseError as e:
            raise BackupError(f"{path} is not a readable SQLite database: {_first_line(e)}") from None
        if version is None:
            raise BackupError(f"{path} is a SQLite database but not a canteen backup (no schema version in it)")
        return SQLITE, version
    if head.startswith(PG_ARCHIVE_MAGIC):
        return POSTGRESQL, _archive_schema_version(path)
    raise BackupError(f"{path} is not a canteen backup (neither a SQLite database nor a pg_dump custom archive)")


def restore(url: str, source: Path, *, force: bool = False) -> Restored:
    """Put the backup ``source`` in place of the database at ``url``.  Refuses a database
    that already holds tables unless ``force``, a file that is not a backup of this
    product, one of the other engine, and one newer than this code."""
    source = Path(source)
    engine = _engine_name(url)
    kind, version = backup_schema_version(source)
    if kind != engine:
        raise BackupError(f"{source} is a {kind} backup, but the configured database is {engine}; "
                          f"restore it into a {kind} database")
    if version > code_schema_version():
        raise BackupError(f"{source} is at schema version {version}, newer than this release "
                          f"({code_schema_version()}): restore it with the release that wrote it")
    if engine == SQLITE:
        replaced = _sqlite_restore(source, _sqlite_path(url), force=force)
    else:
        replaced = _pg_restore(url, source, force=force)
    return Restored(source=source, engine=engine, schema_version=version, replaced=replaced)


def _sqlite_restore(source: Path, target: Path, *, force: bool) -> bool:
    if target.exists():
        try:
            with closing(_open_read_only(target, live=True)) as conn:
                tables = _sqlite_tables(conn)
        except sqlite3.DatabaseError as e:
            raise BackupError(f"{target} is not a SQLite database ({_first_line(e)}); move it away first") from None
        if tables and not force:
            raise BackupError(f"the configured database {target} already holds {_holding(tables)}; "
                              f"nothing was changed (use --force to replace it with the backup)")
    else:
        tables = []
        target.parent.mkdir(parents=True, exist_ok=True)
        # A -wal, -shm or -journal file left beside a database that is gone would be read
        # into the new file as if it were its own: they belong to no live database, so go.
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
    # Through SQLite, not a file copy: the target may be open in WAL mode, and its WAL and
    # its readers must see one change, committed in one step.  Servers with the writer lock
    # wait for the restore in turn rather than in SQLite's busy handler.
    try:
        with WriterLock(f"{target}.writer-lock").held(), closing(_open_read_only(source)) as src, \
                closing(sqlite3.connect(target, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)) as dst:
            dst.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            if (dst.execute("PRAGMA page_size").fetchone() != src.execute("PRAGMA page_size").fetchone()
                    and dst.execute("PRAGMA journal_mode").fetchone()[0] == "wal"):
                # SQLite cannot change a WAL database's page size; the app turns WAL on again.
                dst.execute("PRAGMA journal_mode=DELETE")
            src.backup(dst)
            if dst.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                # Into the main file; SQLite removes the -wal and -shm itself when the
                # last connection closes (a server still connected keeps using them).
                dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as e:
        raise BackupError(f"restoring {source} into {target} failed: {_first_line(e)}") from None
    return bool(tables)


# -- SQLite helpers -------------------------------------------------------------------------------

def _sqlite_path(url: str) -> Path:
    path = sqlite_file(url)
    if path is None:
        raise BackupError("the configured SQLite database is not a file (in memory); there is nothing to back up")
    return Path(path)


def _read_only_uri(path: Path, *, live: bool = False) -> str:
    """A read-only SQLite URI for ``path``.  A backup file (not ``live``) with no -wal
    beside it is opened as immutable: nothing can be missed, and no -wal or -shm is left
    beside it.  A live database is read with locks, as other connections write to it."""
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    return uri if live or Path(f"{path}-wal").exists() else uri + "&immutable=1"


def _open_read_only(path: Path, *, live: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(_read_only_uri(path, live=live), uri=True, isolation_level=None,
                           timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    return [name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def _sqlite_schema_version(conn: sqlite3.Connection) -> int | None:
    """The database's schema version, or None when it holds no canteen schema."""
    if "schema_version" not in _sqlite_tables(conn):
        return None
    version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    return None if version is None else int(version)


def _holding(tables: list[str]) -> str:
    return "the canteen schema" if "schema_version" in tables else f"{len(tables)} table(s) ({', '.join(tables[:3])}…)"


# -- PostgreSQL helpers ---------------------------------------------------------------------------

def _engine_name(url: str) -> str:
    if url.startswith("sqlite"):
        return SQLITE
    if url.startswith("postgresql"):
        return POSTGRESQL
    raise BackupError(f"cannot back up or restore a database of this kind: {url.split('://')[0]}")


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not on PATH; install the PostgreSQL client tools "
                          f"(Debian package postgresql-client) of the server's version or newer")
    return found


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The libpq connection URI of a SQLAlchemy URL, and the environment for the tools
    (the password travels in PGPASSWORD, not on a command line others can read)."""
    parsed = make_url(url)
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(tool: str, args: list[str], env: dict[str, str] | None = None) -> str:
    """Run a PostgreSQL client tool; its standard output, or a BackupError with the first
    line of what it said."""
    done = subprocess.run([_tool(tool), *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        said = [line for line in done.stderr.splitlines() if line.strip()]
        first = next((line for line in said if "error" in line.lower()), said[0] if said else "no message")
        raise BackupError(f"{tool} failed: {first.strip()}")
    return done.stdout


def _pg_dump(url: str, tmp: Path) -> None:
    uri, env = _libpq(url)
    pg = _pg_engine(url)
    try:
        with pg.connect() as conn:
            if not conn.execute(text("SELECT to_regclass('schema_version') IS NOT NULL")).scalar():
                raise BackupError(f"the database {_where(url)} holds no canteen schema; nothing to back up")
    finally:
        pg.dispose()
    _run("pg_dump", ["--format=custom", "--no-password", f"--file={tmp}", f"--dbname={uri}"], env)


def _archive_schema_version(path: Path) -> int:
    """The highest schema version in a pg_dump custom archive's schema_version data."""
    if not any(name.rpartition(".")[2] == "schema_version" for name in _archive_tables(path)):
        raise BackupError(f"{path} is a pg_dump archive but not a canteen backup (no schema_version table)")
    data = _run("pg_restore", ["--data-only", "--table=schema_version", "--file=-", str(path)])
    versions, copying = [], False
    for line in data.splitlines():
        if line.startswith("COPY ") and "schema_version" in line:
            copying = True
        elif copying and line == "\\.":
            copying = False
        elif copying and line:
            versions.append(int(line.split("\t", 1)[0]))
    if not versions:
        raise BackupError(f"{path} is a pg_dump archive but not a canteen backup (no schema version in it)")
    return max(versions)


def _archive_tables(path: Path) -> set[str]:
    """The tables a pg_dump custom archive creates (``pg_restore --list``: "id; oid oid TABLE schema name owner")."""
    tables = set()
    for line in _run("pg_restore", ["--list", str(path)]).splitlines():
        parts = line.split()
        if not line.startswith(";") and len(parts) >= 6 and parts[3] == "TABLE" and parts[4] != "DATA":
            tables.add(f"{parts[4]}.{parts[5]}")
    return tables


def _pg_engine(url: str) -> Engine:
    return create_engine(url, poolclass=NullPool)


def _where(url: str) -> str:
    return url.split("@")[-1]


def _pg_restore(url: str, source: Path, *, force: bool) -> bool:
    pg = _pg_engine(url)
    try:
        with pg.connect() as conn:
            tables = [f"{s}.{t}" for s, t in conn.execute(text(
                "SELECT schemaname, tablename FROM pg_tables "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"))]
    except exc.OperationalError as e:
        raise BackupError(f"cannot connect to the configured database {_where(url)}: "
                          f"{_first_line(e.orig or e)} (create it first, e.g. with createdb)") from None
    if tables and not force:
        pg.dispose()
        names = [t.rpartition(".")[2] for t in tables]
        raise BackupError(f"the configured database {_where(url)} already holds {_holding(names)}; "
                          f"nothing was changed (use --force to replace it with the backup)")
    try:
        # --clean drops what the archive holds; a table only the database has (a later
        # release's, when going back to an older backup) would keep its foreign keys to
        # the archive's tables and stop the restore, so it goes first.
        extra = sorted(set(tables) - _archive_tables(source))
        if extra:
            with pg.begin() as conn:
                for name in extra:
                    schema, _, table = name.partition(".")
                    conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{schema}"."{table}" CASCADE')
    finally:
        pg.dispose()
    uri, env = _libpq(url)
    _run("pg_restore", ["--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
                        "--no-password", f"--dbname={uri}", str(source)], env)
    return bool(tables)


# -- small things ---------------------------------------------------------------------------------

def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else e.__class__.__name__


def _fsync(path: Path) -> None:
    """Flush a file (or a folder's entries, after a rename) to disk."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder
    finally:
        os.close(fd)
