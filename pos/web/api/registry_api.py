"""The registry API: diners, vouchers and free-meal tickets (the menu: :mod:`pos.web.api.menu_api`).

Registrars (and admins) register diners and issue or revoke vouchers; registrars,
supervisors and admins print free-meal tickets.  Money is integer
fen.  A resident ID number is accepted in a request body only, never in a URL, and is
never returned.
"""
from __future__ import annotations

from datetime import date
from typing import Literal, Optional

from flask import jsonify, url_for
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from pos.clock import business_date
from pos.models import Voucher
from pos.store import diners as dstore
from pos.store import tokens
from pos.store import vouchers as vstore
from pos.store.audit import audit
from pos.refusal import Refusal
from pos.web.api.blueprint import ERRORS, api, pdf
from pos.web.api.schemas import Parameters, Strict
from pos.web import printing
from pos.web.signin import canteen_named, client_address, db, scope, settings
from subsidies.vocabulary import RESIDENCY_PROOFS, WORKER_CATEGORIES, WORKER_PROOFS

WorkerCategory = Literal[WORKER_CATEGORIES]  # type: ignore[valid-type]
WorkerProof = Literal[WORKER_PROOFS]  # type: ignore[valid-type]
ResidencyProof = Literal[RESIDENCY_PROOFS]  # type: ignore[valid-type]


def _diner_scope() -> str | None:
    return scope().diner_community(settings().default_canteen.community)


def _today(canteen_code: str | None = None):
    s = settings()
    tz = s.canteen(canteen_code).timezone if canteen_code else s.default_canteen.timezone
    return business_date(tz)


def _audit(session, action: str, *, target: str = "", detail: dict | None = None, canteen_id: str | None = None):
    audit(tx=session, action=action, actor=current_user, canteen_id=canteen_id or current_user.canteen_id,
          target=target, detail=detail, address=client_address())


def _voucher_out(issued: vstore.IssuedVoucher) -> dict:
    v = issued.voucher
    return {"id": v.id, "diner_id": v.diner_id, "version": v.version, "status": v.status, "url": issued.url,
            "token": issued.token, "code": v.code, "code_display": tokens.display_code(v.code),
            "valid_until": v.valid_until.isoformat()}


def _ticket_out(issued: vstore.IssuedTicket) -> dict:
    t = issued.ticket
    return {"id": t.id, "canteen": t.canteen_id, "business_date": t.business_date.isoformat(), "code": t.code,
            "code_display": tokens.display_code(t.code), "token": issued.token, "url": issued.url}


# --- diners -------------------------------------------------------------------------

class DinerIn(Strict):
    name: str = Field(min_length=1, max_length=50)
    id_number: str = Field(min_length=1, max_length=30, description="resident ID number; stored only as HMAC + masked form")
    resident: bool
    worker_category: Optional[WorkerCategory] = None
    worker_proof: str = Field(default="", max_length=200, description="a note of the employer proof seen")
    worker_proof_type: Optional[WorkerProof] = Field(default=None, description="the kind of proof of work seen")
    worker_verified_on: Optional[date] = Field(
        default=None, strict=False,
        description="the day the proof of work was seen (YYYY-MM-DD, not after today; default today); "
                    "it expires registry.worker_proof_months later")
    residency_proof_type: Optional[ResidencyProof] = Field(default=None, description="the kind of proof of residency seen")
    residency_verified_on: Optional[date] = Field(
        default=None, strict=False, description="the day the proof of residency was seen (default today)")
    phone: Optional[str] = Field(default=None, max_length=20)
    community: Optional[str] = Field(default=None, max_length=60, description="district admins only; default: yours")
    issue_voucher: bool = Field(default=False, description="also issue a voucher at once")


class VoucherOut(BaseModel):
    id: str
    diner_id: str
    version: int
    status: str
    url: str
    token: str
    code: str
    code_display: str
    valid_until: str


class DinerOut(BaseModel):
    id: str
    masked_id: str
    masked_name: str
    birth_date: str
    resident: bool
    community: str
    worker_category: Optional[str]
    worker_verified: bool
    suspended: bool
    worker_proof_type: Optional[str] = None
    worker_verified_on: Optional[str] = None
    worker_verified_until: Optional[str] = Field(default=None, description="the last day the proof of work counts")
    residency_verified_on: Optional[str] = None
    residency_verified_until: Optional[str] = Field(default=None, description="the last day the proof of residency "
                                                                                "counts (null: does not expire)")
    left: Optional[str] = Field(default=None, description="deceased or moved_away")
    left_on: Optional[str] = Field(default=None, description="the date benefits stopped")
    voucher: Optional[VoucherOut] = None


class DinerPath(BaseModel):
    diner_id: str = Field(max_length=40)


class VoucherPath(BaseModel):
    voucher_id: str = Field(max_length=40)


def _iso(day) -> str | None:
    return day.isoformat() if day is not None else None


def _diner_out(diner, voucher: dict | None = None) -> dict:
    worker_until, residency_until = dstore.proofs_until(diner, settings().registry)
    return {"id": diner.id, "masked_id": diner.id_masked, "masked_name": dstore.mask_name(diner.name),
            "birth_date": diner.birth_date.isoformat(), "resident": diner.resident, "community": diner.community,
            "worker_category": diner.worker_category, "worker_verified": diner.worker_verified_by is not None,
            "suspended": diner.suspended, "worker_proof_type": diner.worker_proof_type,
            "worker_verified_on": _iso(diner.worker_verified_on), "worker_verified_until": _iso(worker_until),
            "residency_verified_on": _iso(diner.residency_verified_on),
            "residency_verified_until": _iso(residency_until), "left": diner.left_kind, "left_on": _iso(diner.left_on),
            "voucher": voucher}


@api.post("/diners", responses={201: DinerOut, **ERRORS})
def diners_create(body: DinerIn):
    """Register a diner (registrar, admin).  The ID number is validated by the rules engine
    and kept only as its HMAC, a masked form and the date of birth."""
    community = _diner_scope()
    if body.community is not None:
        if community is not None and body.community != community:
            raise Refusal("other_community", "只能登记本社区的就餐者", "you may register diners of your community only")
        community = body.community
    community = community or settings().default_canteen.community
    try:
        with db().transaction() as s:
            diner = dstore.register_diner(session=s, id_key=settings().id_key, staff_id=current_user.id,
                                          community=community, name=body.name, id_number=body.id_number,
                                          resident=body.resident, today=_today(), worker_category=body.worker_category,
                                          worker_proof=body.worker_proof, phone=body.phone,
                                          worker_proof_type=body.worker_proof_type,
                                          worker_verified_on=body.worker_verified_on,
                                          residency_proof_type=body.residency_proof_type,
                                          residency_verified_on=body.residency_verified_on)
            _audit(s, "diner_registered", target=diner.id,
                   detail={"worker_category": diner.worker_category,
                           "resident": diner.resident})
            voucher = None
            if body.issue_voucher:
                issued = vstore.issue_voucher(session=s, settings=settings(), diner_id=diner.id,
                                              staff_id=current_user.id, today=_today())
                _audit(s, "voucher_issued", target=issued.voucher.id, detail={"diner_id": diner.id, "version": 1})
                voucher = _voucher_out(issued)
            out = _diner_out(diner, voucher)
    except IntegrityError:
        # Two registrations of one number at the same instant: the unique HMAC decides.
        raise Refusal("already_registered", "该身份证号已登记",
                      "a diner with this resident ID is already registered") from None
    return jsonify(out), 201


@api.post("/diners/<diner_id>/vouchers", responses={201: VoucherOut, **ERRORS})
def diner_vouchers_issue(path: DinerPath):
    """Issue a voucher to a diner (registrar, admin); their previous active voucher is superseded."""
    with db().transaction() as s:
        dstore.get_diner(session=s, diner_id=path.diner_id, community=_diner_scope())
        issued = vstore.issue_voucher(session=s, settings=settings(), diner_id=path.diner_id,
                                      staff_id=current_user.id, today=_today())
        _audit(s, "voucher_issued", target=issued.voucher.id,
               detail={"diner_id": path.diner_id, "version": issued.voucher.version})
        out = _voucher_out(issued)
    return jsonify(out), 201


@api.post("/vouchers/<voucher_id>/revoke", responses={200: VoucherOut, **ERRORS})
def voucher_revoke(path: VoucherPath):
    """Revoke an active voucher (registrar, admin): it is refused at every till from now on."""
    with db().transaction() as s:
        voucher = s.get(Voucher, path.voucher_id)
        if voucher is None:
            raise Refusal("voucher_not_found", "没有这张餐券", "no such voucher")
        dstore.get_diner(session=s, diner_id=voucher.diner_id, community=_diner_scope())
        voucher = vstore.revoke_voucher(session=s, voucher_id=path.voucher_id)
        _audit(s, "voucher_revoked", target=voucher.id, detail={"diner_id": voucher.diner_id})
        out = _voucher_out(vstore.issued(settings(), voucher))
    return jsonify(out)


class CardsQuery(Parameters):
    diner: Optional[list[str]] = Field(default=None, description="diner ids (repeatable); default: every active voucher you may see")


@api.get("/vouchers/cards.pdf", responses={200: pdf("the voucher cards, 10 an A4 page"), **ERRORS})
def voucher_cards_pdf(query: CardsQuery):
    """The voucher cards as an A4 PDF (10 a page, cut marks)."""
    return printing.pdf_response(printing.voucher_cards_pdf(community=_diner_scope(), diner_ids=query.diner),
                                 "voucher-cards.pdf")


# --- tickets ------------------------------------------------------------------------

class TicketsIn(Strict):
    # A JSON date is a string: the one field where a conversion is wanted.
    business_date: date = Field(strict=False, description="the one date the tickets are valid on (YYYY-MM-DD)")
    count: Optional[int] = Field(default=None, ge=1, le=vstore.MAX_TICKETS_PER_SHEET,
                                 description="default: the day's free-meal cap less tickets already made")
    canteen: Optional[str] = Field(default=None, max_length=40, description="default: your canteen")


class TicketOut(BaseModel):
    id: str
    canteen: str
    business_date: str
    code: str
    code_display: str
    token: str
    url: str


class TicketsOut(BaseModel):
    canteen: str
    business_date: str
    count: int
    tickets: list[TicketOut]
    sheet_pdf: str


class SheetQuery(Parameters):
    business_date: date
    canteen: Optional[str] = Field(default=None, max_length=40)


@api.post("/tickets", responses={201: TicketsOut, **ERRORS})
def tickets_create(body: TicketsIn):
    """Make one-time free-meal tickets for one business date (registrar, supervisor, admin)."""
    canteen = canteen_named(body.canteen).code
    with db().transaction() as s:
        made = vstore.issue_tickets(session=s, settings=settings(), canteen_id=canteen,
                                    business_date=body.business_date, count=body.count, staff_id=current_user.id,
                                    today=_today(canteen))
        _audit(s, "tickets_issued", canteen_id=canteen,
               detail={"business_date": body.business_date.isoformat(), "count": len(made)})
        tickets = [_ticket_out(t) for t in made]
    sheet = url_for("api.tickets_sheet_pdf", business_date=body.business_date.isoformat(), canteen=canteen)
    return jsonify({"canteen": canteen, "business_date": body.business_date.isoformat(), "count": len(tickets),
                    "tickets": tickets, "sheet_pdf": sheet}), 201


@api.get("/tickets/sheet.pdf", responses={200: pdf("the tickets of the date, an A4 sheet"), **ERRORS})
def tickets_sheet_pdf(query: SheetQuery):
    """Every ticket of the date at the canteen, as an A4 PDF sheet."""
    canteen = canteen_named(query.canteen)
    data = printing.ticket_sheet_pdf(canteen=canteen, day=query.business_date)
    return printing.pdf_response(data, f"tickets-{canteen.code}-{query.business_date.isoformat()}.pdf")
