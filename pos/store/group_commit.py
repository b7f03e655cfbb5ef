"""Group commit: sales from many tills share one SQLite transaction and one fsync.

With ``synchronous=FULL`` every SQLite commit waits for the disk, and SQLite runs one
writer at a time, so a transaction per sale caps a canteen at a few hundred sales a
second however fast the code is.  Instead, while one transaction is being written, sales
that arrive queue up; the next thread to find the writer free takes the whole queue, runs
each sale in its own SAVEPOINT (a refused sale rolls back alone), commits once, and hands
every caller its own answer.  Nobody hears "recorded" before the commit that makes it
durable.

The batch runs on a pooled driver connection (:meth:`pos.db.Database.cursor`: ``BEGIN
IMMEDIATE`` … ``COMMIT``, no session) under the database's writer lock
(:class:`pos.db.WriterLock`, shared with every other writer, in this process or
another): the time a batch holds the writer is the canteen's
throughput ceiling, so nothing runs there that could run before it.  Jobs receive a
:class:`pos.store.fastsql.Fast` cursor, which the sale path accepts in place of a session.

PostgreSQL already groups concurrent commits into one WAL flush, so there each call is
an ordinary write transaction with a session.
"""
from __future__ import annotations

import threading
import weakref
from contextlib import nullcontext
from typing import Any, Callable, TypeVar

from sqlmodel import Session

from pos.db import Database
from pos.store.fastsql import Fast

T = TypeVar("T")
MAX_BATCH = 64


class _Job:
    __slots__ = ("fn", "value", "error", "finished")

    def __init__(self, fn: Callable[[Any], Any]):
        self.fn, self.value, self.error, self.finished = fn, None, None, False


class GroupCommit:
    """Runs write jobs from many request threads in shared transactions (see module docstring)."""

    def __init__(self, database: Database, max_batch: int = MAX_BATCH):
        self.database, self.max_batch = database, max_batch
        self._cond = threading.Condition()
        self._queue: list[_Job] = []
        self._busy = False

    def run(self, fn: Callable[[Fast], T]) -> T:
        """Run ``fn(cursor)`` in a write transaction and return its result once committed.
        An exception raised by ``fn`` rolls back ``fn``'s writes only and is raised here."""
        job = _Job(fn)
        with self._cond:
            self._queue.append(job)
        while True:
            with self._cond:
                while not job.finished and self._busy:
                    self._cond.wait()
                if job.finished:
                    break
                # The writer is free: lead one batch (our own job included, first come first served).
                self._busy = True
                batch = self._queue[:self.max_batch]
                del self._queue[:len(batch)]
            try:
                _write(self.database, batch)
            finally:
                with self._cond:
                    for j in batch:
                        j.finished = True
                    self._busy = False
                    self._cond.notify_all()
        if job.error is not None:
            raise job.error
        return job.value


def run_batch(database: Database, fns: list[Callable[[Fast], Any]]) -> list[tuple[Any, BaseException | None]]:
    """Run ``fns`` now, in this thread, in one transaction (one savepoint each), and return
    each one's (value, error): for a caller that gathers its batch itself (the sale writer
    process, :mod:`pos.store.sale_writer`)."""
    jobs = [_Job(fn) for fn in fns]
    _write(database, jobs)
    return [(job.value, job.error) for job in jobs]


def _write(database: Database, batch: list[_Job]) -> None:
    """One transaction for ``batch`` under the writer lock; each job in its own savepoint."""
    try:
        with database.cursor() as fast, \
                database.writer_lock.held() if database.writer_lock is not None else nullcontext():
            fast.execute("BEGIN IMMEDIATE")
            try:
                for job in batch:
                    fast.execute("SAVEPOINT sale_job")
                    try:
                        job.value = job.fn(fast)
                    except Exception as e:  # noqa: BLE001 - handed to the job's own thread
                        job.error = e
                        fast.execute("ROLLBACK TO SAVEPOINT sale_job")
                    fast.execute("RELEASE SAVEPOINT sale_job")
                fast.execute("COMMIT")
            except BaseException:
                if fast.cursor.connection.in_transaction:
                    fast.execute("ROLLBACK")
                raise
    except Exception as e:  # noqa: BLE001 - the commit itself failed: nobody's sale is recorded
        for job in batch:
            if job.error is None:
                job.error, job.value = e, None


_writers: "weakref.WeakKeyDictionary[Database, GroupCommit]" = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def run_write(database: Database, fn: Callable[[Session | Fast], T]) -> T:
    """``fn(session)`` in a write transaction: grouped with concurrent callers on SQLite
    (where ``fn`` gets a :class:`Fast` cursor and must use plain statements only), a
    transaction of its own with a session on PostgreSQL.  ``fn`` must not touch the
    Flask request or ``current_user``: it may run on another request's thread."""
    if not database.is_sqlite:
        with database.transaction() as session:
            return fn(session)
    writer = _writers.get(database)
    if writer is None:
        with _writers_lock:
            writer = _writers.get(database)
            if writer is None:
                writer = _writers[database] = GroupCommit(database)
    return writer.run(fn)
