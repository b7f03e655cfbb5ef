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
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Iterator

try:
    import fcntl
except ImportError:  # not POSIX: threads of one process still take turns
    fcntl = None  # type: ignore[assignment]


class WriterLock:
    """The lock file ``path``.  Re-entrant within a thread (a nested write transaction
    still meets SQLite's own lock).  The file is opened again after a fork, because a lock
    taken through an inherited descriptor would be shared with the parent."""

    def __init__(self, path: str):
        self.path = path
        self._fd: int | None = None
        self._pid = 0
        self._start_queue()

    def _start_queue(self) -> None:
        self._turns = threading.Condition()
        self._next_ticket = 0
        self._serving = 0
        self._depth = threading.local()
        self._queue_pid = os.getpid()

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
        with self._turns:
            ticket = self._next_ticket
            self._next_ticket += 1
            while self._serving != ticket:
                self._turns.wait()
        try:
            self._acquire_file()
            self._depth.n = 1
            try:
                yield
            finally:
                self._depth.n = 0
                self._release_file()
        finally:
            with self._turns:
                self._serving += 1
                self._turns.notify_all()

    def _acquire_file(self) -> None:
        if fcntl is None:
            return
        if self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def _release_file(self) -> None:
        if fcntl is not None and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
