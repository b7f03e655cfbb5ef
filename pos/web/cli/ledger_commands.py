"""`canteen verify`: recompute each canteen's hash chain and name the first broken row.

Exit status 0 and a summary when every chain is intact; 1 and the first broken row of
each broken canteen otherwise; 2 for an unknown canteen code.  Besides the chain itself
(:func:`pos.store.ledger.verify_chain`) it checks that the chain head each day close recorded
(printed on that day's report) is still the hash at that position, so a ledger rewritten
from some point on with freshly computed hashes is caught as well, and that each frozen
document (a day close's report, a claim revision) still hashes to the digest recorded when
it was frozen, or to the one its last redaction by an erasure recorded.
"""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlmodel import Session

from pos.models import Canteen
from pos.store.ledger import day_close_mismatches, verify_chain
from pos.store.redactions import document_problems
from pos.tx import Tx


def verify_all(*, session: Session, canteen_ids: list[str]) -> tuple[bool, list[str]]:
    """Verify the canteens' chains; returns (all intact, lines to print)."""
    ok_all, lines, total = True, [], 0
    for code in canteen_ids:
        result = verify_chain(session=session, canteen_id=code)
        total += result.rows_checked
        if not result.ok:
            ok_all = False
            b = result.first_broken
            lines.append(f"{code}: BROKEN — first broken row: {b.table} id={b.id} (chain position {b.chain_seq}): "
                         f"{b.problem}; {result.rows_checked} rows checked")
            continue
        closes = day_close_mismatches(session=session, canteen_id=code)
        if closes:
            ok_all = False
            m = closes[0]
            lines.append(f"{code}: BROKEN — the day close of {m.business_date} recorded chain head {m.recorded[:16]}… "
                         f"at position {m.chain_seq}, the ledger now has {(m.found or 'no row')[:16]}…")
            continue
        documents = document_problems(Tx.of(session), canteen_id=code)
        if documents:
            ok_all = False
            p = documents[0]
            lines.append(f"{code}: BROKEN — the frozen {p.document.replace('_', ' ')} {p.key} was edited: its text hashes "
                         f"to {p.found[:16]}…, recorded {p.recorded[:16]}… (and no erasure redacted it to that)")
            continue
        head = session.get(Canteen, code)
        lines.append(f"{code}: intact — {result.rows_checked} rows checked, chain position {head.chain_seq}, "
                     f"head {head.chain_head[:16] or '-'}")
    verdict = "intact" if ok_all else "BROKEN"
    lines.append(f"ledger {verdict}: {len(canteen_ids)} canteen(s), {total} chained rows checked")
    return ok_all, lines


def register(cli: click.Group) -> None:
    @cli.command("verify")
    @click.option("--canteen", "code", default=None, help="Check one canteen (default: every canteen in the database).")
    @with_appcontext
    def verify(code: str | None):
        """Recompute the hash chain of sales, lines, grants, voids and corrections; exit 1
        naming the first broken row if anything was edited in place."""
        db = current_app.extensions["canteen_db"]
        with db.session() as s:
            ids = Canteen.__table__.c.id
            known = [r[0] for r in s.connection().execute(select(ids).order_by(ids))]
            if code is not None and code not in known:
                click.echo(f"canteen verify: unknown canteen {code!r} (in the database: {', '.join(known) or 'none'})",
                           err=True)
                sys.exit(2)
            ok, lines = verify_all(session=s, canteen_ids=[code] if code else known)
        for line in lines:
            click.echo(line)
        sys.exit(0 if ok else 1)
