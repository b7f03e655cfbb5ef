"""`canteen serve`: the app behind a production WSGI server, in one or several processes."""
from __future__ import annotations

import errno
import os
import signal
import socket
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from pos.db import Database, check_schema_version, driver_words, has_schema, sqlite_file
from pos.store.canteens import sync_canteens
from pos.web import NO_WRITER_LOCK_ENV, create_app
from pos.web.lan import base_url_warning, serving_urls
from pos.web.serving import KEEPALIVE_REQUESTS_ENV, STOP_SIGNALS, exit_after_stop, granian_server, serve_waitress, stop_once
from reports.xlsx import remove_stale_folders


def default_processes() -> int:
    """Server processes: one per core uses them all (each runs Python on one core at a time)."""
    return max(1, min(4, os.cpu_count() or 1))


def default_threads() -> int:
    """Request threads per server process: one more than the cores, so a slow PDF download
    does not hold up the tills, and few enough that threads do not queue for the
    interpreter lock (more requests wait in the server, outside Python, instead)."""
    return min(8, (os.cpu_count() or 1) + 1)


def register(cli: click.Group) -> None:
    @cli.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True, type=int)
    @click.option("--threads", default=None, type=click.IntRange(1, 64),
                  help="Request threads per process  [default: one more than the CPU cores, at most 8].")
    @click.option("--processes", default=None, type=click.IntRange(1, 16),
                  help="Worker processes on the listening port  [default: one per CPU core, at most 4].")
    @click.option("--server", type=click.Choice(["granian", "waitress"]), default="granian", show_default=True,
                  help="The WSGI server: granian (HTTP handled in Rust, the least CPU per request) or "
                       "waitress (pure Python).")
    @click.option("--keepalive-requests", default=100, show_default=True, type=click.IntRange(0, None),
                  help="With granian and several processes: each process ends its keep-alive connection "
                       "after every this many answers, so the tills spread over the processes again "
                       "(0: never).")
    @click.option("--writer-lock/--no-writer-lock", default=True, show_default=True,
                  help="On a SQLite file: writers queue on a lock beside the database instead of polling "
                       "in SQLite's busy handler (see README, Architecture).")
    @click.option("--share-port", is_flag=True,
                  help="Listen even when another server listens on the port already (granian: the kernel "
                       "shares the connections), e.g. to start a new release before stopping the old one.")
    @with_appcontext
    def serve(host: str, port: int, threads: int | None, processes: int | None, server: str,
              keepalive_requests: int, writer_lock: bool, share_port: bool):
        """Serve the till with a production WSGI server."""
        threads = threads or default_threads()
        processes = processes or default_processes()
        if share_port and server != "granian":
            click.echo("canteen serve: --share-port needs --server granian (waitress cannot share a port)", err=True)
            sys.exit(2)
        if not share_port:
            _refuse_busy_port(host, port)
        remove_stale_folders()  # an XLSX build's rows, left by a server killed with kill -9
        db = current_app.extensions["canteen_db"]
        _refuse_unwritable(db)
        if not has_schema(db.engine):
            click.echo("canteen serve: the database is not initialised; run `canteen init` first", err=True)
            sys.exit(1)
        check_schema_version(db.engine)
        with db.transaction() as s:
            sync_canteens(session=s, settings=current_app.config["CANTEEN"])
        db.dispose()  # no connection of this process is used by the server processes
        os.environ[NO_WRITER_LOCK_ENV] = "0" if writer_lock else "1"  # read by each server process's app
        urls = serving_urls(host, port)
        click.echo(f"serving the till on {', '.join(u + '/' for u in urls) or f'{host} port {port}'} with {server}"
                   + (f" ({processes} processes)" if processes > 1 else ""))
        warning = base_url_warning(current_app.config["CANTEEN"].base_url, host, port)
        if warning:
            click.echo(f"warning: {warning}", err=True)
        if server == "granian":
            _serve_granian(host, port, threads, processes, keepalive_requests if processes > 1 else 0)
        elif processes == 1:
            app = create_app()
            serve_waitress(app, host=host, port=port, threads=threads)
            app.extensions["canteen_db"].dispose()  # closed before the exit below skips Python's own clean-up
        else:
            _serve_processes(host, port, threads, processes)
        exit_after_stop(0)


def _refuse_unwritable(db: Database) -> None:
    """Stop (one line, exit status 2) on a database that cannot be written — a read-only
    file or folder, a full disk, a server that cannot be reached — rather than serve tills
    whose every sale would be refused."""
    problem = db.write_problem()
    if problem is None:
        return
    where = sqlite_file(db.url) or db.url.split("@")[-1]
    cause = f": {driver_words(problem.__cause__)}" if problem.__cause__ is not None else ""
    click.echo(f"canteen serve: {problem.en} ({where}{cause}); mend that and start again", err=True)
    sys.exit(2)


def _refuse_busy_port(host: str, port: int) -> None:
    """Stop (one line, exit status 2) when the address cannot be listened on.  granian listens
    with SO_REUSEPORT, so a second `canteen serve` on a busy port would start and quietly
    take a share of the tills' connections; a plain bind first finds the port taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.create_server((host, port), family=family):
            pass
    except OSError as e:
        why = ("is already in use (another canteen serve, or another program, listens there)"
               if e.errno == errno.EADDRINUSE else f"cannot be listened on ({e.strerror or e})")
        click.echo(f"canteen serve: {host} port {port} {why}; stop that one or choose another --port", err=True)
        sys.exit(2)


def _serve_granian(host: str, port: int, threads: int, processes: int, keepalive_requests: int) -> None:
    """granian: worker processes, each building its own app (:func:`pos.web.serving.granian_app`)
    and so its own database connections, with ``threads`` request threads each.  The
    configuration was checked above, in this process, so a mistake stops here with one line."""
    from granian.constants import Interfaces

    os.environ[KEEPALIVE_REQUESTS_ENV] = str(keepalive_requests)  # read by each worker's app factory
    granian_server("pos.web.serving:granian_app", factory=True, address=host, port=port, interface=Interfaces.WSGI,
                   workers=processes, blocking_threads=threads, websockets=False, log_level="warning").serve()


def _serve_processes(host: str, port: int, threads: int, processes: int) -> None:
    """Fork waitress worker processes that accept on one listening socket.

    Each worker builds its own app (and so its own database connections) after the fork.
    The app is stateless between requests, so workers need no coordination; the parent
    waits and stops them together: SIGTERM or Ctrl-C reaches each worker, which answers
    what is in flight and exits (:func:`pos.web.serving.serve_waitress`)."""
    sock = socket.create_server((host, port), backlog=1024, reuse_port=False)
    children = []
    for _ in range(processes):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                serve_waitress(create_app(), sockets=[sock], threads=threads)
            except BaseException:  # noqa: BLE001 - a worker never returns into the parent's code
                code = 1
                import traceback

                traceback.print_exc()
            finally:
                sys.stderr.flush()
                os._exit(code)
        children.append(pid)

    def stop(signum, _frame):
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass

    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, stop_once(stop))
    for child in children:
        try:
            os.waitpid(child, 0)
        except ChildProcessError:
            pass
