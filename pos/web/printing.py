"""Printed sheets as PDF answers, for the back office's pages and the API alike: voucher
cards (the QR codes are live vouchers) and daily free-meal ticket sheets.  Each print is
recorded in the audit log with who printed how many.  Outside development nothing is printed
while ``app.base_url`` is a loopback address (the QR codes would not open on a phone)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

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
from pos.refusal import Refusal
from pos.web.lan import is_loopback_url, serving_urls
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


@dataclass(frozen=True)
class QrAddress:
    """What a print page says about the address its QR codes will carry."""

    shown: str                 # the address as printed, the token left out: http://192.168.1.20:5000/v/…
    loopback: bool             # app.base_url opens the phone itself, not the canteen's server
    refusal: Refusal | None    # why nothing is printed (outside development, with a loopback base_url)


def _suggested_base_url(base_url: str) -> str:
    """An address phones could open instead: this machine on its LAN, on base_url's port."""
    try:
        port = urlsplit(base_url).port or 5000
    except ValueError:
        port = 5000
    urls = serving_urls("0.0.0.0", port)
    return urls[0] if urls else f"http://192.168.1.20:{port}"


def unreachable_qr_refusal(settings: Settings) -> Refusal | None:
    """Outside development, QR codes pointing at a loopback address are not printed: a
    diner's phone would open itself, and the cards would have to be printed again."""
    if settings.development or not is_loopback_url(settings.base_url):
        return None
    hint = _suggested_base_url(settings.base_url)
    return Refusal("base_url_loopback",
                   f"二维码地址 {settings.base_url} 是服务器本机地址，就餐者的手机扫码打不开，因此不能打印。"
                   f"请把配置文件 config.toml 中的 app.base_url 改为手机在食堂网络里能打开的地址（例如 {hint}），"
                   f"然后重启服务。",
                   f"The QR address {settings.base_url} is the server's own loopback address: diners' phones "
                   f"cannot open it, so nothing is printed. Set app.base_url in config.toml to an address phones "
                   f"on the canteen's network can open (e.g. {hint}) and restart the server.")


def qr_address(settings: Settings, path: str) -> QrAddress:
    """The address printed in QR codes under ``path`` (``v`` vouchers, ``t`` tickets)."""
    loopback = is_loopback_url(settings.base_url)
    return QrAddress(shown=f"{settings.base_url}/{path}/…", loopback=loopback,
                     refusal=unreachable_qr_refusal(settings) if loopback else None)


def _refuse_unreachable_qr() -> None:
    refusal = unreachable_qr_refusal(settings())
    if refusal is not None:
        raise refusal


def pdf_response(data: bytes, filename: str) -> Response:
    resp = make_response(data)
    resp.headers["Content-Type"] = "application/pdf"
    resp.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    resp.headers["Cache-Control"] = "no-store"  # the QR codes in it are live vouchers
    return resp


def voucher_cards_pdf(*, community: str | None, diner_ids: list[str] | None) -> bytes:
    """The cards of the chosen diners (or the whole community), recorded as printed."""
    _refuse_unreachable_qr()
    today = business_date(settings().default_canteen.timezone)
    with db().transaction() as s:
        cards = voucher_card_data(session=s, settings=settings(), community=community, diner_ids=diner_ids,
                                  today=today)
        audit(tx=s, action="voucher_cards_printed", actor=current_user, canteen_id=current_user.canteen_id,
              address=client_address(), detail={"count": len(cards)})
    return render_voucher_cards(cards)


def ticket_sheet_pdf(*, canteen: CanteenConfig, day: date) -> bytes:
    """Every ticket of the date at the canteen, as an A4 sheet, recorded as printed."""
    _refuse_unreachable_qr()
    with db().transaction() as s:
        rows = vstore.tickets_for(session=s, canteen_id=canteen.code, business_date=day)
        cards = ticket_card_data(settings=settings(), canteen_name=canteen.name, tickets=rows)
        audit(tx=s, action="ticket_sheet_printed", actor=current_user, canteen_id=canteen.code,
              address=client_address(), detail={"business_date": day.isoformat(), "count": len(rows)})
    return render_ticket_sheet(cards, title=f"公益餐票 {day.isoformat()}")
