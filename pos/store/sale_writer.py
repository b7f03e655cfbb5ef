"""One process that records the sales of every server process, on a SQLite file.

SQLite lets one transaction write at a time, so the time a sale holds the writer caps how
many sales a canteen records per second.  Inside a server process that time stretches:
the group commit (:mod:`pos.store.group_commit`) shares the interpreter lock with the
threads parsing, validating and answering other requests, and runs at about half speed;
with several server processes, each one's batches also wait their turn on the file's
writer lock.  So `canteen serve` (granian, SQLite) starts this writer process beside its
server processes.  Their threads still do everything that can run in parallel
(signing in, validating, pricing, looking up the diner — :func:`pos.store.sales.prepare_sale`)
and send the rest, :func:`pos.store.sales.record_sale`, here; this process takes every
sale waiting from every server process, records them in one transaction (one
savepoint per sale, one fsync), and answers each with its own result, at full speed
and with nothing else competing for its interpreter lock.

The requests travel over a Unix socket in a directory only the server's user may enter,
with :mod:`multiprocessing.connection`, which also authenticates both ends with a key
that `canteen serve` makes at random for each start and hands to its own processes only.
A sale is recorded only by a commit here, and the client retries with the same
Idempotency-Key if the connection breaks, so a writer restarting between a commit and
its answer gives the till the first answer, never a second sale.
"""
from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from multiprocessing.connection import Client, Connection, Listener, answer_challenge, deliver_challenge, wait
from types import SimpleNamespace
from typing import Any

from pos.errors import ApiError

ADDRESS_ENV = "CANTEEN_SALE_WRITER"
KEY_ENV = "CANTEEN_SALE_WRITER_KEY"
RECONNECT_SECONDS = 5.0  # how long a sale waits for a restarting writer before a 503

log = logging.getLogger(__name__)


def available() -> bool:
    return hasattr(socket, "AF_UNIX")


def new_address() -> tuple[str, bytes]:
    """A fresh socket path, in a new directory only this user may enter (mode 0700), and
    key for one `canteen serve`; :meth:`Supervisor.stop` removes the directory."""
    folder = tempfile.mkdtemp(prefix=f"canteen-sale-writer-{os.getpid()}-")
    return os.path.join(folder, "socket"), os.urandom(32)


def serve(address: str, authkey: bytes, settings=None, stop: threading.Event | None = None,
          parent: int | None = None) -> None:
    """Record sales sent to ``address`` until ``stop`` is set, or the process ``parent``
    (the one that started this writer process) is gone."""
    from pos.config import load_settings
    from pos.db import Database
    from pos.store.group_commit import run_batch
    from pos.store.sales import record_sale

    settings = settings or load_settings()
    database = Database(settings.database_url)
    if os.path.exists(address):  # left by a writer that was killed: this one replaces it
        os.unlink(address)
    listener = Listener(address, family="AF_UNIX")  # the key is checked per connection, below
    clients: list[Connection] = []
    joined = threading.Lock()
    closing = threading.Event()
    wake_r, wake_w = os.pipe()
    wake = os.fdopen(wake_r, "rb", buffering=0)

    def admit(conn: Connection) -> None:
        # Each peer proves it has the key in a thread of its own, so one that connects and
        # says nothing holds up nobody else.
        try:
            deliver_challenge(conn, authkey)
            answer_challenge(conn, authkey)
        except Exception:  # noqa: BLE001 - without the key, or hung up: refused
            conn.close()
            return
        with joined:
            clients.append(conn)
        os.write(wake_w, b".")

    def accept() -> None:
        while not closing.is_set():
            try:
                conn = listener.accept()
            except OSError:
                time.sleep(0.01)  # closed (stopping), or out of descriptors for a moment
                continue
            threading.Thread(target=admit, args=(conn,), name="sale-writer-admit", daemon=True).start()

    threading.Thread(target=accept, name="sale-writer-accept", daemon=True).start()
    try:
        while (stop is None or not stop.is_set()) and (parent is None or os.getppid() == parent):
            with joined:
                waiting = list(clients)
            ready = wait([*waiting, wake], timeout=0.5)
            batch: list[tuple[Connection, dict]] = []
            for conn in ready:
                if conn is wake:
                    os.read(wake_r, 4096)
                    continue
                try:
                    batch.append((conn, conn.recv()))
                except Exception:  # noqa: BLE001 - that server thread or process has gone
                    with joined:
                        clients.remove(conn)
                    conn.close()
            if not batch:
                continue
            results = run_batch(database, [
                (lambda fast, kw=kw: record_sale(session=fast, settings=settings, **kw)) for _, kw in batch])
            for (conn, _), (value, error) in zip(batch, results):
                if error is not None and not isinstance(error, ApiError):
                    log.error("recording a sale failed", exc_info=error)
                    error = RuntimeError(f"recording the sale failed: {error!r}")
                try:
                    conn.send(("ok", value) if error is None else ("error", error))
                except OSError:
                    pass  # the server thread has gone; a retry with its key gets this answer
    finally:
        closing.set()
        listener.close()
        with joined:
            for conn in clients:
                conn.close()
        wake.close()
        os.close(wake_w)
        database.dispose()


class SaleWriterClient:
    """What a server process's threads use to have a sale recorded by the writer process.
    Each thread keeps its own connection."""

    def __init__(self, address: str, authkey: bytes):
        self.address, self.authkey = address, authkey
        self._local = threading.local()

    def record(self, *, user: Any, **kw) -> tuple[int, str]:
        """:func:`pos.store.sales.record_sale`'s answer for these arguments (without its
        session and settings), recorded and committed by the writer process."""
        request = {**kw, "user": SimpleNamespace(id=user.id, username=user.username)}
        deadline = time.monotonic() + RECONNECT_SECONDS
        while True:
            conn = getattr(self._local, "conn", None)
            try:
                if conn is None:
                    conn = self._local.conn = Client(self.address, family="AF_UNIX", authkey=self.authkey)
                conn.send(request)
                kind, value = conn.recv()
                break
            except (OSError, EOFError):
                # The writer is restarting.  Sending the same request again is safe: it
                # carries its Idempotency-Key, so a sale committed before the break is
                # answered, not recorded twice.
                self._local.conn = None
                if conn is not None:
                    conn.close()
                if time.monotonic() > deadline:
                    raise ApiError(503, "recorder_unavailable", "暂时无法记账，请稍后重试（不会重复收款）",
                                   "the sales recorder is not answering; try again (the sale will not be "
                                   "recorded twice)") from None
                time.sleep(0.05)
        if kind == "error":
            raise value
        return value


def _process_main(address: str, authkey: bytes, parent: int) -> None:
    """The writer process.  SIGTERM (the supervisor stopping it) ends it; Ctrl-C at a
    terminal reaches the whole process group, and the supervisor stops the writer after
    the servers, so it is ignored here."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(address, authkey, parent=parent)


class Supervisor:
    """Runs the writer process for `canteen serve` and starts it again if it stops."""

    def __init__(self, address: str, authkey: bytes):
        import multiprocessing

        self.address, self.authkey = address, authkey
        # A fresh interpreter, not a fork: a restart happens from a thread of a process that
        # runs other threads, and a forked child could inherit a lock one of them held.
        self._context = multiprocessing.get_context("spawn")
        self._stopping = threading.Event()
        self.process = self._start()
        self._watch = threading.Thread(target=self._watch_loop, name="sale-writer-watch", daemon=True)
        self._watch.start()

    def _start(self):
        process = self._context.Process(target=_process_main, args=(self.address, self.authkey, os.getpid()),
                                        name="canteen-sale-writer", daemon=True)
        process.start()
        self._started = time.monotonic()
        return process

    def _watch_loop(self) -> None:
        while not self._stopping.is_set():
            self.process.join(0.5)
            if self.process.exitcode is not None and not self._stopping.is_set():
                log.error("the sale writer process stopped (exit code %s); starting it again",
                          self.process.exitcode)
                time.sleep(0.2 if time.monotonic() - self._started > 10 else 2)  # not in a tight loop
                self.process = self._start()

    def stop(self) -> None:
        self._stopping.set()
        self._watch.join(2)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)
        shutil.rmtree(os.path.dirname(self.address), ignore_errors=True)
