"""Printed sheets as PDF answers, for the back office's pages and the API alike: voucher
cards (the QR codes are live vouchers) and daily free-meal ticket sheets.  Each print is
recorded in the audit log with who printed how many."""
from __future__ import annotations

from datetime import date

from flask import Response, make_response
from flask_login import current_user
from sqlmodel import Session, select

from pos.clock import business_date
from pos.config import CanteenConfig, Settings
from pos.models import Diner, Ticket, Voucher
from pos.store import tokens
from pos.store import vouchers as vstore
from pos.store.audit import audit
from pos.store.diners import mask_name
from pos.web.signin import client_address, db, settings
from reports.printables import TicketCard, VoucherCard, render_ticket_sheet, render_voucher_cards
from subsidies.bands import benefit


def voucher_card_data(*, session: Session, settings: Settings, community: str | None,
                      diner_ids: list[str] | None, today: date) -> list[VoucherCard]:
    """The active, unexpired vouchers of the given diners (or of the whole community) as
    printable cards, in registration order.  Suspended diners get no card."""
    q = (select(Voucher, Diner).join(Diner, Diner.id == Voucher.diner_id)
         .where(Voucher.status == "active", Voucher.valid_until >= today, Diner.suspended == False))  # noqa: E712
    if community is not None:
        q = q.where(Diner.community == community)
    if diner_ids is not None:
        q = q.where(Diner.id.in_(diner_ids or [""]))
    policy = settings.policy.in_force_or_none(today)
    cards = []
    for voucher, diner in session.exec(q.order_by(Diner.created_at, Diner.id)):
        zh, _en = benefit(policy, today=today, birth_date=diner.birth_date, resident=diner.resident,
                          worker_category=diner.worker_category, worker_verified=diner.worker_verified_by is not None)
        cards.append(VoucherCard(url=vstore.issued(settings, voucher).url, code=tokens.display_code(voucher.code),
                                 masked_name=mask_name(diner.name), benefit=zh, valid_until=voucher.valid_until,
                                 canteen=diner.community))
    return cards


def ticket_card_data(*, settings: Settings, canteen_name: str, tickets: list[Ticket]) -> list[TicketCard]:
    """Tickets as printable cards, numbered 1..N."""
    return [TicketCard(url=vstore.issued_ticket(settings, t).url, code=tokens.display_code(t.code),
                       business_date=t.business_date, canteen=canteen_name, number=i)
            for i, t in enumerate(tickets, start=1)]


def pdf_response(data: bytes, filename: str) -> Response:
    resp = make_response(data)
    resp.headers["Content-Type"] = "application/pdf"
    resp.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    resp.headers["Cache-Control"] = "no-store"  # the QR codes in it are live vouchers
    return resp


def voucher_cards_pdf(*, community: str | None, diner_ids: list[str] | None) -> bytes:
    """The cards of the chosen diners (or the whole community), recorded as printed."""
    today = business_date(settings().default_canteen.timezone)
    with db().transaction() as s:
        cards = voucher_card_data(session=s, settings=settings(), community=community, diner_ids=diner_ids,
                                  today=today)
        audit(tx=s, action="voucher_cards_printed", actor=current_user, canteen_id=current_user.canteen_id,
              address=client_address(), detail={"count": len(cards)})
    return render_voucher_cards(cards)


def ticket_sheet_pdf(*, canteen: CanteenConfig, day: date) -> bytes:
    """Every ticket of the date at the canteen, as an A4 sheet, recorded as printed."""
    with db().transaction() as s:
        rows = vstore.tickets_for(session=s, canteen_id=canteen.code, business_date=day)
        cards = ticket_card_data(settings=settings(), canteen_name=canteen.name, tickets=rows)
        audit(tx=s, action="ticket_sheet_printed", actor=current_user, canteen_id=canteen.code,
              address=client_address(), detail={"business_date": day.isoformat(), "count": len(rows)})
    return render_ticket_sheet(cards, title=f"公益餐票 {day.isoformat()}")
