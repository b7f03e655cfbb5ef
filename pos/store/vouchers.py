"""QR meal vouchers and one-time free-meal tickets: issue, revoke, print and look up.

A voucher belongs to a registered diner; issuing a new one supersedes the old.  A ticket
is good for one free welfare meal on one business date at one canteen.  Their tokens and
short codes are made by :mod:`pos.store.tokens` from the row, so they are never stored;
revoking or superseding the row is what ends a voucher.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, select

from pos.clock import naive_utc
from pos.config import Settings
from pos.models import Diner, Ticket, Voucher
from pos.store import tokens
from pos.refusal import Refusal

MAX_TICKETS_PER_SHEET = 500


def _unique_code(session: Session, model, length: int) -> str:
    for _ in range(20):
        code = tokens.new_code(length)
        if session.exec(select(model.id).where(model.code == code)).first() is None:
            return code
    raise RuntimeError("could not find a free short code")  # 31^8 codes: never in practice


# --- vouchers -----------------------------------------------------------------------

@dataclass(frozen=True)
class IssuedVoucher:
    """A voucher row with its token, URL and short code, as handed to a person."""

    voucher: Voucher
    token: str
    url: str

    @property
    def code(self) -> str:
        return self.voucher.code


def issued(settings: Settings, voucher: Voucher) -> IssuedVoucher:
    """The voucher with its token and URL, as printed on the card."""
    token = tokens.voucher_token(settings.secret_key, voucher.id, voucher.version)
    return IssuedVoucher(voucher=voucher, token=token, url=tokens.voucher_url(settings.base_url, token))


def issue_voucher(*, session: Session, settings: Settings, diner_id: str, staff_id: str,
                  today: date) -> IssuedVoucher:
    """Issue a new voucher to a diner; the previous active one becomes ``superseded``.

    Valid until ``today + voucher_valid_days``.  Refuses an unknown or suspended diner.
    """
    # Lock the diner row so two issues at once cannot pick the same version (PostgreSQL;
    # on SQLite the write transaction already runs alone).
    diner = session.exec(select(Diner).where(Diner.id == diner_id).with_for_update()).first()
    if diner is None:
        raise Refusal("diner_not_found", "没有这位就餐者", "no such diner")
    if diner.suspended:
        raise Refusal("diner_suspended", "该就餐者已停用，请先恢复再发券",
                      "this diner is suspended: reinstate them before issuing a voucher")
    now = naive_utc()
    session.exec(update(Voucher).where(Voucher.diner_id == diner_id, Voucher.status == "active")
                 .values(status="superseded", revoked_at=now))
    last = session.exec(select(func.max(Voucher.version)).where(Voucher.diner_id == diner_id)).one()
    voucher = Voucher(diner_id=diner_id, version=(last or 0) + 1,
                      code=_unique_code(session, Voucher, tokens.VOUCHER_CODE_LENGTH), status="active",
                      valid_until=today + timedelta(days=settings.voucher_valid_days),
                      issued_by=staff_id, issued_at=now)
    session.add(voucher)
    session.flush()
    return issued(settings, voucher)


def revoke_voucher(*, session: Session, voucher_id: str) -> Voucher:
    """Revoke an active voucher (lost card, left the community).  Refuses one that is not active."""
    voucher = session.exec(select(Voucher).where(Voucher.id == voucher_id).with_for_update()).first()
    if voucher is None:
        raise Refusal("voucher_not_found", "没有这张餐券", "no such voucher")
    if voucher.status != "active":
        zh = {"revoked": "已作废", "superseded": "已被新券取代"}[voucher.status]
        raise Refusal("voucher_not_active", f"这张餐券{zh}，无需再作废",
                      f"this voucher is already {voucher.status}; nothing was changed")
    voucher.status = "revoked"
    voucher.revoked_at = naive_utc()
    session.add(voucher)
    session.flush()
    return voucher


def active_voucher(*, session: Session, diner_id: str) -> Voucher | None:
    """The diner's one active voucher, or None."""
    return session.exec(select(Voucher).where(Voucher.diner_id == diner_id, Voucher.status == "active")).first()


def vouchers_of(*, session: Session, diner_id: str) -> list[Voucher]:
    """Every voucher the diner has had, newest first."""
    return list(session.exec(select(Voucher).where(Voucher.diner_id == diner_id)
                             .order_by(Voucher.version.desc())))


def check_voucher_state(status: str, valid_until: date, *, today: date) -> None:
    """Refuse a voucher that is revoked, superseded or past its date."""
    if status == "revoked":
        raise Refusal("voucher_revoked", "这张餐券已作废，不能使用", "this voucher has been revoked")
    if status == "superseded":
        raise Refusal("voucher_superseded", "这张餐券已被新券取代，请使用最新的餐券",
                      "this voucher was replaced by a newer one: use the newest voucher")
    if valid_until < today:
        raise Refusal("voucher_expired", f"这张餐券已于 {valid_until.isoformat()} 过期，请到社区换发",
                      f"this voucher expired on {valid_until.isoformat()}: have it renewed")


def check_voucher(voucher: Voucher | None, *, today: date) -> Voucher:
    """Refuse a voucher that is missing, revoked, superseded or past its date; else return it."""
    if voucher is None:
        raise Refusal("voucher_unknown", "查无此餐券，请到社区核实", "no such voucher: check with the community office")
    check_voucher_state(voucher.status, voucher.valid_until, today=today)
    return voucher


def voucher_from_token(*, session: Session, settings: Settings, token: str, today: date) -> Voucher:
    """The valid voucher a token names, or a Refusal (forged, truncated, wrong key,
    unknown, revoked, superseded, expired)."""
    opened = tokens.open_token(secret_key=settings.secret_key, token=token)
    if opened.kind != tokens.KIND_VOUCHER:
        raise Refusal("not_a_voucher", "这是公益餐票，不是餐券", "this is a free-meal ticket, not a voucher")
    voucher = session.get(Voucher, opened.row_id)
    if voucher is not None and voucher.version != opened.number:
        # A genuine signature over another version of this row cannot exist; treat as forged.
        raise tokens.token_refusal(tokens.KIND_VOUCHER, *tokens.FORGED)
    return check_voucher(voucher, today=today)


# --- tickets ------------------------------------------------------------------------

@dataclass(frozen=True)
class IssuedTicket:
    """A ticket row with its token and URL, as printed on the sheet."""

    ticket: Ticket
    token: str
    url: str


def issued_ticket(settings: Settings, ticket: Ticket) -> IssuedTicket:
    """The ticket with its token and URL, as printed on the sheet."""
    token = tokens.ticket_token(settings.secret_key, ticket.id)
    return IssuedTicket(ticket=ticket, token=token, url=tokens.ticket_url(settings.base_url, token))


def tickets_for(*, session: Session, canteen_id: str, business_date: date) -> list[Ticket]:
    """The canteen's tickets for one business date, in the order they were made."""
    return list(session.exec(select(Ticket).where(Ticket.canteen_id == canteen_id,
                                                  Ticket.business_date == business_date)
                             .order_by(Ticket.issued_at, Ticket.code)))


def issue_tickets(*, session: Session, settings: Settings, canteen_id: str, business_date: date,
                  count: int | None, staff_id: str, today: date) -> list[IssuedTicket]:
    """Print-ready one-time free-meal tickets for one business date.

    ``count`` defaults to the day's free-meal cap.  Refuses a past date, and more tickets
    for the date than the cap (a ticket beyond the cap could never be honoured).
    """
    if business_date < today:
        raise Refusal("ticket_date_past", "不能为已过去的日期印制餐票",
                      f"{business_date.isoformat()} is in the past: tickets are for today or a later date")
    policy = settings.policy.in_force_or_none(business_date)
    cap = policy.free_meals_per_day if policy is not None else 0
    already = session.exec(select(func.count()).select_from(Ticket).where(
        Ticket.canteen_id == canteen_id, Ticket.business_date == business_date)).one()
    if count is None:
        count = cap - already
    if not isinstance(count, int) or isinstance(count, bool) or count < 1 or count > MAX_TICKETS_PER_SHEET:
        raise Refusal("invalid_ticket_count", f"张数须为 1–{MAX_TICKETS_PER_SHEET}",
                      f"count must be a whole number from 1 to {MAX_TICKETS_PER_SHEET}", cap=cap, issued=already)
    if already + count > cap:
        raise Refusal("tickets_exceed_cap",
                      f"{business_date.isoformat()} 每日公益餐上限 {cap} 份，已印 {already} 张，最多还能印 {max(cap - already, 0)} 张",
                      f"the daily free-meal cap for {business_date.isoformat()} is {cap}; {already} tickets exist, "
                      f"at most {max(cap - already, 0)} more can be printed", cap=cap, issued=already)
    now = naive_utc()
    rows = []
    for _ in range(count):
        t = Ticket(canteen_id=canteen_id, business_date=business_date,
                   code=_unique_code(session, Ticket, tokens.TICKET_CODE_LENGTH), issued_by=staff_id, issued_at=now)
        session.add(t)
        session.flush()  # the unique-code check above must see the codes just made
        rows.append(t)
    return [issued_ticket(settings, t) for t in rows]


def ticket_from_token(*, session: Session, settings: Settings, token: str) -> Ticket:
    """The ticket a token names, or a refusal (forged, truncated, wrong key, unknown)."""
    opened = tokens.open_token(secret_key=settings.secret_key, token=token)
    if opened.kind != tokens.KIND_TICKET:
        raise Refusal("not_a_ticket", "这是餐券，不是公益餐票", "this is a meal voucher, not a free-meal ticket")
    ticket = session.get(Ticket, opened.row_id)
    if ticket is None:
        raise Refusal("ticket_unknown", "查无此公益餐票", "no such free-meal ticket")
    return ticket
