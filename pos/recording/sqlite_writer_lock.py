"""One SQLite writer at a time, queued in turn, across the threads and processes of one file.

SQLite lets one transaction write at a time.  A writer that finds the file busy waits in
SQLite's busy handler, which sleeps and retries with growing pauses (up to 100 ms): with
eight tills on two server processes that is what a sale's 99th-percentile wait becomes.
Instead, the threads of a process take turns in the order they came (a ticket queue),
and the thread whose turn it is takes a ``flock`` on a small file beside the database,
which the kernel hands to the next process the moment the one before it commits.  So a
process has at most one thread waiting on the file, and no till waits behind tills that
came after it.  ``bench/bench_sales_http.py`` prints sales with and without the lock,
side by side.

Wired in :func:`pos.recording.open_database` for SQLite files (``canteen serve
--no-writer-lock`` leaves it out); every write transaction of :class:`pos.db.Database`
then holds it from before BEGIN until after COMMIT.

A writer waits at most ``wait_s`` (``app.write_wait_seconds``) for its turn and the file,
then gives up with :class:`pos.db.WriterBusy` (answered 503 "busy, try again"): a server
process stopped while it holds the lock must not hang the tills of the others.  The
first try at the file does not block; when it is taken, a helper thread waits in
``flock`` for this process, so the kernel still hands the file over the moment it is
released, and a writer that gave up leaves that wait to the next one.
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from pos.db import WriterBusy

try:
    import fcntl
except ImportError:  # not POSIX: threads of one process still take turns
    fcntl = None  # type: ignore[assignment]


class WriterLock:
    """The lock file ``path``.  Re-entrant within a thread (a nested write transaction
    still meets SQLite's own lock).  The file is opened again after a fork, because a lock
    taken through an inherited descriptor would be shared with the parent."""

    def __init__(self, path: str, *, wait_s: float | None = None):
        self.path, self.wait_s = path, wait_s
        self._fd: int | None = None
        self._pid = 0
        self._start_queue()

    def _start_queue(self) -> None:
        self._turns = threading.Condition()
        self._next_ticket = 0
        self._serving = 0
        self._gave_up: set[int] = set()  # tickets whose writers stopped waiting
        self._depth = threading.local()
        self._queue_pid = os.getpid()
        # The file, when a helper thread waits in flock for it: whether one does, whether
        # the writer whose turn it is still wants it, and whether the helper got it for them.
        self._taking = self._wanted = self._taken = False

    def _wait(self, deadline: float | None) -> bool:
        """Wait on the queue's condition (held) until notified or ``deadline``; False when
        the deadline has passed."""
        if deadline is None:
            self._turns.wait()
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self._turns.wait(left)
        return True

    def _busy(self) -> WriterBusy:
        return WriterBusy(f"another writer has held {self.path} for more than {self.wait_s:g} s")

    @contextmanager
    def held(self) -> Iterator[None]:
        if self._queue_pid != os.getpid():  # a forked child: the parent's waiters are not here
            self._start_queue()
        depth = getattr(self._depth, "n", 0)
        if depth:  # this thread holds it already
            self._depth.n = depth + 1
            try:
                yield
            finally:
                self._depth.n = depth
            return
        deadline = None if self.wait_s is None else time.monotonic() + self.wait_s
        with self._turns:
            ticket = self._next_ticket
            self._next_ticket += 1
            while self._serving != ticket:
                if not self._wait(deadline):
                    self._gave_up.add(ticket)
                    raise self._busy()
        try:
            self._acquire_file(deadline)
            self._depth.n = 1
            try:
                yield
            finally:
                self._depth.n = 0
                self._release_file()
        finally:
            with self._turns:
                self._serving += 1
                while self._serving in self._gave_up:
                    self._gave_up.discard(self._serving)
                    self._serving += 1
                self._turns.notify_all()

    def _acquire_file(self, deadline: float | None) -> None:
        if fcntl is None:
            return
        if self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        if deadline is None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            return
        with self._turns:
            helper_waiting = self._taking
        if not helper_waiting:  # no helper shares the descriptor: a try that does not block
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
        with self._turns:
            self._wanted = True
            if not self._taking:
                self._taking = True
                threading.Thread(target=self._take_file, name="canteen-writer-lock", daemon=True).start()
            while not self._taken:
                if not self._wait(deadline):
                    self._wanted = False
                    raise self._busy()
            self._taken = self._wanted = False

    def _take_file(self) -> None:
        """In a helper thread: wait in flock for the file, then hand it to the writer
        whose turn it is, or let it go again when none is waiting any more."""
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except OSError:
            with self._turns:
                self._taking = False
            return
        with self._turns:
            self._taking = False
            if self._wanted:
                self._taken = True
                self._turns.notify_all()
            else:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _release_file(self) -> None:
        if fcntl is not None and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
