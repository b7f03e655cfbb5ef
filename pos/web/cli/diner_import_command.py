"""`canteen diners import FILE [--dry-run] [--community C] [--as USER]`: register a list of
diners (CSV or XLSX) from the server, like the back office's import page;
`canteen diners mark-deceased FILE [...]` records the deaths on a civil-affairs list.

The file is read into memory and checked row by row; every bad row is one line on stderr
(``row N: reason``) and the exit status is 1, with nothing imported.  Without bad rows the
rows not yet registered are registered, all in one transaction (``--dry-run``: reported,
not registered).  A mistake in the options is one line and exit status 2.  No ID number
is printed other than masked.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from pos.access import REGISTRY, Scope
from pos.clock import business_date
from pos.models import StaffUser
from pos.refusal import Refusal
from pos.store import diner_import
from pos.web.input_policy import LINE, NAME, clean
from pos.web.signin import db, settings


def _usage(message: str):
    click.echo(f"canteen diners import: {message}", err=True)
    sys.exit(2)


def _fail(message: str):
    click.echo(f"canteen diners import: {message}", err=True)
    sys.exit(1)


def _clean_cell(text: str, column: str) -> str:
    return clean(text, NAME if column == "name" else LINE)


def _registrar(username: str | None, community: str) -> StaffUser:
    """The member of staff recorded as registering: ``--as``, or else a registrar of the
    community's first canteen, or else an admin."""
    canteens = [c.code for c in settings().canteens if c.community == community]
    with db().session() as s:
        q = select(StaffUser).where(StaffUser.active.is_(True))
        if username:
            user = s.exec(q.where(StaffUser.username == username)).first()
            if user is None or user.role not in REGISTRY:
                _usage(f"--as {username!r} is not an active registrar or admin")
            allowed = Scope.of(user).diner_community(settings().default_canteen.community)
            if allowed not in (None, community):
                _usage(f"--as {username!r} registers diners of {allowed}, not of {community}")
            return user
        user = (s.exec(q.where(StaffUser.role == "registrar", StaffUser.canteen_id.in_(canteens or [""]))
                       .order_by(StaffUser.created_at)).first()
                or s.exec(q.where(StaffUser.role == "admin").order_by(StaffUser.created_at)).first())
        if user is None:
            _usage(f"no active registrar of {community} or admin to record; add one or pass --as")
        return user


def _run(kind: str, file: str, dry_run: bool, community: str | None, username: str | None) -> None:
    communities = list(dict.fromkeys(c.community for c in settings().canteens))
    community = community or settings().default_canteen.community
    if community not in communities:
        _usage(f"unknown community {community!r} (configured: {', '.join(communities)})")
    actor = _registrar(username, community)
    canteen = next((c for c in settings().canteens if c.code == actor.canteen_id), None) \
        or next(c for c in settings().canteens if c.community == community)
    layout = diner_import.REGISTRATION if kind == "register" else diner_import.DECEASED
    try:
        rows = diner_import.read_rows(Path(file).read_bytes(), layout)
        args = dict(rows=rows, id_key=settings().id_key, actor=actor, community=community,
                    today=business_date(canteen.timezone), write=not dry_run, canteen_id=actor.canteen_id,
                    address="cli", clean=_clean_cell)
        if kind == "register":
            with (db().session() if dry_run else db().transaction()) as s:
                report = diner_import.import_diners(session=s, **args)
        else:
            with db().transaction() as s:
                report = diner_import.mark_deceased(session=s, **args)
    except Refusal as e:
        _fail(e.en)
    except IntegrityError:
        _fail("one of the ID numbers was registered while the import ran; nothing was imported")
    for row in report.errors:
        click.echo(f"row {row.row}: {'; '.join(r.en for r in row.reasons)}", err=True)
    added, matched, bad = len(report.to_add), len(report.matched), len(report.errors)
    verb, done_already = ("added", "already registered") if kind == "register" \
        else ("marked deceased", "already recorded as deceased or moved away")
    if bad:
        click.echo(f"{bad} row(s) with errors; nothing imported ({added} would be {verb}, {matched} {done_already})",
                   err=True)
        sys.exit(1)
    if dry_run:
        click.echo(f"dry run: {added} to be {verb}, {matched} {done_already} (left as they are), no errors; "
                   "nothing imported")
    elif kind == "register":
        click.echo(f"imported {added} diner(s) into {community} as {actor.username}; {matched} already "
                   "registered, left as they were")
    else:
        click.echo(f"marked {added} diner(s) of {community} as deceased as {actor.username}; {matched} already "
                   "recorded, left as they were")


_OPTIONS = (
    click.option("--dry-run", is_flag=True, help="Check and report every row; change nothing."),
    click.option("--community", default=None, help="The diners' community (default: the first configured canteen's)."),
    click.option("--as", "username", default=None,
                 help="Username of the registrar (or admin) recorded as doing it "
                      "(default: a registrar of the community, else an admin)."),
)


def _with_options(f):
    for option in reversed(_OPTIONS):
        f = option(f)
    return f


def register(cli: click.Group) -> None:
    diners = cli.commands.get("diners")
    if diners is None:
        @cli.group("diners")
        def diners():
            """The diner registry, from the server."""

    @diners.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @_with_options
    @with_appcontext
    def import_command(file: str, dry_run: bool, community: str | None, username: str | None):
        """Register the diners of a CSV (UTF-8) or XLSX list whose row 1 is the header
        姓名,身份证号,电话,类别,证明,本社区居民 (or name,id_number,phone,category,proof,resident).
        All or nothing: any bad row and nobody is registered."""
        _run("register", file, dry_run, community, username)

    @diners.command("mark-deceased")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @_with_options
    @with_appcontext
    def mark_deceased_command(file: str, dry_run: bool, community: str | None, username: str | None):
        """Record the deaths on a CSV (UTF-8) or XLSX list whose row 1 is the header
        姓名,身份证号,身故日期,备注 (or name,id_number,date,note): no benefit from the date.
        All or nothing: any bad row and nobody is marked."""
        _run("deceased", file, dry_run, community, username)
