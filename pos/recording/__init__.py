"""How a sale reaches the database: the :class:`Recorder` interface, and what serves it.

A view hands a :class:`pos.store.sales.SaleOrder` to the app's recorder; the recorder
opens the write transaction and runs :func:`pos.store.sales.record_sale` in it — claim
the key, gather the facts, decide, write the rows.  :class:`PlainRecorder` does exactly
that, one transaction per sale, and it is the only recorder: measured side by side in
``bench/bench_sales_http.py``, it meets the sale floor without batching sales into shared
transactions or a separate writer process.

One piece of machinery stays, because the same benchmark shows the floor missed without
it, and it is chosen here, when the app's database is opened: the SQLite writer lock
(:mod:`pos.recording.sqlite_writer_lock`; without it, tills on two server processes wait
in SQLite's busy handler and the 99th percentile passes 100 ms).  Sending a sale's rows to
PostgreSQL in one round trip (psycopg's pipeline mode) was measured too and went: the
plain recorder meets the floor there without it.
"""
from __future__ import annotations

from typing import Callable, Protocol

from pos.config import Settings
from pos.db import Database, sqlite_file
from pos.recording.sqlite_writer_lock import WriterLock
from pos.store.idempotency import Answer
from pos.store.sale_views import SaleView
from pos.store.offline_sales import OfflineOrder, record_offline_sale
from pos.store.sales import Recorded, SaleOrder, record_sale


class Recorder(Protocol):
    """Records sales: ``record_sale(order, answer=...)`` → :class:`pos.store.sales.Recorded`."""

    def record_sale(self, order: SaleOrder, *, answer: Callable[[SaleView], Answer]) -> Recorded: ...


class PlainRecorder:
    """One write transaction per sale."""

    def __init__(self, database: Database, settings: Settings):
        self.database, self.settings = database, settings

    def record_sale(self, order: SaleOrder, *, answer: Callable[[SaleView], Answer]) -> Recorded:
        with self.database.tx(write=True) as tx:
            if isinstance(order, OfflineOrder):  # a sale a till made offline, syncing
                return record_offline_sale(tx, settings=self.settings, order=order, answer=answer)
            return record_sale(tx, settings=self.settings, order=order, answer=answer)


def open_database(url: str, *, writer_lock: bool = True, write_wait_s: float | None = None) -> Database:
    """The app's database: on a SQLite file, with the writer lock beside it unless
    ``writer_lock`` is False.  ``write_wait_s``: how long a write waits for another writer
    (the lock; on PostgreSQL, a row or table lock) before it is refused as busy."""
    path = sqlite_file(url)
    lock = WriterLock(path + ".writer-lock", wait_s=write_wait_s) if path and writer_lock else None
    return Database(url, writer_lock=lock, lock_timeout_s=write_wait_s)
