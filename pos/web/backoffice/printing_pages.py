"""Back-office printing: voucher cards and daily free-meal ticket sheets (A4 PDFs)."""
from __future__ import annotations

from datetime import date

from flask import redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func
from sqlmodel import select

from pos.models import Ticket
from pos.store import vouchers as vstore
from pos.refusal import Refusal
from pos.web.backoffice.common import (audit_here, bp, canteen_named, chosen_canteen, diner_scope, done, message,
                                       settings, today, visible_canteens)
from pos.web.printing import pdf_response, qr_address, ticket_sheet_pdf, voucher_cards_pdf
from pos.web.input_policy import check_day
from pos.web.refusals import status_of
from pos.web.signin import db


def parse_day(text: str | None) -> date:
    try:
        day = date.fromisoformat((text or "").strip())
    except ValueError:
        raise Refusal("invalid_business_date", "日期格式应为 YYYY-MM-DD", "business_date must be YYYY-MM-DD") from None
    return check_day(day, "business_date")


@bp.route("/cards.pdf")
def voucher_cards():
    """Voucher cards for ``?diner=<id>`` (repeatable), or every active voucher in scope."""
    ids = request.args.getlist("diner") or None
    return pdf_response(voucher_cards_pdf(community=diner_scope(), diner_ids=ids), "voucher-cards.pdf")


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
                raise Refusal("invalid_ticket_count", "张数须为正整数", "count must be a whole number")
            with db().transaction() as s:
                made = vstore.issue_tickets(session=s, settings=settings(), canteen_id=canteen.code, business_date=day,
                                            count=int(count_text) if count_text else None, staff_id=current_user.id,
                                            today=today(canteen))
                audit_here(s, "tickets_issued", canteen_id=canteen.code,
                           detail={"business_date": day.isoformat(), "count": len(made)})
        except Refusal as e:
            error = e
        else:
            done("已生成 {n} 张 {date} 的公益餐票", n=len(made), date=day.isoformat())
            return redirect(url_for("backoffice.tickets", canteen=canteen.code, business_date=day.isoformat()))
    with db().session() as s:
        counts = list(s.exec(select(Ticket.business_date, func.count()).where(
            Ticket.canteen_id == canteen.code, Ticket.business_date >= today(canteen))
            .group_by(Ticket.business_date).order_by(Ticket.business_date)))
    policy = settings().policy.in_force_or_none(day)
    cap = policy.free_meals_per_day if policy is not None else None  # no policy that day: no default count
    return render_template("backoffice/tickets.html", canteen=canteen, canteens=visible_canteens(), day=day,
                           counts=counts, cap=cap, error=error, error_message=message(error) if error else "",
                           qr=qr_address(settings(), "t")), \
        (status_of(error.code) if error else 200)


@bp.route("/tickets/<canteen_code>/<day>.pdf")
def ticket_sheet(canteen_code: str, day: str):
    canteen = canteen_named(canteen_code)
    d = parse_day(day)
    return pdf_response(ticket_sheet_pdf(canteen=canteen, day=d), f"tickets-{canteen.code}-{d.isoformat()}.pdf")
