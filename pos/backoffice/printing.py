"""Back-office printing: voucher cards and daily free-meal ticket sheets (A4 PDFs)."""
from __future__ import annotations

from datetime import date

from flask import make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func
from sqlmodel import Session, select

from pos.auth import db
from pos.backoffice import audit_here, bp, chosen_canteen, done, message, scope, settings, today, visible_canteens
from pos.config import Settings
from pos.errors import ApiError
from pos.models import Diner, Ticket, Voucher
from pos.store import vouchers as vstore
from pos.store.credentials import benefit
from pos.store.diners import mask_name
from reports.printables import TicketCard, VoucherCard, render_ticket_sheet, render_voucher_cards


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
    cards = []
    for voucher, diner in session.exec(q.order_by(Diner.created_at, Diner.id)):
        zh, _en = benefit(settings, diner, today=today)
        cards.append(VoucherCard(url=vstore.issued(settings, voucher).url, code=vstore.display_code(voucher.code),
                                 masked_name=mask_name(diner.name), benefit=zh, valid_until=voucher.valid_until,
                                 canteen=diner.community))
    return cards


def ticket_card_data(*, settings: Settings, canteen_name: str, tickets: list[Ticket]) -> list[TicketCard]:
    """Tickets as printable cards, numbered 1..N."""
    return [TicketCard(url=vstore.issued_ticket(settings, t).url, code=vstore.display_code(t.code),
                       business_date=t.business_date, canteen=canteen_name, number=i)
            for i, t in enumerate(tickets, start=1)]


def pdf_response(data: bytes, filename: str):
    resp = make_response(data)
    resp.headers["Content-Type"] = "application/pdf"
    resp.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    resp.headers["Cache-Control"] = "no-store"  # the QR codes in it are live vouchers
    return resp


def parse_day(text: str | None) -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise ApiError(422, "invalid_business_date", "日期格式应为 YYYY-MM-DD", "business_date must be YYYY-MM-DD") from None


def voucher_cards_pdf(*, community: str | None, diner_ids: list[str] | None) -> tuple[bytes, int]:
    """Render the cards and record who printed how many (the QR codes are live vouchers)."""
    with db().transaction() as s:
        cards = voucher_card_data(session=s, settings=settings(), community=community, diner_ids=diner_ids,
                                  today=today())
        audit_here(s, "voucher_cards_printed", detail={"count": len(cards)})
    return render_voucher_cards(cards), len(cards)


@bp.route("/cards.pdf")
def voucher_cards():
    """Voucher cards for ``?diner=<id>`` (repeatable), or every active voucher in scope."""
    ids = request.args.getlist("diner") or None
    data, _ = voucher_cards_pdf(community=scope(), diner_ids=ids)
    return pdf_response(data, "voucher-cards.pdf")


def ticket_sheet_pdf(*, canteen, day: date) -> bytes:
    with db().transaction() as s:
        rows = vstore.tickets_for(session=s, canteen_id=canteen.code, business_date=day)
        cards = ticket_card_data(settings=settings(), canteen_name=canteen.name, tickets=rows)
        audit_here(s, "ticket_sheet_printed", canteen_id=canteen.code,
                   detail={"business_date": day.isoformat(), "count": len(rows)})
    return render_ticket_sheet(cards, title=f"公益餐票 {day.isoformat()}")


@bp.route("/tickets", methods=["GET", "POST"])
def tickets():
    """Print a sheet of one-time free-meal tickets for a business date."""
    canteen = chosen_canteen()
    error = None
    day = today(canteen)
    if request.method == "POST":
        try:
            day = parse_day(request.form.get("business_date"))
            count_text = (request.form.get("count") or "").strip()
            if count_text and not count_text.isdigit():
                raise ApiError(422, "invalid_ticket_count", "张数须为正整数", "count must be a whole number")
            with db().transaction() as s:
                made = vstore.issue_tickets(session=s, settings=settings(), canteen_id=canteen.code, business_date=day,
                                            count=int(count_text) if count_text else None, staff_id=current_user.id,
                                            today=today(canteen))
                audit_here(s, "tickets_issued", canteen_id=canteen.code,
                           detail={"business_date": day.isoformat(), "count": len(made)})
        except ApiError as e:
            error = e
        else:
            done("已生成 {n} 张 {date} 的公益餐票", n=len(made), date=day.isoformat())
            return redirect(url_for("backoffice.tickets", canteen=canteen.code, business_date=day.isoformat()))
    with db().session() as s:
        counts = list(s.exec(select(Ticket.business_date, func.count()).where(
            Ticket.canteen_id == canteen.code, Ticket.business_date >= today(canteen))
            .group_by(Ticket.business_date).order_by(Ticket.business_date)))
    try:
        cap = settings().policy.in_force(day).free_meals_per_day
    except Exception:  # noqa: BLE001 - no policy for that date: the form shows no default
        cap = None
    return render_template("backoffice/tickets.html", canteen=canteen, canteens=visible_canteens(), day=day,
                           counts=counts, cap=cap, error=error, error_message=message(error) if error else ""), \
        (error.status if error else 200)


@bp.route("/tickets/<canteen_code>/<day>.pdf")
def ticket_sheet(canteen_code: str, day: str):
    canteen = chosen_canteen_by_code(canteen_code)
    d = parse_day(day)
    return pdf_response(ticket_sheet_pdf(canteen=canteen, day=d), f"tickets-{canteen.code}-{d.isoformat()}.pdf")


def chosen_canteen_by_code(code: str):
    from pos.auth import require_canteen

    try:
        canteen = settings().canteen(code)
    except KeyError:
        raise ApiError(404, "unknown_canteen", "没有这个食堂", "unknown canteen") from None
    require_canteen(canteen.code)
    return canteen
