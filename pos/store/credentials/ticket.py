"""A one-time free-meal ticket (公益餐票): printed on a sheet for one business date at one
canteen, for canteens that hand out paper.  Its QR carries a signed token; the
10-character short code is printed under it.  It is spent by the first sale that uses it.
"""
from __future__ import annotations

from datetime import date

from pos.config import Settings
from pos.store import tokens
from pos.store.credentials.credential import Credential
from pos.refusal import Refusal
from pos.tx import Tx
from subsidies.engine import DinerFacts
from subsidies.vocabulary import Names

NAME = "ticket"
NAMES = Names("公益餐票", "free-meal ticket")


def recognise(text: str, *, settings: Settings) -> tokens.Opened | str | None:
    """A ticket token whose signature checks out, a well-formed ticket short code, or None."""
    return tokens.found_in(text, secret_key=settings.secret_key, kind=tokens.KIND_TICKET,
                           code_length=tokens.TICKET_CODE_LENGTH)


def look_up(tx: Tx, found: tokens.Opened | str, *, settings: Settings, today: date, canteen_id: str) -> Credential:
    """The ticket's credential; honoured only on its date and at its canteen."""
    if isinstance(found, tokens.Opened):
        row = tx.one("SELECT id, canteen_id, business_date FROM tickets WHERE id = :i", {"i": found.row_id})
        if row is None:
            raise Refusal("ticket_unknown", "查无此公益餐票", "no such free-meal ticket")
    else:
        row = tx.one("SELECT id, canteen_id, business_date FROM tickets WHERE code = :c", {"c": found})
        if row is None:
            raise Refusal("unknown_code", "无法识别：不是有效的餐券、餐票或短码",
                          "not recognised: this is not a valid voucher, ticket or short code")
    ticket_id, ticket_canteen, ticket_date = row[0], row[1], tx.date(row[2])
    if ticket_canteen != canteen_id:
        raise Refusal("ticket_other_canteen", "这张公益餐票属于其他食堂，不能在本店使用",
                      "this free-meal ticket belongs to another canteen")
    if ticket_date != today:
        raise Refusal("ticket_wrong_date", f"这张公益餐票仅限 {ticket_date.isoformat()} 当天使用",
                      f"this free-meal ticket is valid on {ticket_date.isoformat()} only")
    return Credential(kind=NAME, facts=DinerFacts(kind="ticket", ticket_date=ticket_date),
                      diner_key=f"ticket:{ticket_id}", ticket_id=ticket_id, band_zh="公益餐券", band_en="free-meal ticket")
