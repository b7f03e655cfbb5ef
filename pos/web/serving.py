"""The app as `canteen serve` runs it with granian worker processes.

Each worker process builds its own app (:func:`granian_app`).  With several processes,
the kernel hands each new connection to one of them, not by load, and a keep-alive
connection then stays with that process: in a lunch rush, six of eight tills can end up
on one process (one core, one interpreter lock) while another idles.  Like a web
server's "max requests per keep-alive connection" (Apache's ``MaxKeepAliveRequests``,
nginx's ``keepalive_requests``), every ``N``-th answer of a process ends its connection
(``Connection: close``); the till's browser opens a new one with its next request, and
the kernel places it afresh.  A busy process answers more often, so it lets go of
connections sooner: the tills drift towards the quieter process.

The count is per process, not per connection (granian does not tell the app which
connection a request came on).  Nothing is lost by ending a connection after a complete
answer: the next request goes out on a new one.  Waitress forbids an app to set
``Connection``, so this applies to granian only.

Stopping (SIGTERM from systemd, Docker or ``kill``; Ctrl-C) is quiet with either server: no
new connection is taken, the requests in flight are answered, then the process exits with
status 0.  granian does this itself; for waitress, :func:`serve_waitress` does.
"""
from __future__ import annotations

import itertools
import os
import signal
import socket
import threading
import time
from typing import Any, Callable, Iterable, NoReturn

from pos.web import create_app

KEEPALIVE_REQUESTS_ENV = "CANTEEN_KEEPALIVE_REQUESTS"


class EndKeepAlive:
    """WSGI middleware: ``Connection: close`` on every ``every``-th answer of this process."""

    def __init__(self, app: Callable, every: int, stopping: StopFlag | None = None):
        if every < 0:
            raise ValueError("every must be 0 (only when stopping) or more")
        self.app, self.every, self.stopping = app, every, stopping
        self._answers = itertools.count(1)  # next() is atomic under the interpreter lock

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        stopping = self.stopping is not None and self.stopping.is_set()
        if not stopping and (not self.every or next(self._answers) % self.every):
            return self.app(environ, start_response)

        def closing(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            return start_response(status, [*headers, ("Connection", "close")], exc_info)

        return self.app(environ, closing)


#: The signals that stop a server: SIGTERM (systemd, Docker, `kill`) and SIGINT (Ctrl-C).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: How long a stopping server answers what is in flight before its processes end all the
#: same.  A sale recorded and not yet answered then is answered to the till's retry, which
#: carries the same Idempotency-Key; a stop never waits on a till that has gone quiet.
DRAIN_SECONDS = 10


class StopFlag:
    """Set by a signal handler when a stop begins, read by the request threads.

    A plain attribute, not a :class:`threading.Event`: ``Event.set`` takes a lock, and a
    second signal arriving while the handler holds it runs the handler again, in the same
    thread, which then waits for that lock for ever (a server that never stops)."""

    __slots__ = ("_set",)

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set


def stop_once(begin: Callable[[int, Any], Any], flag: StopFlag | None = None) -> Callable[[int, Any], Any]:
    """A handler for the stop signals that runs ``begin`` for the first one only.

    A stop is often signalled more than once: Ctrl-C in a terminal reaches every process of
    the server, systemd signals every process of the service, `su` and `runuser` pass a signal
    on to the command they run, and a server's first process signals its workers as well.
    The stop under way is bounded (the requests in flight are answered, then the process
    exits), so later signals have nothing to add; run again while the first is still inside
    ``begin``, holding a lock, they would wait for it for ever.  The flag is set before
    ``begin`` runs, so a signal arriving anywhere inside it returns at once."""
    flag = flag if flag is not None else StopFlag()

    def handler(signum: int, frame: Any) -> Any:
        if flag.is_set():
            return None
        flag.set()
        return begin(signum, frame)

    return handler


def stop_granian_once() -> StopFlag:
    """Make a granian worker's stop handlers :func:`stop_once` handlers; the returned flag is
    set when the worker's stop begins.

    granian installs a worker's handlers through ``granian._signals.set_main_signals``, and
    they set a :class:`threading.Event`; that function is wrapped here.  Should granian stop
    installing them that way, nothing is wrapped and the flag is never set: stopping works as
    granian does it.  (granian's main process is :func:`granian_server`.)"""
    try:
        from granian import _signals
    except ImportError:  # pragma: no cover - granian is a dependency
        return StopFlag()
    install = getattr(_signals, "set_main_signals", None)
    if install is None:  # pragma: no cover
        return StopFlag()
    flag = StopFlag()

    def set_main_signals(interrupt_handler, *args, **kwargs):
        return install(stop_once(interrupt_handler, flag), *args, **kwargs)

    _signals.set_main_signals = set_main_signals
    return flag


def granian_server(*args: Any, **kwargs: Any) -> Any:
    """granian's server for `canteen serve`, its main process's stop handler run once
    (:func:`stop_once`): the handler granian gives it sets a :class:`threading.Event`.  A
    worker still answering :data:`DRAIN_SECONDS` after the stop began is ended (granian
    would wait for it for as long as one of its connections stays open)."""
    from granian import Granian

    class Server(Granian):
        def signal_handler_interrupt(self, *a: Any, **kw: Any) -> None:
            if getattr(self, "interrupt_signal", False):
                return  # a stop is under way: the signal repeats it
            super().signal_handler_interrupt(*a, **kw)

    return Server(*args, workers_kill_timeout=DRAIN_SECONDS, **kwargs)


def exit_after_stop(status: int = 0) -> NoReturn:
    """End the process once its server has stopped: streams flushed, then out at once.

    Python's own exit restores the default action of SIGTERM and SIGINT before the process
    has gone; a stop signal still on its way (Ctrl-C reaches every process, systemd signals
    all of them) would then kill the stopped server with that signal instead of letting it
    end with status ``status``."""
    import logging
    import sys

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


def granian_app():
    """granian's app factory (``pos.web.serving:granian_app``): :func:`pos.web.create_app`,
    with the keep-alive limit above when `canteen serve` runs several processes, and every
    connection ended after its next answer once the worker is told to stop."""
    app = create_app()
    every = int(os.environ.get(KEEPALIVE_REQUESTS_ENV) or 0)
    app.wsgi_app = EndKeepAlive(app.wsgi_app, every, _stop_signalled())
    return app


def _stop_signalled() -> StopFlag:
    """A flag set when this granian worker receives SIGTERM or SIGINT.

    On a stop, a granian worker takes no new connection and answers what is in flight, but
    it keeps answering on keep-alive connections that go on sending, and exits only when
    they close: tills selling flat out can hold a stopping server for as long as they
    sell.  With the flag set, :class:`EndKeepAlive` closes each connection after its next
    answer, and the till opens a new one to the server that takes over.  granian installs
    its worker's signal handlers after this factory runs (:func:`stop_granian_once`)."""
    stopping = stop_granian_once()
    _relay_to_main_thread(stopping)
    return stopping


def _relay_to_main_thread(stopping: StopFlag) -> None:
    """Make sure a stop signal reaches the worker's main thread.

    A signal sent to a process is delivered to any one of its threads; Python runs the
    handler only in the main thread, and a granian worker's main thread sleeps in a lock
    wait that only a signal delivered to it interrupts.  Delivered to one of the request
    or runtime threads instead (likelier the busier the worker), the stop waits until
    something else wakes the main thread: in a lunch rush, for ever.  Python writes every
    signal's number to the wakeup file, whichever thread received it; a small thread reads
    it and, when the handler has not run a moment later, sends the signal again to the
    main thread itself."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    except ValueError:  # not the main thread: nothing to relay to
        os.close(read_end)
        os.close(write_end)
        return
    main = threading.main_thread().ident

    def relay() -> None:
        while True:
            for signum in os.read(read_end, 64):
                if signum in (signal.SIGTERM, signal.SIGINT):
                    time.sleep(0.05)
                    if not stopping.is_set():
                        signal.pthread_kill(main, signum)

    threading.Thread(target=relay, name="canteen-stop-relay", daemon=True).start()


def serve_waitress(app: Callable, *, threads: int, host: str | None = None, port: int | None = None,
                   sockets: list[socket.socket] | None = None, drain_seconds: float = DRAIN_SECONDS) -> None:
    """waitress until SIGTERM or SIGINT, then a quiet stop: the listening socket closes, every
    request already received is answered and its answer sent (for at most ``drain_seconds``),
    idle keep-alive connections close, and the function returns.

    (waitress's own ``serve`` dies on SIGTERM, and on Ctrl-C it stops its threads without
    sending the answers they have just written: a sale recorded and never answered.)"""
    from waitress import wasyncore
    from waitress.channel import HTTPChannel
    from waitress.server import create_server

    where = {"sockets": sockets} if sockets else {"host": host, "port": port}
    server = create_server(app, threads=threads, ident="canteen", **where)
    stopping = StopFlag()

    def stop(_signum, _frame) -> None:
        server.pull_trigger()  # wakes the loop out of its wait (a write to a pipe, no lock)

    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, stop_once(stop, stopping))
    adj, channels = server.adj, server._map

    def poll(timeout: float) -> None:
        server.asyncore.loop(timeout=timeout, map=channels, use_poll=adj.asyncore_use_poll, count=1)

    while not stopping.is_set():
        poll(adj.asyncore_loop_timeout)
    wasyncore.dispatcher.close(server)  # takes no new connection
    deadline = time.monotonic() + drain_seconds
    while time.monotonic() < deadline:
        busy = False
        for channel in list(channels.values()):
            if not isinstance(channel, HTTPChannel):
                continue
            if channel.requests or channel.request is not None or channel.total_outbufs_len:
                busy = True  # a request being read or served, or an answer not yet sent
            else:
                channel.handle_close()  # idle keep-alive: the till opens a new one to the next server
        if not busy:
            break
        poll(0.05)
    server.task_dispatcher.shutdown(timeout=1)
    wasyncore.close_all(channels)
