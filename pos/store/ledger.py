"""The per-canteen hash chain over sales, sale lines, subsidy grants, voids and corrections.

Every row inserted into one of those five tables takes the next ``chain_seq`` of its
canteen and carries ``prev_hash`` (the ``row_hash`` of the row before it, 64 zeros for the
first) and ``row_hash = SHA-256(prev_hash + canonical JSON of the row)``.  The canonical
JSON leaves out the two hash columns and the two status flags that a void flips
(``sales.status`` and ``subsidy_grants.voided``); :func:`verify_chain` checks those flags
against the void rows instead.  ``canteens.chain_seq`` / ``chain_head`` name the newest row.

Writers take the chain with :func:`open_chain` before they append to it: it locks the
canteen row (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the transaction's ``BEGIN
IMMEDIATE`` already serialises writers), so two tills never take the same position and
everything read after the lock sees every earlier row.  A row belongs to a business
date; a closed date takes no more rows, and the lock says so in the same statement (the
day close takes the lock too, so no row slips in while a day is being closed).
"""
from __future__ import annotations

import hashlib
import heapq
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterator, NamedTuple

from sqlalchemy import Table, bindparam, select
from sqlmodel import Session

from pos.models import Canteen, Correction, DayClose, Sale, SaleLine, SubsidyGrant, Void
from pos.refusal import Refusal
from pos.tx import Tx

GENESIS = "0" * 64
CHAINED: dict[str, Table] = {
    "sales": Sale.__table__,
    "sale_lines": SaleLine.__table__,
    "subsidy_grants": SubsidyGrant.__table__,
    "voids": Void.__table__,
    "corrections": Correction.__table__,
}
# Status flags a void flips after the row was hashed; checked against the voids table.
MUTABLE = {"sales": frozenset({"status"}), "subsidy_grants": frozenset({"voided"})}
_ALWAYS_LEFT_OUT = frozenset({"prev_hash", "row_hash"})
_HASHED_COLUMNS = {name: tuple(sorted(c.name for c in t.columns if c.name not in _ALWAYS_LEFT_OUT
                                      and c.name not in MUTABLE.get(name, ())))
                   for name, t in CHAINED.items()}


def _plain(value: Any) -> Any:
    """A column value in the one form both engines give back (dates as ISO text)."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


# Columns a later schema added to a chained table: hashed only when set, so the rows
# written before them keep the hash they were written with.
ADDED_LATER = {"corrections": frozenset({"approved_by"})}


def canonical(table: str, row: dict[str, Any]) -> str:
    """The hashed content of a row: its table and hashed columns as sorted, compact JSON."""
    later = ADDED_LATER.get(table, frozenset())
    body = {name: _plain(row.get(name)) for name in _HASHED_COLUMNS[table]
            if name not in later or row.get(name) is not None}
    return json.dumps({"table": table, "row": body}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def row_hash(table: str, prev_hash: str, row: dict[str, Any]) -> str:
    """SHA-256 (hex) of ``prev_hash`` followed by the row's canonical JSON."""
    return hashlib.sha256((prev_hash + canonical(table, row)).encode("utf-8")).hexdigest()


_CANTEENS = Canteen.__table__
_HEAD = select(_CANTEENS.c.chain_seq, _CANTEENS.c.chain_head).where(_CANTEENS.c.id == bindparam("c"))
_HEAD_SQL = "SELECT chain_seq, chain_head FROM canteens WHERE id = :c"
_HEAD_OPEN_SQL = ("SELECT chain_seq, chain_head, EXISTS (SELECT 1 FROM day_closes d WHERE d.canteen_id = canteens.id "
                  "AND d.business_date = :d) FROM canteens WHERE id = :c")
_SAVE_SQL = "UPDATE canteens SET chain_seq = :seq, chain_head = :head WHERE id = :c"


class ChainWriter:
    """The chain of one canteen inside one write transaction (see :func:`open_chain`)."""

    def __init__(self, tx: Tx, canteen_id: str, seq: int, head: str):
        self.tx, self.canteen_id = tx, canteen_id
        self.seq, self.head = seq, head or GENESIS
        self._start = seq

    def stamp(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        """Give ``row`` (a dict about to be inserted into ``table``) its chain position
        and hashes, in place; returns it."""
        self.seq += 1
        row["chain_seq"] = self.seq
        row["prev_hash"] = self.head
        row["row_hash"] = self.head = row_hash(table, self.head, row)
        return row

    def save(self) -> None:
        """Record the new head on the canteen row (call once, after the inserts)."""
        if self.seq != self._start:
            self.tx.execute(_SAVE_SQL, {"c": self.canteen_id, "seq": self.seq, "head": self.head})
            self._start = self.seq


def open_chain(tx: Tx | Session, *, canteen_id: str, business_date: date | None = None) -> ChainWriter:
    """Lock the canteen's chain for this transaction and return a writer positioned at its
    head, for rows of ``business_date`` (None: the day close itself).

    Refuses an unknown canteen, and (``day_closed``) a business date that is closed.
    """
    tx = Tx.of(tx)
    sql = _HEAD_SQL if business_date is None else _HEAD_OPEN_SQL
    found = tx.one(sql if tx.sqlite else sql + " FOR UPDATE", {"c": canteen_id, "d": business_date})
    if found is None:
        raise Refusal("unknown_canteen", "没有这个食堂", f"unknown canteen {canteen_id!r}")
    if business_date is not None and found[2]:
        raise day_closed(business_date)
    return ChainWriter(tx, canteen_id, found[0], found[1])


def day_closed(business_date: date) -> Refusal:
    """The refusal of anything more on a closed business date."""
    return Refusal("day_closed", f"{business_date.isoformat()} 已日结，不能再收款或作废；更正请另开更正单",
                   f"business date {business_date.isoformat()} is closed: no sale or void for it is accepted; "
                   f"book a correction instead")


class Break(NamedTuple):
    """Where the chain first goes wrong: the table, row id, chain position and the problem."""

    table: str
    id: str
    chain_seq: int
    problem: str


@dataclass(frozen=True)
class VerifyResult:
    """``ok`` when every row's hash, link and status flag checks out; ``rows_checked``
    counts the chained rows read; ``first_broken`` is the first problem in chain order."""

    ok: bool
    rows_checked: int
    first_broken: Break | None = None


def _rows(session: Session, table: str, canteen_id: str) -> Iterator[tuple[int, str, dict]]:
    t = CHAINED[table]
    result = session.connection().execute(
        select(t).where(t.c.canteen_id == canteen_id).order_by(t.c.chain_seq))
    for r in result.mappings():
        yield r["chain_seq"], table, dict(r)


def verify_chain(*, session: Session, canteen_id: str) -> VerifyResult:
    """Recompute the canteen's chain in ``chain_seq`` order across the five tables.

    Checks that positions run 1, 2, 3… without gaps or repeats, that each row links to
    the one before, that each ``row_hash`` matches the row's content, that the canteen
    row names the last position and hash, and that ``sales.status`` and
    ``subsidy_grants.voided`` agree with the void rows.  Problems are returned as data.
    """
    canteen = session.connection().execute(_HEAD, {"c": canteen_id}).first()
    if canteen is None:
        return VerifyResult(False, 0, Break("canteens", canteen_id, 0, "unknown canteen"))
    voided_sales: set[str] = set()
    sale_status: dict[str, tuple[str, int]] = {}
    grant_flags: list[tuple[str, str, int, bool]] = []
    expected_seq, prev, checked = 1, GENESIS, 0
    first: Break | None = None
    merged = heapq.merge(*(_rows(session, name, canteen_id) for name in CHAINED), key=lambda x: x[0])
    for seq, table, row in merged:
        checked += 1
        if table == "voids":
            voided_sales.add(row["sale_id"])
        elif table == "sales":
            sale_status[row["id"]] = (row["status"], seq)
        elif table == "subsidy_grants":
            grant_flags.append((row["id"], row["sale_id"], seq, bool(row["voided"])))
        if first is not None:
            continue
        if seq != expected_seq:
            problem = "repeated chain position" if seq < expected_seq else f"gap: expected position {expected_seq}"
            first = Break(table, row["id"], seq, problem)
        elif row["prev_hash"] != prev:
            first = Break(table, row["id"], seq, "prev_hash does not match the row before")
        elif row["row_hash"] != row_hash(table, prev, row):
            first = Break(table, row["id"], seq, "row_hash does not match the row's content")
        prev = row["row_hash"]
        expected_seq = seq + 1
    if first is None and (canteen[0] != expected_seq - 1 or (canteen[1] or GENESIS) != prev):
        first = Break("canteens", canteen_id, canteen[0], "canteen chain head does not match the last row")
    flag_problems: list[Break] = []
    for sale_id, (status, seq) in sale_status.items():
        if (status == "voided") != (sale_id in voided_sales):
            flag_problems.append(Break("sales", sale_id, seq, f"status {status!r} disagrees with the voids table"))
    for grant_id, sale_id, seq, voided in grant_flags:
        if voided != (sale_id in voided_sales):
            flag_problems.append(Break("subsidy_grants", grant_id, seq,
                                       f"voided={voided} disagrees with the voids table"))
    if flag_problems:
        earliest = min(flag_problems, key=lambda b: b.chain_seq)
        if first is None or earliest.chain_seq < first.chain_seq:
            first = earliest
    return VerifyResult(first is None, checked, first)


class CloseMismatch(NamedTuple):
    """A day close whose recorded chain head is no longer the hash at its position."""

    business_date: str
    chain_seq: int
    recorded: str
    found: str | None


def day_close_mismatches(*, session: Session, canteen_id: str) -> list[CloseMismatch]:
    """Day closes whose recorded chain head is not the row_hash found at their position."""
    closes = session.connection().execute(
        select(DayClose.__table__.c.business_date, DayClose.__table__.c.chain_seq, DayClose.__table__.c.chain_head)
        .where(DayClose.__table__.c.canteen_id == canteen_id, DayClose.__table__.c.chain_seq > 0)
        .order_by(DayClose.__table__.c.chain_seq)).all()
    out = []
    for business_date, seq, head in closes:
        found = None
        for t in CHAINED.values():
            found = session.connection().execute(
                select(t.c.row_hash).where(t.c.canteen_id == canteen_id, t.c.chain_seq == seq)).scalar()
            if found is not None:
                break
        if found != head:
            out.append(CloseMismatch(str(business_date), seq, head, found))
    return out
