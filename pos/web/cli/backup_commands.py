"""`canteen backup --out FILE` and `canteen restore FILE`: the database to one file and back.

The backup is consistent while the tills sell (:mod:`pos.backup` says how on each engine);
on SQLite the copy's ledger is verified as `canteen verify` does before the file is put in
place, so the operator knows the copy is good.  A restore checks the file first (a backup
of this product, of the configured engine, not newer than this release), refuses a
database that already holds tables without ``--force``, and verifies the ledger after.
A backup older than this release is restored as it was saved, not upgraded: the restore
says to run `canteen upgrade` next.  Every refusal is one line on stderr and exit status 1.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from pos.backup import SQLITE, BackupError, backup, restore
from pos.db import code_schema_version
from pos.models import Canteen
from pos.web.cli.ledger_commands import verify_all
from pos.web.signin import db


def _fail(command: str, message: str):
    click.echo(f"canteen {command}: {message}", err=True)
    sys.exit(1)


def _verify(session: Session) -> tuple[bool, list[str]]:
    """The ledger check of `canteen verify`, over every canteen in the database."""
    ids = Canteen.__table__.c.id
    return verify_all(session=session, canteen_ids=[r[0] for r in session.connection().execute(
        select(ids).order_by(ids))])


def _verify_copy(engine: Engine) -> tuple[bool, list[str]]:
    with Session(engine) as s:
        return _verify(s)


def _size(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def register(cli: click.Group) -> None:
    @cli.command("backup")
    @click.option("--out", "out", required=True, type=click.Path(path_type=Path),
                  help="The backup file to write.")
    @click.option("--force", is_flag=True, help="Replace an existing file of that name.")
    @with_appcontext
    def backup_command(out: Path, force: bool):
        """Back the database up to one file while the tills sell: a SQLite copy (its ledger
        verified) or a pg_dump custom archive."""
        try:
            written = backup(db().url, out, force=force, check=_verify_copy)
        except BackupError as e:
            _fail("backup", str(e))
        line = f"wrote {written.path}: {_size(written.size)}, {written.engine}, schema version {written.schema_version}"
        if written.checked is None:
            click.echo(line)
            return
        ok, lines = written.checked
        click.echo(f"{line}; the copy's {lines[-1]}")
        if not ok:
            broken = next(x for x in lines if "BROKEN" in x)
            _fail("backup", f"the copy's ledger does not verify ({broken}); the database has the same fault: "
                            f"run `canteen verify`")

    @cli.command("restore")
    @click.argument("source", type=click.Path(path_type=Path))
    @click.option("--force", is_flag=True, help="Replace a database that already holds tables.")
    @with_appcontext
    def restore_command(source: Path, force: bool):
        """Put a backup made by `canteen backup` in place of the configured database, then
        verify its ledger.  Stop `canteen serve` first."""
        database = db()
        try:
            restored = restore(database.url, source, force=force)
        except BackupError as e:
            _fail("restore", str(e))
        click.echo(f"restored {restored.source} ({restored.engine}, schema version {restored.schema_version}) "
                   f"{'in place of' if restored.replaced else 'into'} the database at {database.url.split('@')[-1]}")
        if restored.schema_version < code_schema_version():
            click.echo(f"the backup is at schema version {restored.schema_version}, this release needs "
                       f"{code_schema_version()}: run `canteen upgrade`, then `canteen verify`")
            return
        if restored.engine == SQLITE:
            database.dispose()  # connections opened before the restore start afresh
        with database.session() as s:
            ok, lines = _verify(s)
        for line in lines:
            click.echo(line)
        if not ok:
            sys.exit(1)
