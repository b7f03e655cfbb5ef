"""`canteen correction book|list`: corrections after day close, from the server.

The operator names both people: the one who asks (``--by``) and the one who approves
(``--approver``, a second supervisor of the canteen or an admin); both are recorded.
Every refusal or mistake is one line on stderr (in English) and exit status 2; no
tracebacks.
"""
from __future__ import annotations

import sys
from datetime import date

import click
from flask.cli import with_appcontext
from sqlmodel import select

from pos.clock import now_utc
from pos.models import StaffUser
from pos.refusal import Refusal
from pos.store import corrections, sale_views
from pos.tx import Tx
from pos.web.input_policy import TEXT, check_day, check_month, checked
from pos.web.signin import db, settings
from reports.claim_queries import month_bounds, parse_month
from subsidies.money import yuan


def _fail(command: str, message: str):
    click.echo(f"canteen correction {command}: {message}", err=True)
    sys.exit(2)




def _canteen(command: str, code: str | None) -> str:
    codes = [c.code for c in settings().canteens]
    if code is None:
        return settings().default_canteen.code
    if code not in codes:
        _fail(command, f"unknown canteen {code!r} (configured: {', '.join(codes)})")
    return code


def _staff(s, option: str, username: str) -> StaffUser:
    user = s.exec(select(StaffUser).where(StaffUser.username == username, StaffUser.active.is_(True))).first()
    if user is None:
        _fail("book", f"{option} {username!r} is not an active staff account")
    return user


def register(cli: click.Group) -> None:
    @cli.group("correction")
    def correction():
        """Corrections of closed business dates (new dated entries; nothing edited in place)."""

    @correction.command("book")
    @click.option("--canteen", "code", default=None, help="Canteen code (default: the first configured).")
    @click.option("--date", "day", required=True, help="The sale's (closed) business date, YYYY-MM-DD.")
    @click.option("--receipt", "receipt_no", required=True, type=click.IntRange(min=1), help="The receipt number.")
    @click.option("--reason", required=True, help="Why (at most 200 characters).")
    @click.option("--subsidy-fen", "subsidy_fen", type=int, default=None,
                  help="Subsidy to reverse, in fen (default: all of the sale's subsidy).")
    @click.option("--refund-fen", "refund_fen", type=int, default=None,
                  help="Cash to refund, in fen (default: all the sale took).")
    @click.option("--by", "by", required=True, help="Username of the supervisor (or admin) who asks.")
    @click.option("--approver", required=True, help="Username of a second supervisor of the canteen, or an admin.")
    @with_appcontext
    def book(code, day, receipt_no, reason, subsidy_fen, refund_fen, by, approver):
        """Book a correction of a closed day's sale; it lands on today's business date."""
        canteen = _canteen("book", code)
        try:
            business_date = check_day(date.fromisoformat(day), "--date")
            reason = checked(reason, "--reason", TEXT)
        except ValueError:
            _fail("book", f"--date must be YYYY-MM-DD, got {day!r}")
        except Refusal as e:
            _fail("book", e.en)
        if by == approver:
            _fail("book", "--by and --approver must be two different people (a correction needs a second person)")
        try:
            with db().transaction() as s:
                asker, approving = _staff(s, "--by", by), _staff(s, "--approver", approver)
                sale_id = corrections.find_sale(session=s, canteen_id=canteen, business_date=business_date,
                                                receipt_no=receipt_no)
                sale = sale_views.get_sale(Tx.of(s), sale_id=sale_id)
                booked = corrections.book_correction(
                    session=s, settings=settings(), sale_id=sale_id, reason=reason,
                    refund_fen=sale.due_fen if refund_fen is None else refund_fen,
                    reversed_subsidy_fen=sale.subsidy_fen if subsidy_fen is None else subsidy_fen,
                    actor=asker, approved_by=approving, now=now_utc(), address="cli")
        except Refusal as e:
            _fail("book", e.en)
        click.echo(f"booked correction {booked.id}: {canteen} {booked.original_date.isoformat()} receipt "
                   f"#{booked.original_receipt_no}, subsidy reversed {yuan(booked.reversed_subsidy_fen)}, refund "
                   f"{yuan(booked.refund_fen)}; asked by {booked.created_by}, approved by {booked.approved_by}; "
                   f"lands on the {booked.business_date.isoformat()} daily report and the "
                   f"{booked.business_date:%Y-%m} claim")

    @correction.command("list")
    @click.option("--month", required=True, help="The month the corrections were booked in, YYYY-MM.")
    @click.option("--canteen", "code", default=None, help="One canteen (default: every configured canteen).")
    @with_appcontext
    def list_corrections(month, code):
        """List the corrections booked in a month (the claim's adjustments)."""
        try:
            first = check_month(parse_month(month), "--month")
        except ValueError:
            _fail("list", f"--month must be YYYY-MM, got {month!r}")
        except Refusal as e:
            _fail("list", e.en)
        codes = [_canteen("list", code)] if code else [c.code for c in settings().canteens]
        with db().session() as s:
            found = corrections.corrections_between(session=s, canteen_ids=codes, first=first,
                                                    last=month_bounds(first)[1])
        for c in found:
            click.echo(f"{c.business_date.isoformat()}  {c.canteen}  {c.original_date.isoformat()} "
                       f"#{c.original_receipt_no}  subsidy -{yuan(c.reversed_subsidy_fen)}  refund "
                       f"{yuan(c.refund_fen)}  by {c.created_by}, approved by {c.approved_by or '-'}  {c.reason}")
        reversed_fen, refunded_fen = sum(c.reversed_subsidy_fen for c in found), sum(c.refund_fen for c in found)
        click.echo(f"{len(found)} correction(s) booked in {first:%Y-%m}: subsidy reversed {yuan(reversed_fen)}, "
                   f"refunded {yuan(refunded_fen)}")
