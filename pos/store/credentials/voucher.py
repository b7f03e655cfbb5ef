"""A registered diner's QR meal voucher: its URL or token from the camera or a scanner,
or the 9-character short code printed under the QR.

The token is signed (:mod:`pos.store.tokens`), so a forged or altered one is refused
before any lookup; the voucher row says whether it is still valid (not revoked, not
superseded by a newer card, not past its date).  Refusals name the cause, so the cashier
hears exactly what is wrong with the card in their hand.
"""
from __future__ import annotations

from datetime import date

from pos.config import Settings
from pos.store import tokens
from pos.store.credentials.credential import Credential, diner_by_id, registered
from pos.refusal import Refusal
from pos.tx import Tx
from pos.store.vouchers import check_voucher_state
from subsidies.vocabulary import Names

NAME = "voucher"
NAMES = Names("餐券", "meal voucher")


def recognise(text: str, *, settings: Settings) -> tokens.Opened | str | None:
    """A voucher token whose signature checks out, a well-formed voucher short code, or
    None when the text is not a voucher.  A damaged or forged token is refused here."""
    return tokens.found_in(text, secret_key=settings.secret_key, kind=tokens.KIND_VOUCHER,
                           code_length=tokens.VOUCHER_CODE_LENGTH)


def look_up(tx: Tx, found: tokens.Opened | str, *, settings: Settings, today: date, canteen_id: str) -> Credential:
    """The credential of the voucher's diner, if the voucher is valid today."""
    if isinstance(found, tokens.Opened):
        row = tx.one("SELECT id, diner_id, version, status, valid_until FROM vouchers WHERE id = :i",
                     {"i": found.row_id})
        if row is not None and row[2] != found.number:
            # A genuine signature over another version of this row cannot exist.
            raise tokens.token_refusal(tokens.KIND_VOUCHER, *tokens.FORGED)
        if row is None:
            raise Refusal("voucher_unknown", "查无此餐券，请到社区核实", "no such voucher: check with the community office")
    else:
        row = tx.one("SELECT id, diner_id, version, status, valid_until FROM vouchers WHERE code = :c", {"c": found})
        if row is None:
            raise Refusal("unknown_code", "无法识别：不是有效的餐券、餐票或短码",
                          "not recognised: this is not a valid voucher, ticket or short code")
    voucher_id, diner_id, _version, status, valid_until = row
    check_voucher_state(status, tx.date(valid_until), today=today)
    return registered(settings, diner_by_id(tx, diner_id), kind=NAME, today=today, voucher_id=voucher_id)
