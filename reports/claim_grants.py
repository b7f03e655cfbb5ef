"""The month's subsidy grants one by one, for the per-grant CSV and the XLSX: streamed
(a server-side cursor on PostgreSQL), so a district's month is written without holding it
in memory."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterator

from sqlalchemy import and_, select
from sqlmodel import Session

from reports.claim_queries import month_bounds
from reports.queries import DC, D, G, S, CanteenInfo, pseudonym


@dataclass(frozen=True)
class GrantRow:
    """One grant of the month for the per-grant CSV (voided grants included, claiming 0)."""

    canteen: str
    canteen_name: str
    business_date: date
    granted_at: datetime
    receipt_no: int
    diner: str
    masked_id: str
    kind: str
    amount_fen: int
    policy_version: str
    rule_id: str
    period: str
    voided: bool
    closed: bool

    @property
    def claimed_fen(self) -> int:
        """What this grant adds to the claim: its amount, or 0 when voided."""
        return 0 if self.voided else self.amount_fen


def grant_rows(*, session: Session, canteens: tuple[CanteenInfo, ...], month: date,
               batch: int = 5000) -> Iterator[GrantRow]:
    """Stream the month's grants in canteen, date and time order (server-side cursor on
    PostgreSQL), so a district's month is written without holding it in memory."""
    first, last = month_bounds(month)
    names = {c.code: c.name for c in canteens}
    q = (select(G.c.canteen_id, G.c.business_date, G.c.granted_at, S.c.receipt_no, G.c.diner_key, D.c.id_masked,
                G.c.kind, G.c.amount_fen, G.c.policy_version, G.c.rule_id, G.c.period, G.c.voided,
                DC.c.business_date.is_not(None))
         .select_from(G.join(S, S.c.id == G.c.sale_id).outerjoin(D, D.c.id == G.c.diner_id)
                      .outerjoin(DC, and_(DC.c.canteen_id == G.c.canteen_id, DC.c.business_date == G.c.business_date)))
         .where(G.c.canteen_id.in_(list(names)), G.c.business_date.between(first, last))
         .order_by(G.c.canteen_id, G.c.business_date, G.c.granted_at, S.c.receipt_no))
    result = session.connection().execution_options(stream_results=True, yield_per=batch).execute(q)
    for r in result:
        yield GrantRow(r[0], names[r[0]], r[1], r[2], r[3], pseudonym(r[4]), r[5] or "", r[6], r[7], r[8], r[9],
                       r[10], bool(r[11]), bool(r[12]))
