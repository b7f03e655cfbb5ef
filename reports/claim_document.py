"""The submitted claim as one document: what a district or civil-affairs platform takes
as data, and what the claim's PDF and CSV are printed from once it is submitted.

The document (format ``canteen-claim/1``, described by ``reports/claim-1.schema.json``)
holds the claim's whole content at submission: the canteens and month, the claim data
(days, canteens, diners, policy versions, edit checks, adjustments), the lines by diner,
kind and policy version, every included day close's report SHA-256 and chain head, the
explanations given for failed checks, and the totals.  Its SHA-256 is taken over its
canonical JSON; nothing in it changes afterwards, whatever is booked later.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, false, func, select
from sqlmodel import Session

from reports.claim_queries import ClaimData, ClaimReport, month_bounds
from reports.frozen import thaw
from reports.queries import DC, G, as_tree, canonical_json, pseudonym, sha256_text

FORMAT = "canteen-claim/1"


@dataclass(frozen=True)
class ClaimLine:
    """A diner's live grants of one kind under one policy version at one canteen in the month."""

    canteen: str
    diner: str
    kind: str
    policy_version: str
    meals: int
    amount_fen: int


@dataclass(frozen=True)
class ClosedDay:
    """A day close the claim includes: the frozen daily report's SHA-256 and the ledger
    position and head at close."""

    canteen: str
    business_date: date
    report_sha256: str
    chain_seq: int
    chain_head: str


def claim_lines(*, session: Session, codes: list[str], month: date) -> tuple[ClaimLine, ...]:
    """The month's live grants grouped by canteen, diner (pseudonym), kind and policy version."""
    first, last = month_bounds(month)
    q = (select(G.c.canteen_id, G.c.diner_key, G.c.kind, G.c.policy_version, func.count(), func.sum(G.c.amount_fen))
         .where(G.c.canteen_id.in_(codes), G.c.business_date.between(first, last), G.c.voided == false())
         .group_by(G.c.canteen_id, G.c.diner_key, G.c.kind, G.c.policy_version)
         .order_by(G.c.canteen_id, G.c.diner_key, G.c.kind, G.c.policy_version))
    return tuple(ClaimLine(c, pseudonym(k), kind, v, int(n), int(a or 0))
                 for c, k, kind, v, n, a in session.connection().execute(q))


def closed_days(*, session: Session, codes: list[str], month: date) -> tuple[ClosedDay, ...]:
    """The day closes of the canteens in the month, by canteen and date."""
    first, last = month_bounds(month)
    q = (select(DC.c.canteen_id, DC.c.business_date, DC.c.report_sha256, DC.c.chain_seq, DC.c.chain_head)
         .where(and_(DC.c.canteen_id.in_(codes), DC.c.business_date.between(first, last)))
         .order_by(DC.c.canteen_id, DC.c.business_date))
    return tuple(ClosedDay(*r) for r in session.connection().execute(q))


def claim_document(*, claim_id: str, revision: int, scope_kind: str, scope: str, report: ClaimReport,
                   lines: tuple[ClaimLine, ...], days: tuple[ClosedDay, ...], explanations: dict[str, str],
                   submitted_at: datetime, submitted_by: str) -> dict[str, Any]:
    """The frozen claim document (plain JSON-able dict, dates as ISO text)."""
    d = report.data
    return json.loads(canonical_json({
        "format": FORMAT,
        "claim_id": claim_id,
        "revision": revision,
        "scope": {"kind": scope_kind, "name": scope, "title": report.scope},
        "month": f"{d.month:%Y-%m}",
        "timezone": report.timezone,
        "submitted_at": submitted_at,
        "submitted_by": submitted_by,
        "canteens": [as_tree(c) for c in d.canteens],
        "totals": {"age_count": d.age_count, "age_fen": d.age_fen, "free_count": d.free_count, "free_fen": d.free_fen,
                   "total_fen": d.total_fen, "adjustments_fen": d.corrections_subsidy_fen, "net_fen": d.net_fen,
                   "voided_count": d.voided_count, "voided_fen": d.voided_fen},
        "lines": [as_tree(x) for x in lines],
        "day_closes": [as_tree(x) for x in days],
        "explanations": dict(sorted(explanations.items())),
        "data_sha256": report.sha256,
        "data": as_tree(d),
    }))


def document_json(document: dict[str, Any]) -> str:
    """The document's canonical JSON (sorted keys, no spaces): what is stored and hashed."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def document_sha256(document: dict[str, Any]) -> str:
    """SHA-256 of :func:`document_json`."""
    return sha256_text(document_json(document))


def frozen_report(document: dict[str, Any]) -> ClaimReport:
    """The claim report as it was submitted, rebuilt from the document (for the PDF and CSV)."""
    return ClaimReport(data=thaw(ClaimData, document["data"]), scope=document["scope"]["title"],
                       sha256=document["data_sha256"], generated_at=datetime.fromisoformat(document["submitted_at"]),
                       timezone=document["timezone"])
