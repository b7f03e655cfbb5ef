"""A diner's rights over what the registry holds about them (PIPL arts. 44–47): to see it
(an export of every record), to correct it (the edit with history, :func:`pos.store.diners.edit_diner`),
and to have it erased.

Erasure removes what identifies the person — name, phone, masked ID, the notes kept about
them, the values in their change history (the append-only audit log holds none of these) — and revokes
their vouchers; the row itself stays (sales and grants refer to it by id) with a neutral
placeholder in the NOT NULL columns, and ``diner_erasures`` records who erased them, when
and why.  What the claims need stays: the grants, which name the diner only by pseudonym
(``diner_key``) and id.  Nothing on the hash chain is touched (the chain hashes sales,
lines, grants, voids and corrections, none of which holds a name, a phone or a masked ID),
so ``canteen verify`` still passes.  The day closes and claims already frozen keep their
figures, pseudonyms and recorded SHA-256 (accounting records kept for the archive period);
the masked ID beside the diner's pseudonym goes from their documents too, and each
document so redacted is recorded (:mod:`pos.store.redactions`).  A sale's kept answer (an
idempotency key gives it again to a retry) loses the masked name.

After the retention (``registry.retention_years``, the accounting archive period), the
purge removes what may go: for an erased diner whose last subsidised meal is in a month
older than the retention, their pseudonym (``diners.id_hmac``, so a resident ID number no
longer finds them), their change history and their vouchers.  Their grants keep the
``diner_key`` they were chained with: changing it would break the ledger every claim
relies on, and it is a keyed digest that only the ID key and the person's own number
reproduce.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlmodel import Session

from pos.clock import naive_utc
from pos.refusal import Refusal
from pos.store.audit import audit
from pos.store.diners import get_diner
from pos.store.redactions import redact_diner
from pos.tx import Tx
from reports.queries import pseudonym

FORMAT = "canteen-diner-export/1"
#: What an erased text column holds instead of the person's data.
ERASED = "已删除"
#: The pseudonym an erased diner keeps after the purge: never the HMAC of any number.
PURGED_PREFIX = "purged:"
MAX_REASON = 200
#: Tables read field by field below; any other table with a ``diner_id`` column (life
#: events, verifications, … as the schema grows) is exported row by row, and its note
#: columns are erased.
_KNOWN = frozenset({"diners", "diner_changes", "vouchers", "sales", "subsidy_grants", "diner_erasures"})
_NOTE_COLUMNS = ("note", "notes", "proof", "worker_proof")
#: Columns of ``diners`` the export names itself, or leaves out (the pseudonym).
_DINER_READ = frozenset({"id", "name", "id_hmac", "id_masked", "birth_date", "resident", "community", "worker_category",
                         "worker_proof", "worker_verified_by", "worker_verified_at", "phone", "suspended", "created_by",
                         "created_at", "updated_at"})


_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$")


def _plain(value: Any) -> Any:
    """A column value in the one form both engines give (SQLite hands back timestamps as text)."""
    if isinstance(value, str) and _TIMESTAMP.match(value):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _rows(tx: Tx, sql: str, params: dict) -> list[dict[str, Any]]:
    cur = tx.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [{n: _plain(v) for n, v in zip(names, row)} for row in cur.fetchall()]


def _other_tables(session: Session) -> list[tuple[str, list[str]]]:
    """Tables beyond the known ones that hold rows about one diner (a ``diner_id`` column)."""
    insp = sa_inspect(session.connection())
    out = []
    for name in sorted(insp.get_table_names()):
        if name in _KNOWN:
            continue
        cols = [c["name"] for c in insp.get_columns(name)]
        if "diner_id" in cols:
            out.append((name, cols))
    return out


def erasure_of(tx: Tx | Session, diner_id: str) -> dict[str, Any] | None:
    """The erasure record of a diner (who, when, why, purged when), or None."""
    rows = _rows(Tx.of(tx), "SELECT e.erased_at, u.username AS erased_by, u.display_name AS erased_by_name, e.reason, "
                            "e.purged_at FROM diner_erasures e JOIN staff_users u ON u.id = e.erased_by "
                            "WHERE e.diner_id = :d", {"d": diner_id})
    return rows[0] if rows else None


# -- export ---------------------------------------------------------------------------------------

def export_diner(*, session: Session, diner_id: str, community: str | None, generated_at: datetime, actor: Any,
                 as_format: str = "json", address: str = "", canteen_id: str | None = None) -> dict[str, Any]:
    """Everything held about one diner, as plain JSON-able data: the registration, the
    change history, the vouchers, the sales linked to them and the subsidised meals
    (grants by id or pseudonym: date, canteen, kind, amount), the audit entries about them,
    the erasure record, and the rows of any other table about them.  The resident ID
    number is never held, so never exported; the masked form is.  The export is noted in
    the audit log (``diner_exported``, with ``as_format``), in the caller's transaction."""
    d = get_diner(session=session, diner_id=diner_id, community=community)
    tx = Tx.of(session)
    staff = {r["id"]: r for r in _rows(tx, "SELECT id, username, display_name FROM staff_users", {})}
    canteens = {r["id"]: r["name"] for r in _rows(tx, "SELECT id, name FROM canteens", {})}

    def who(staff_id: str | None) -> str | None:
        return staff[staff_id]["display_name"] if staff_id in staff else None

    registration = {
        "id": d.id, "name": d.name, "masked_id": d.id_masked, "birth_date": _plain(d.birth_date),
        "resident": bool(d.resident), "community": d.community, "worker_category": d.worker_category,
        "worker_proof": d.worker_proof, "worker_verified_by": who(d.worker_verified_by),
        "worker_verified_at": _plain(d.worker_verified_at), "phone": d.phone, "suspended": bool(d.suspended),
        "registered_by": who(d.created_by), "registered_at": _plain(d.created_at), "updated_at": _plain(d.updated_at)}
    # Columns the registry has grown (verification dates and proof types, life events…):
    # every one but the pseudonym, a member of staff by name.
    row = _rows(tx, "SELECT * FROM diners WHERE id = :d", {"d": d.id})[0]
    for col, value in row.items():
        if col not in _DINER_READ:
            registration[col] = who(value) if col.endswith("_by") else value
    changes = [{"at": r["at"], "by": who(r["staff_id"]), "field": r["field"], "old_value": r["old_value"],
                "new_value": r["new_value"]}
               for r in _rows(tx, "SELECT at, staff_id, field, old_value, new_value FROM diner_changes "
                                  "WHERE diner_id = :d ORDER BY at, id", {"d": d.id})]
    vouchers = [{**r, "issued_by": who(r.pop("issued_by"))}
                for r in _rows(tx, "SELECT id, version, code, status, valid_until, issued_by, issued_at, revoked_at "
                                   "FROM vouchers WHERE diner_id = :d ORDER BY version", {"d": d.id})]
    sales = [{**r, "canteen": canteens.get(r["canteen_id"], r["canteen_id"])}
             for r in _rows(tx, "SELECT id, canteen_id, business_date, sold_at, receipt_no, credential_kind, gross_fen, "
                                "subsidy_fen, due_fen, tender_method, status FROM sales WHERE diner_id = :d "
                                "ORDER BY sold_at, id", {"d": d.id})]
    meals = [{**r, "voided": bool(r["voided"]), "canteen": canteens.get(r["canteen_id"], r["canteen_id"])}
             for r in _rows(tx, "SELECT g.id, g.business_date, g.period, g.canteen_id, s.receipt_no, g.kind, "
                                "g.amount_fen, g.policy_version, g.rule_id, g.reason_zh, g.reason_en, g.granted_at, "
                                "g.voided FROM subsidy_grants g JOIN sales s ON s.id = g.sale_id "
                                "WHERE g.diner_id = :d OR g.diner_key = :k ORDER BY g.granted_at, g.id",
                                {"d": d.id, "k": d.id_hmac})]
    trail = _rows(tx, "SELECT at, actor, action, canteen_id FROM audit_log WHERE target = :d ORDER BY at, id",
                  {"d": d.id})
    other = {}
    for table, cols in _other_tables(session):
        rows = _rows(tx, f"SELECT * FROM {table} WHERE diner_id = :d", {"d": d.id})  # noqa: S608 - a schema table name
        if rows:
            other[table] = rows
    live = [m for m in meals if not m["voided"]]
    audit(tx=tx, action="diner_exported", actor=actor, canteen_id=canteen_id, target=d.id,
          detail={"format": as_format}, address=address)
    return {
        "format": FORMAT,
        "generated_at": _plain(generated_at),
        "diner": registration,
        "erasure": erasure_of(tx, d.id),
        "changes": changes,
        "vouchers": vouchers,
        "sales": sales,
        "subsidised_meals": meals,
        "totals": {"subsidised_meals": len(live), "subsidy_fen": sum(m["amount_fen"] for m in live)},
        "audit": trail,
        "other_records": other,
    }


def export_json(export: dict[str, Any]) -> str:
    """The export as the person gets it: indented UTF-8 JSON."""
    return json.dumps(export, ensure_ascii=False, indent=2, sort_keys=False, default=str)


# -- erasure --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Erased:
    """What an erasure did: the diner, the vouchers revoked, the history rows cleared."""

    diner_id: str
    vouchers_revoked: int
    changes_cleared: int


def _erase_from_answers(tx: Tx, diner_id: str) -> int:
    """Replace the masked name in the kept answers of the diner's sales (an idempotency
    key keeps the first answer to give it again to a retry); returns how many."""
    count = 0
    for user_id, key, body in tx.all("SELECT user_id, key, response_json FROM idempotency_keys "
                                     "WHERE response_json LIKE :p", {"p": f'%"{diner_id}"%'}):
        try:
            tree = json.loads(body)
        except ValueError:
            continue
        if _erase_masked_names(tree, diner_id):
            tx.execute("UPDATE idempotency_keys SET response_json = :r WHERE user_id = :u AND key = :k",
                       {"r": json.dumps(tree, ensure_ascii=False, separators=(",", ":")), "u": user_id, "k": key})
            count += 1
    return count


def _erase_masked_names(tree: Any, diner_id: str) -> bool:
    found = False
    if isinstance(tree, dict):
        if tree.get("diner_id") == diner_id and tree.get("masked_name") not in (None, ERASED):
            tree["masked_name"] = ERASED
            found = True
        values: Any = tree.values()
    elif isinstance(tree, list):
        values = tree
    else:
        return False
    for value in values:
        found = _erase_masked_names(value, diner_id) or found
    return found


def erase_diner(*, session: Session, diner_id: str, actor: Any, community: str | None, reason: str,
                address: str = "", canteen_id: str | None = None) -> Erased:
    """Erase a diner at their request (see the module docstring), noted in the audit log
    (``diner_erased``; the reason is kept in ``diner_erasures`` only, as it may name the
    person).  Refuses an empty reason and a diner erased already."""
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise Refusal("reason_required", "请填写删除原因（200 字以内）", "a reason is required (at most 200 characters)")
    d = get_diner(session=session, diner_id=diner_id, community=community, for_update=True)
    tx = Tx.of(session)
    if tx.one("SELECT 1 FROM diner_erasures WHERE diner_id = :d", {"d": d.id}) is not None:
        raise Refusal("diner_erased", "该就餐者的个人信息已删除", "this diner's personal data has been erased already")
    now = naive_utc()
    # The frozen documents first, while the masked IDs the diner has had are still known
    # (the current one, and those an ID correction replaced, kept in diner_changes).
    masked = {d.id_masked} | {v for row in tx.all("SELECT old_value, new_value FROM diner_changes WHERE diner_id = :d "
                                                  "AND field = 'id_number'", {"d": d.id}) for v in row if v}
    keys = {d.id_hmac} | {r[0] for r in tx.all("SELECT DISTINCT diner_key FROM subsidy_grants WHERE diner_id = :d",
                                               {"d": d.id})}
    redacted = redact_diner(tx, diner_id=d.id, pseudonyms={pseudonym(k) for k in keys}, masked_ids=masked,
                            placeholder=ERASED, at=now)
    answers = _erase_from_answers(tx, d.id)
    revoked = tx.execute("UPDATE vouchers SET status = 'revoked', revoked_at = :at WHERE diner_id = :d "
                         "AND status = 'active'", {"at": now, "d": d.id}).rowcount
    changes = tx.execute("UPDATE diner_changes SET old_value = :e, new_value = :e WHERE diner_id = :d",
                         {"e": ERASED, "d": d.id}).rowcount
    # The audit log is append-only and never holds a name, phone or masked ID (the
    # registration's entry names the diner by id): nothing in it to erase.
    for table, cols in _other_tables(session):
        notes = [c for c in cols if c in _NOTE_COLUMNS]
        if notes:
            sets = ", ".join(f"{c} = CASE WHEN {c} IS NULL OR {c} = '' THEN {c} ELSE :e END" for c in notes)
            tx.execute(f"UPDATE {table} SET {sets} WHERE diner_id = :d", {"e": ERASED, "d": d.id})  # noqa: S608
    # Notes about the diner the registry has grown (a life event's note…) go with the rest.
    notes = "".join(f", {c['name']} = ''" for c in sa_inspect(session.connection()).get_columns("diners")
                    if c["name"].endswith("note") and c["name"] not in _DINER_READ)
    tx.execute("UPDATE diners SET name = :e, phone = NULL, id_masked = :e, worker_proof = '', suspended = :t, "
               f"updated_at = :at{notes} WHERE id = :d", {"e": ERASED, "t": True, "at": now, "d": d.id})
    tx.execute("INSERT INTO diner_erasures (diner_id, erased_at, erased_by, reason) VALUES (:d, :at, :by, :r)",
               {"d": d.id, "at": now, "by": actor.id, "r": reason})
    audit(tx=tx, action="diner_erased", actor=actor, canteen_id=canteen_id, target=d.id,
          detail={"vouchers_revoked": revoked, "changes_cleared": changes, "document_fields_redacted": redacted,
                  "answers_cleared": answers})
    session.expire_all()
    return Erased(d.id, revoked, changes)


# -- purge after the retention ------------------------------------------------------------------

@dataclass(frozen=True)
class Purgeable:
    """An erased diner the purge removes (or would, on a dry run): when they were erased
    and the date of their last subsidised meal (None: they had none)."""

    diner_id: str
    erased_at: datetime
    last_meal: date | None


def retention_start(today: date, years: int) -> date:
    """The first day of the oldest month still inside the retention: a grant of this month
    or later may be in a claim that must still add up."""
    return date(today.year - years, today.month, 1)


def purgeable(tx: Tx | Session, *, today: date, retention_years: int) -> list[Purgeable]:
    """Erased diners not yet purged whose last subsidised meal (by id or pseudonym) is in
    a month before the retention, or who had none."""
    tx = Tx.of(tx)
    start = retention_start(today, retention_years)
    rows = tx.all(
        "SELECT e.diner_id, e.erased_at, (SELECT MAX(g.business_date) FROM subsidy_grants g "
        "WHERE g.diner_id = e.diner_id OR g.diner_key = d.id_hmac) FROM diner_erasures e "
        "JOIN diners d ON d.id = e.diner_id WHERE e.purged_at IS NULL ORDER BY e.erased_at, e.diner_id", {})
    out = []
    for diner_id, erased_at, last in rows:
        last = tx.date(last) if last is not None else None
        if last is None or last < start:
            out.append(Purgeable(diner_id, tx.datetime(erased_at), last))
    return out


def purge(tx: Tx | Session, *, today: date, retention_years: int, actor: Any = "cli") -> list[Purgeable]:
    """Purge what may go (see :func:`purgeable`): the pseudonym, change history and
    vouchers of each; returns them.  The diner row and their grants stay (sales and the
    hash chain refer to them), now with nothing that leads back to a person.  Noted in the
    audit log (``diners_purged``, one entry naming each diner purged; none when nothing was)."""
    tx = Tx.of(tx)
    found = purgeable(tx, today=today, retention_years=retention_years)
    now = naive_utc()
    for p in found:
        tx.execute("DELETE FROM diner_changes WHERE diner_id = :d", {"d": p.diner_id})
        tx.execute("DELETE FROM vouchers WHERE diner_id = :d", {"d": p.diner_id})
        tx.execute("UPDATE diners SET id_hmac = :k, updated_at = :at WHERE id = :d",
                   {"k": PURGED_PREFIX + p.diner_id, "at": now, "d": p.diner_id})
        tx.execute("UPDATE diner_erasures SET purged_at = :at WHERE diner_id = :d", {"at": now, "d": p.diner_id})
    if found:
        audit(tx=tx, action="diners_purged", actor=actor,
              detail={"diners": [p.diner_id for p in found], "retention_years": retention_years,
                      "kept_from": retention_start(today, retention_years).isoformat()})
    return found
