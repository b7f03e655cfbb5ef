"""One SQLite writer at a time, queued, across the threads and processes of one file.

SQLite lets one transaction write at a time.  A writer that finds the file busy waits in
SQLite's busy handler, which sleeps and retries with growing pauses (up to 100 ms): with
eight tills on two server processes that is what a sale's 99th-percentile wait becomes.
A ``flock`` on a small file beside the database queues the writers instead, and the
kernel wakes the next one the moment the one before it commits.
``bench/bench_sales_http.py`` prints sales with and without it, side by side.

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
except ImportError:  # not POSIX: threads of one process still queue on the thread lock
    fcntl = None  # type: ignore[assignment]


class WriterLock:
    """The lock file ``path``.  Re-entrant within a thread (a nested write transaction
    still meets SQLite's own lock).  The file is opened again after a fork, because a lock
    taken through an inherited descriptor would be shared with the parent."""

    def __init__(self, path: str):
        self.path = path
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid = 0

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._thread_lock:
            if self._depth == 0:
                self._acquire()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._release()

    def _acquire(self) -> None:
        if fcntl is None:
            return
        if self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def _release(self) -> None:
        if fcntl is not None and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
