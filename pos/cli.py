"""The `canteen` command, built on Flask's CLI.

Configuration mistakes print one line naming the key and exit with status 2.
"""
from __future__ import annotations

import importlib
import os
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from pos.config import ConfigError, load_settings


def _create_app():
    from pos import create_app

    return create_app()


cli = FlaskGroup(name="canteen", create_app=_create_app, add_default_commands=False, load_dotenv=False,
                 help="Neighbourhood canteen till and subsidy system.")


def _db():
    return current_app.extensions["canteen_db"]


@cli.command("check-config")
def check_config():
    """Validate config.toml and the environment (secrets) without starting anything."""
    s = load_settings()
    versions = ", ".join(f"{v.version} from {v.effective_from}" for v in s.policy.versions)
    click.echo(f"{os.path.basename(s.config_path)}: OK — {len(s.canteens)} canteen(s) "
               f"({', '.join(c.code for c in s.canteens)}); policy versions: {versions}; "
               f"database: {s.database_url.split('@')[-1]}; mode: {'development' if s.development else 'production'}")


@cli.command("init")
@click.option("--force", is_flag=True, help="Erase an existing database and start again.")
@click.option("--if-missing", is_flag=True, help="Do nothing (status 0) when the database exists.")
@click.option("--with-demo", is_flag=True, help="Load the demo canteen after creating the database.")
@with_appcontext
def init(force: bool, if_missing: bool, with_demo: bool):
    """Create the database from schema.sql (refuses an existing one without --force)."""
    from pos.db import DatabaseExists, has_schema, init_schema
    from pos.store.canteens import sync_canteens

    db = _db()
    if if_missing and has_schema(db.engine):
        click.echo("database already initialised; left as it is")
        return
    try:
        init_schema(db.engine, force=force)
    except DatabaseExists as e:
        click.echo(f"canteen init: {e}", err=True)
        sys.exit(1)
    with db.transaction() as s:
        sync_canteens(session=s, settings=current_app.config["CANTEEN"])
    click.echo(f"database created at {db.url.split('@')[-1]}")
    if with_demo:
        from pos.demo import load_demo

        click.echo(load_demo(current_app))


@cli.command("demo")
@with_appcontext
def demo():
    """Load the demo canteen: menu, staff per role, diners, a week of history."""
    from pos.demo import load_demo

    click.echo(load_demo(current_app))


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=None, type=click.IntRange(1, 64),
              help="Request threads per process  [default: 2 per CPU core + 1, at most 8].")
@click.option("--processes", default=None, type=click.IntRange(1, 16),
              help="Worker processes on the listening port  [default: one per CPU core, at most 4].")
@click.option("--server", type=click.Choice(["granian", "waitress"]), default="granian", show_default=True,
              help="The WSGI server: granian (HTTP handled in Rust, the least CPU per request) or "
                   "waitress (pure Python).")
@click.option("--keepalive-requests", default=100, show_default=True, type=click.IntRange(0, None),
              help="With granian and several processes: each process ends its keep-alive connection "
                   "after every this many answers, so the tills spread over the processes again "
                   "(0: never).")
@click.option("--sale-writer/--no-sale-writer", default=True, show_default=True,
              help="With granian on a SQLite file: record sales in one writer process for all server "
                   "processes (see README, Architecture).")
@with_appcontext
def serve(host: str, port: int, threads: int | None, processes: int, server: str, keepalive_requests: int,
          sale_writer: bool):
    """Serve the till with a production WSGI server."""
    threads = threads or default_threads()
    processes = processes or default_processes()
    from pos.db import has_schema
    from pos.store.canteens import sync_canteens

    db = _db()
    if not has_schema(db.engine):
        click.echo("canteen serve: the database is not initialised; run `canteen init` first", err=True)
        sys.exit(1)
    with db.transaction() as s:
        sync_canteens(session=s, settings=current_app.config["CANTEEN"])
    click.echo(f"serving the till on http://{host}:{port}/ with {server}"
               + (f" ({processes} processes)" if processes > 1 else ""))
    if server == "granian":
        _serve_granian(host, port, threads, processes, keepalive_requests if processes > 1 else 0, sale_writer)
    elif processes == 1:
        from waitress import serve as waitress_serve

        waitress_serve(current_app._get_current_object(), host=host, port=port, threads=threads, ident="canteen")
    else:
        _serve_processes(host, port, threads, processes)


def default_processes() -> int:
    """Server processes: one per core uses them all (each runs Python on one core at a time)."""
    return max(1, min(4, os.cpu_count() or 1))


def default_threads() -> int:
    """Request threads per server process: enough that a slow PDF download does not hold up
    the tills, few enough that threads do not queue for the interpreter lock."""
    return min(8, 2 * (os.cpu_count() or 1) + 1)


def _serve_granian(host: str, port: int, threads: int, processes: int, keepalive_requests: int,
                   with_sale_writer: bool) -> None:
    """granian: worker processes, each building its own app (:func:`pos.serving.granian_app`)
    and so its own database connections, with ``threads`` request threads each.  The
    configuration was checked above, in this process, so a mistake stops here with one line."""
    from granian import Granian
    from granian.constants import Interfaces

    from pos.serving import KEEPALIVE_REQUESTS_ENV
    from pos.store import sale_writer

    db = _db()
    db.dispose()  # no connection of this process is used by the workers
    os.environ[KEEPALIVE_REQUESTS_ENV] = str(keepalive_requests)  # read by each worker's app factory
    supervisor = None
    if with_sale_writer and db.writer_lock is not None and sale_writer.available():  # SQLite file
        address, key = sale_writer.new_address()
        supervisor = sale_writer.Supervisor(address, key)
        os.environ[sale_writer.ADDRESS_ENV], os.environ[sale_writer.KEY_ENV] = address, key.hex()
    try:
        Granian("pos.serving:granian_app", factory=True, address=host, port=port, interface=Interfaces.WSGI,
                workers=processes, blocking_threads=threads, websockets=False, log_level="warning").serve()
    finally:
        if supervisor is not None:
            supervisor.stop()


def _serve_processes(host: str, port: int, threads: int, processes: int) -> None:
    """Fork worker processes that accept on one listening socket.

    Each worker builds its own app (and so its own database connections) after the fork.
    The app is stateless between requests and SQLite serialises writers with BEGIN
    IMMEDIATE, so workers need no coordination; the parent waits and stops them together.
    """
    import signal
    import socket

    from waitress import serve as waitress_serve

    db = _db()
    db.dispose()  # no connection may cross the fork
    sock = socket.create_server((host, port), backlog=1024, reuse_port=False)
    children = []
    for _ in range(processes):
        pid = os.fork()
        if pid == 0:
            from pos import create_app

            try:
                waitress_serve(create_app(), sockets=[sock], threads=threads, ident="canteen")
            finally:
                os._exit(0)
        children.append(pid)

    def stop(signum, _frame):
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        try:
            os.waitpid(child, 0)
        except ChildProcessError:
            pass


@cli.group("user")
def user():
    """Staff accounts."""


@user.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["cashier", "supervisor", "accountant", "registrar", "admin"]))
@click.option("--canteen", "canteen_code", default=None, help="Canteen code the account works at.")
@click.option("--name", "display_name", default="", help="Name shown on the till.")
@with_appcontext
def user_add(username: str, role: str, canteen_code: str | None, display_name: str):
    """Add a staff account.  The password comes from CANTEEN_PASSWORD or a prompt; a
    supervisor's void-approval PIN from CANTEEN_PIN or a prompt."""
    from pos.errors import ApiError
    from pos.store.audit import audit
    from pos.store.staff import create_user

    password = os.environ.get("CANTEEN_PASSWORD") or click.prompt("Password", hide_input=True, confirmation_prompt=True)
    pin = None
    if role in ("supervisor", "admin"):
        pin = os.environ.get("CANTEEN_PIN") or (
            click.prompt("Void-approval PIN (4-8 digits, empty for none)", hide_input=True, default="", show_default=False)
            if sys.stdin.isatty() else None) or None
    try:
        with _db().transaction() as s:
            row = create_user(session=s, username=username, password=password, role=role, pin=pin,
                              display_name=display_name, canteen_id=canteen_code)
            audit(session=s, action="staff_created", actor="cli", canteen_id=canteen_code, target=row.id,
                  detail={"username": username, "role": role})
    except ApiError as e:
        click.echo(f"canteen user add: {e.en}", err=True)
        sys.exit(1)
    click.echo(f"added {role} {username}" + (f" at {canteen_code}" if canteen_code else ""))


def _area_commands():
    for name in ("pos.cli_reports", "pos.cli_ledger"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:
                continue
            raise
        module.register(cli)


_area_commands()


def main() -> None:
    try:
        cli.main(prog_name="canteen")
    except ConfigError as e:
        click.echo(str(e), err=True)
        sys.exit(2)
