"""The monthly claim as a record over the API, for the accountant, the community approver
and a district or civil-affairs platform (role ``platform``, bearer token):

* GET  /api/v1/claims                 claims in the caller's scope (filters: month, state, canteen)
* GET  /api/v1/claims/{id}            the claim's state and its frozen document (format canteen-claim/1,
                                      JSON Schema in reports/claim-1.schema.json)
* POST /api/v1/claims                 submit (or submit again after a return)
* POST /api/v1/claims/{id}/approve    approve (someone other than the submitter)
* POST /api/v1/claims/{id}/return     return with a reason
* POST /api/v1/claims/{id}/payments   record a payment (part or all of the balance)

Money is integer fen.  The store (:mod:`pos.store.claims`) enforces the state machine.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Literal, Optional

from flask import Response
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field

from pos.clock import now_utc
from pos.refusal import Refusal
from pos.store import claims as claims_store
from pos.store.redactions import redactions_of
from pos.web.api.answers import Out
from pos.web.api.blueprint import ERRORS, api
from pos.web.api.schemas import Parameters, Strict
from pos.web.input_policy import check_day, check_month
from pos.web.signin import canteen_named, client_address, db, settings, visible_canteens
from reports.claim_queries import parse_month


class ClaimEventOut(Out):
    at: str
    actor: str
    action: Literal["submitted", "returned", "approved", "paid"]
    revision: int
    note: str
    amount_fen: Optional[int]
    paid_on: Optional[str]


class ClaimOut(Out):
    id: str
    month: str = Field(description="YYYY-MM")
    scope_kind: Literal["canteen", "community"]
    scope: str
    canteens: list[str]
    state: Literal["submitted", "returned", "approved", "paid"]
    revision: int
    net_fen: int = Field(description="what the revision in force claims, after adjustments")
    paid_fen: int
    balance_fen: int
    submitted_at: str
    content_sha256: str = Field(description="SHA-256 of the frozen document's canonical JSON")
    events: list[ClaimEventOut]


class ClaimListOut(Out):
    claims: list[ClaimOut]


class ClaimDocumentOut(BaseModel):
    """The frozen claim document; its full shape is reports/claim-1.schema.json."""

    model_config = ConfigDict(extra="allow")
    format: Literal["canteen-claim/1"]
    claim_id: str
    revision: int
    month: str
    totals: dict[str, int]
    lines: list[dict[str, Any]]
    day_closes: list[dict[str, Any]]


class RedactionOut(Out):
    """A diner's erasure replaced masked IDs in this frozen document (the figures and the
    recorded SHA-256 stay)."""

    redacted_at: str
    fields: int


class ClaimWithDocumentOut(Out):
    claim: ClaimOut
    document: ClaimDocumentOut
    redactions: list[RedactionOut] = Field(default_factory=list,
                                           description="masked IDs replaced since submission by a diner's erasure")


def claim_out(c: claims_store.ClaimRecord) -> ClaimOut:
    return ClaimOut(id=c.id, month=f"{c.month:%Y-%m}", scope_kind=c.scope_kind, scope=c.scope,
                    canteens=list(c.canteens), state=c.state, revision=c.revision, net_fen=c.net_fen,
                    paid_fen=c.paid_fen, balance_fen=c.balance_fen, submitted_at=c.submitted_at.isoformat() + "Z",
                    content_sha256=c.content_sha256,
                    events=[ClaimEventOut(at=e.at.isoformat() + "Z", actor=e.actor, action=e.action,
                                          revision=e.revision, note=e.note, amount_fen=e.amount_fen,
                                          paid_on=e.paid_on.isoformat() if e.paid_on else None) for e in c.events])


class ClaimsQuery(Parameters):
    model_config = ConfigDict(extra="forbid")
    month: Optional[str] = Field(default=None, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")
    state: Optional[Literal["submitted", "returned", "approved", "paid"]] = None
    canteen: Optional[str] = Field(default=None, min_length=1, max_length=32)


class ClaimPath(Strict):
    claim_id: str = Field(min_length=1, max_length=64)


class SubmitIn(Strict):
    month: str = Field(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")
    scope_kind: Literal["canteen", "community"] = "canteen"
    scope: Optional[str] = Field(default=None, min_length=1, max_length=64,
                                 description="canteen code or community name (default: the caller's)")
    explanations: dict[str, str] = Field(default_factory=dict,
                                         description="a written explanation for each failed edit check, by code")


class ReturnIn(Strict):
    reason: str = Field(min_length=1, max_length=500)


class PaymentIn(Strict):
    amount_fen: int = Field(gt=0, description="fen received")
    paid_on: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")
    reference: str = Field(min_length=1, max_length=100, description="the bank or platform payment reference")


def _json(model) -> Response:
    return Response(model.model_dump_json(), mimetype="application/json")


def month_of(text: str) -> date:
    """``YYYY-MM`` → its first day, or ``bad_month``."""
    try:
        month = parse_month(text)
    except ValueError as e:
        raise Refusal("bad_month", "月份格式应为 YYYY-MM", str(e)) from None
    return check_month(month)


def visible_claim(claim_id: str) -> claims_store.ClaimRecord:
    """The claim, if every canteen it covers is in the caller's scope (else 403)."""
    with db().tx() as tx:
        claim = claims_store.get_claim(tx, claim_id)
    for code in claim.canteens:
        canteen_named(code)
    return claim


def default_scope(kind: str, scope: str | None) -> str:
    """The caller's own canteen or community when the request names none; checked against their scope."""
    if kind == "canteen":
        return canteen_named(scope).code
    name = scope or (current_user.community or canteen_named(None).community)
    for code in claims_store.scope_canteens(settings(), "community", name):
        canteen_named(code)
    return name


@api.get("/claims", responses={200: ClaimListOut, **ERRORS})
def claims_list(query: ClaimsQuery):
    """Claims covering canteens in the caller's scope, newest month first."""
    codes = [c.code for c in visible_canteens()]
    if query.canteen is not None:
        codes = [canteen_named(query.canteen).code]
    with db().tx() as tx:
        found = claims_store.list_claims(tx, canteens=codes, month=month_of(query.month) if query.month else None,
                                         state=query.state)
    return _json(ClaimListOut(claims=[claim_out(c) for c in found]))


@api.get("/claims/<claim_id>", responses={200: ClaimWithDocumentOut, **ERRORS})
def claim_get(path: ClaimPath):
    """A claim's state and the frozen document of the revision in force (canteen-claim/1)."""
    claim = visible_claim(path.claim_id)
    with db().tx() as tx:
        document, _ = claims_store.claim_content(tx, claim.id)
        redacted = redactions_of(tx, document="claim_revision", key=f"{claim.id} {claim.revision}")
    return _json(ClaimWithDocumentOut(claim=claim_out(claim), document=ClaimDocumentOut(**document),
                                      redactions=[RedactionOut(redacted_at=at.isoformat() + "Z", fields=n)
                                                  for at, n in redacted]))


@api.post("/claims", responses={201: ClaimOut, **ERRORS})
def claims_submit(body: SubmitIn):
    """Submit the month's claim (every day closed; failed checks explained)."""
    scope = default_scope(body.scope_kind, body.scope)
    with db().transaction() as s:
        claim = claims_store.submit_claim(session=s, settings=settings(), scope_kind=body.scope_kind, scope=scope,
                                          month=month_of(body.month), actor=current_user, now=now_utc(),
                                          explanations=body.explanations, address=client_address())
    return _json(claim_out(claim)), 201


@api.post("/claims/<claim_id>/approve", responses={200: ClaimOut, **ERRORS})
def claim_approve(path: ClaimPath):
    """Approve a submitted claim (the community approver; not the submitter)."""
    visible_claim(path.claim_id)
    with db().transaction() as s:
        claim = claims_store.approve_claim(session=s, claim_id=path.claim_id, actor=current_user, now=now_utc(),
                                           address=client_address())
    return _json(claim_out(claim))


@api.post("/claims/<claim_id>/return", responses={200: ClaimOut, **ERRORS})
def claim_return(path: ClaimPath, body: ReturnIn):
    """Return a submitted claim with a reason (not the submitter)."""
    visible_claim(path.claim_id)
    with db().transaction() as s:
        claim = claims_store.return_claim(session=s, claim_id=path.claim_id, actor=current_user, reason=body.reason,
                                          now=now_utc(), address=client_address())
    return _json(claim_out(claim))


@api.post("/claims/<claim_id>/payments", responses={201: ClaimOut, **ERRORS})
def claim_payment(path: ClaimPath, body: PaymentIn):
    """Record a payment received for an approved claim."""
    claim = visible_claim(path.claim_id)
    try:
        paid_on = date.fromisoformat(body.paid_on)
    except ValueError:
        raise Refusal("bad_date", "日期格式应为 YYYY-MM-DD", f"not a date: {body.paid_on!r}") from None
    check_day(paid_on, "paid_on")
    tz = settings().canteen(claim.canteens[0]).timezone
    with db().transaction() as s:
        claim = claims_store.record_payment(session=s, claim_id=path.claim_id, actor=current_user,
                                            amount_fen=body.amount_fen, paid_on=paid_on, reference=body.reference,
                                            now=now_utc(), tz=tz, address=client_address())
    return _json(claim_out(claim)), 201
