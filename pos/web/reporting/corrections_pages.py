"""The supervisor's corrections page (/reports/corrections): pick a canteen and a closed
business date, find the sale by receipt number or in the day's list (by time), then book
a correction — the reason, the subsidy to reverse and the cash to refund (typed in yuan),
approved by a second supervisor's (or an admin's) PIN.  The booked correction is shown
with where it lands: today's daily report and this month's claim.

A blueprint of its own (not the reports page's), so this module and the reports package
do not import each other.
"""
from __future__ import annotations

import re
from datetime import date, timedelta, timezone
from types import SimpleNamespace

from flask import Blueprint, Flask, redirect, render_template, request, url_for
from flask_login import current_user

from pos.clock import business_date, local_time, now_utc
from pos.config import CanteenConfig
from pos.models import DayClose
from pos.refusal import Refusal
from pos.store import corrections, sale_views
from pos.web.api.corrections_api import approving
from pos.web.i18n import current_language
from pos.web.input_policy import check_day
from pos.web.refusals import status_of
from pos.web.signin import canteen_named, client_address, db, settings, visible_canteens
from subsidies.money import MoneyError, parse_yuan, yuan

bp = Blueprint("corrections", __name__, url_prefix="/reports/corrections")


def _date(text: str) -> date:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise Refusal("bad_date", "日期格式应为 YYYY-MM-DD", f"date must be YYYY-MM-DD, got {text!r}") from None
    return check_day(day)


def _receipt(text: str) -> int:
    text = text.strip()
    if not re.fullmatch(r"[0-9]{1,10}", text) or not 1 <= int(text) <= 2_000_000_000:
        raise Refusal("invalid_receipt_no", "小票号应为正整数", f"a receipt number is a whole number from 1, got {text!r}")
    return int(text)


def _fen(name: str, zh: str, en: str) -> int:
    """A yuan amount typed in the form, as fen."""
    text = (request.form.get(name) or "").strip()
    try:
        return parse_yuan(text or "0")
    except MoneyError:
        raise Refusal("invalid_amount", f"{zh}须为金额（元，最多两位小数），例如 3.00",
                      f"{en} must be an amount in yuan with at most two decimals, e.g. 3.00") from None


def _clock(canteen: CanteenConfig):
    """Naive UTC → the canteen's wall-clock time, HH:MM."""
    return lambda moment: local_time(canteen.timezone, moment.replace(tzinfo=timezone.utc)).strftime("%H:%M")


def _render(canteen: CanteenConfig, day: date, *, sale=None, booked_id: str | None = None, error: str | None = None,
            status: int = 200, form: dict | None = None):
    """The page for one canteen and business date, with the chosen sale (a SaleView) and
    its form, or the correction just booked."""
    today = business_date(canteen.timezone)
    with db().session() as s:
        closed = s.get(DayClose, (canteen.code, day)) is not None
        sales = corrections.day_sales(session=s, canteen_id=canteen.code, business_date=day)
        booked = corrections.get_correction(session=s, correction_id=booked_id) if booked_id else None
        month = corrections.corrections_between(session=s, canteen_ids=[canteen.code], first=today.replace(day=1),
                                                last=today)
    if booked is not None and booked.canteen != canteen.code:
        booked = None
    corrected = sale is not None and any(x.id == sale.id and x.corrected for x in sales)
    body = render_template(
        "reports/corrections.html", canteens=visible_canteens(), canteen=canteen, day=day, closed=closed,
        sales=sales, sale=sale, corrected=corrected, booked=booked, month=month, error=error, form=form or {},
        clock=_clock(canteen), yuan=yuan, receipt=request.args.get("receipt", ""))
    return body, status


def _sale(sale_id: str):
    with db().tx() as tx:
        sale = sale_views.get_sale(tx, sale_id=sale_id) if sale_id else None
    if sale is None:
        raise Refusal("unknown_sale", "没有这笔销售", "no such sale")
    return sale


@bp.get("")
def page():
    """Find the sale (by receipt number or in the day's list) and show its correction form."""
    sale_id = (request.args.get("sale") or "").strip()
    if sale_id:  # a sale picked from the list: its own canteen and date
        sale = _sale(sale_id)
        return _render(canteen_named(sale.canteen), sale.business_date, sale=sale)
    canteen = canteen_named(request.args.get("canteen"))
    day_text = request.args.get("date") or ""
    day = _date(day_text) if day_text else business_date(canteen.timezone) - timedelta(days=1)
    receipt = (request.args.get("receipt") or "").strip()
    if receipt:
        try:
            with db().session() as s:
                found = corrections.find_sale(session=s, canteen_id=canteen.code, business_date=day,
                                              receipt_no=_receipt(receipt))
        except Refusal as e:
            return _render(canteen, day, error=e.message(current_language()), status=status_of(e.code))
        return _render(canteen, day, sale=_sale(found))
    return _render(canteen, day, booked_id=request.args.get("booked"))


@bp.post("")
def book():
    """Book the correction of the chosen sale, approved by a second person's PIN."""
    sale = _sale((request.form.get("sale_id") or "").strip())
    canteen = canteen_named(sale.canteen)
    form = {k: (request.form.get(k) or "").strip() for k in ("reason", "reversed_subsidy", "refund", "supervisor")}
    try:
        subsidy = _fen("reversed_subsidy", "冲减补贴", "The subsidy to reverse")
        refund = _fen("refund", "退还现金", "The cash to refund")
        approver = approving(SimpleNamespace(supervisor=form["supervisor"] or None,
                                             pin=request.form.get("pin") or None), canteen.code)
        with db().transaction() as s:
            booked = corrections.book_correction(
                session=s, settings=settings(), sale_id=sale.id, reason=form["reason"], refund_fen=refund,
                reversed_subsidy_fen=subsidy, actor=current_user, approved_by=approver, now=now_utc(),
                address=client_address())
    except Refusal as e:
        if status_of(e.code) >= 500:
            raise
        return _render(canteen, sale.business_date, sale=sale, error=e.message(current_language()),
                       status=status_of(e.code), form=form)
    return redirect(url_for("corrections.page", canteen=canteen.code, date=sale.business_date.isoformat(),
                            booked=booked.id))


def register(app: Flask) -> None:
    app.register_blueprint(bp)
