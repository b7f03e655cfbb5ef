"""QR meal vouchers and one-time free-meal tickets: signed tokens, short codes, issue,
revoke and lookup.

A token is ``<payload>.<signature>``, both base64url without padding, 41 characters:

* payload (15 bytes → 20 characters): kind (1 byte: voucher or ticket), key id (1 byte,
  derived from the server key, so a token signed under another key can be told apart
  from a forgery), the row id (10 bytes: ids are 20 hex characters) and a number
  (3 bytes: the voucher version; 0 for a ticket);
* signature: HMAC-SHA256 (itsdangerous, one salt per kind), truncated to 15 bytes
  (120 bits) → 20 characters.

Both parts are whole multiples of 3 bytes, so their base64 has no spare bits: every
character of a token matters, and no two spellings decode to the same token.  The token
is derived from the row, so it is never stored; revoking or superseding the row is what
ends a voucher.  Validity (expiry, revoked, superseded) lives in the database.

Short codes are typed when the camera fails: 9 characters for a voucher and 10 for a
ticket, from an alphabet without look-alikes (no 0/O, 1/I/L), the last a check character
(weighted sum mod 31), so one mistyped or two swapped characters are caught before any
lookup.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from itsdangerous import Signer
from itsdangerous.signer import HMACAlgorithm
from sqlalchemy import func, update
from sqlmodel import Session, select

from pos.clock import naive_utc
from pos.config import Settings
from pos.errors import ApiError
from pos.models import Diner, Ticket, Voucher

KIND_VOUCHER = 1
KIND_TICKET = 2
_SALTS = {KIND_VOUCHER: "voucher", KIND_TICKET: "ticket"}
_PAYLOAD_BYTES = 15
_SIG_BYTES = 15
TOKEN_LENGTH = 41  # 20 + "." + 20

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 characters, a prime: the check catches swaps
VOUCHER_CODE_LENGTH = 9
TICKET_CODE_LENGTH = 10
MAX_TICKETS_PER_SHEET = 500


class _TruncatedSha256(HMACAlgorithm):
    """HMAC-SHA256 cut to 120 bits: still far beyond guessing, and it keeps the QR small."""

    def __init__(self) -> None:
        super().__init__(hashlib.sha256)

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return super().get_signature(key, value)[:_SIG_BYTES]


def _signer(secret_key: str, kind: int) -> Signer:
    return Signer(secret_key, salt=_SALTS[kind], key_derivation="hmac", digest_method=hashlib.sha256,
                  algorithm=_TruncatedSha256())


def key_id(secret_key: str) -> int:
    """One byte naming the server key, so a token of another installation (or from before
    a key change) is reported as such rather than as a forgery."""
    return hmac.new(secret_key.encode(), b"canteen token key id", hashlib.sha256).digest()[0]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str, length: int) -> bytes | None:
    """Decode base64url of exactly ``length`` bytes, or None (wrong length or characters)."""
    if len(text) != (length * 4 + 2) // 3:
        return None
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    # Refuse non-canonical spellings (only possible with spare bits, which we avoid, and
    # with characters outside the URL-safe alphabet, which b64decode would drop).
    if len(data) != length or _b64(data) != text:
        return None
    return data


def seal(*, secret_key: str, kind: int, row_id: str, number: int) -> str:
    """The signed token for a voucher (number = version) or a ticket (number = 0)."""
    raw_id = bytes.fromhex(row_id)
    if len(raw_id) != 10 or not 0 <= number < 1 << 24:
        raise ValueError(f"cannot seal id {row_id!r} / number {number}")
    payload = bytes([kind, key_id(secret_key)]) + raw_id + number.to_bytes(3, "big")
    return _signer(secret_key, kind).sign(_b64(payload)).decode()


@dataclass(frozen=True)
class Opened:
    """What a token says, once its signature has been checked."""

    kind: int
    row_id: str
    number: int


def _token_error(kind: int | None, code: str, zh: str, en: str, status: int = 422) -> ApiError:
    what_zh = "餐券" if kind != KIND_TICKET else "公益餐票"
    prefix = "voucher" if kind != KIND_TICKET else "ticket"
    return ApiError(status, f"{prefix}_{code}", zh.format(what=what_zh), en.format(what=prefix))


def open_token(*, secret_key: str, token: str) -> Opened:
    """Check a token's shape, key and signature; return what it names.

    Raises ApiError 422: ``voucher_truncated`` (not a whole token: cut short, or not a
    token at all), ``voucher_wrong_key`` (signed under another server key),
    ``voucher_forged`` (the signature does not match); ``ticket_*`` for ticket tokens.
    """
    body, dot, sig = token.partition(".")
    payload = _unb64(body, _PAYLOAD_BYTES) if dot else None
    kind = payload[0] if payload and payload[0] in _SALTS else None
    if payload is None or kind is None or _unb64(sig, _SIG_BYTES) is None:
        raise _token_error(kind, "truncated", "{what}二维码不完整或已损坏，请重新扫描，或输入券面上的短码",
                           "the {what} QR code is incomplete or damaged: scan it again or type the short code")
    if payload[1] != key_id(secret_key):
        raise _token_error(kind, "wrong_key", "这张{what}不是本系统签发的（签名密钥不同），请到社区重新办理",
                           "this {what} was signed with another key (not issued by this system): have it reissued")
    if not _signer(secret_key, kind).verify_signature(body.encode(), sig.encode()):
        raise _token_error(kind, "forged", "{what}签名不符，可能被篡改或伪造，不能使用",
                           "the {what} signature does not match: it was altered or forged and cannot be used")
    return Opened(kind=kind, row_id=payload[2:12].hex(), number=int.from_bytes(payload[12:], "big"))


def voucher_token(settings: Settings, voucher: Voucher) -> str:
    return seal(secret_key=settings.secret_key, kind=KIND_VOUCHER, row_id=voucher.id, number=voucher.version)


def ticket_token(settings: Settings, ticket: Ticket) -> str:
    return seal(secret_key=settings.secret_key, kind=KIND_TICKET, row_id=ticket.id, number=0)


def voucher_url(settings: Settings, token: str) -> str:
    return f"{settings.base_url}/v/{token}"


def ticket_url(settings: Settings, token: str) -> str:
    return f"{settings.base_url}/t/{token}"


# --- short codes --------------------------------------------------------------------

def code_check_character(body: str) -> str:
    """The check character of a short code: position-weighted sum mod 31."""
    total = sum((i + 1) * CODE_ALPHABET.index(ch) for i, ch in enumerate(body))
    return CODE_ALPHABET[total % len(CODE_ALPHABET)]


def new_code(length: int) -> str:
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(length - 1))
    return body + code_check_character(body)


def normalise_code(text: str) -> str:
    """A short code as typed: case, spaces and dashes do not matter."""
    import unicodedata

    text = unicodedata.normalize("NFKC", text or "").upper()
    return "".join(ch for ch in text if ch not in " -_\t\r\n")


def code_is_well_formed(code: str) -> bool:
    """True when ``code`` (normalised) is a voucher or ticket code with a matching check character."""
    return (len(code) in (VOUCHER_CODE_LENGTH, TICKET_CODE_LENGTH) and all(ch in CODE_ALPHABET for ch in code)
            and code_check_character(code[:-1]) == code[-1])


def display_code(code: str) -> str:
    """Grouped for reading aloud and typing: ``ABC-DEF-GH7`` / ``ABCDE-FGHJ7``."""
    if len(code) == VOUCHER_CODE_LENGTH:
        return f"{code[:3]}-{code[3:6]}-{code[6:]}"
    if len(code) == TICKET_CODE_LENGTH:
        return f"{code[:5]}-{code[5:]}"
    return code


def _unique_code(session: Session, model, length: int) -> str:
    for _ in range(20):
        code = new_code(length)
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

    def as_dict(self) -> dict:
        v = self.voucher
        return {"id": v.id, "diner_id": v.diner_id, "version": v.version, "status": v.status,
                "url": self.url, "token": self.token, "code": v.code, "code_display": display_code(v.code),
                "valid_until": v.valid_until.isoformat()}


def issued(settings: Settings, voucher: Voucher) -> IssuedVoucher:
    token = voucher_token(settings, voucher)
    return IssuedVoucher(voucher=voucher, token=token, url=voucher_url(settings, token))


def issue_voucher(*, session: Session, settings: Settings, diner_id: str, staff_id: str,
                  today: date) -> IssuedVoucher:
    """Issue a new voucher to a diner; the previous active one becomes ``superseded``.

    Valid until ``today + voucher_valid_days``.  Refuses an unknown or suspended diner.
    """
    # Lock the diner row so two issues at once cannot pick the same version (PostgreSQL;
    # on SQLite the write transaction already runs alone).
    diner = session.exec(select(Diner).where(Diner.id == diner_id).with_for_update()).first()
    if diner is None:
        raise ApiError(404, "diner_not_found", "没有这位就餐者", "no such diner")
    if diner.suspended:
        raise ApiError(409, "diner_suspended", "该就餐者已停用，请先恢复再发券",
                       "this diner is suspended: reinstate them before issuing a voucher")
    now = naive_utc()
    session.exec(update(Voucher).where(Voucher.diner_id == diner_id, Voucher.status == "active")
                 .values(status="superseded", revoked_at=now))
    last = session.exec(select(func.max(Voucher.version)).where(Voucher.diner_id == diner_id)).one()
    voucher = Voucher(diner_id=diner_id, version=(last or 0) + 1,
                      code=_unique_code(session, Voucher, VOUCHER_CODE_LENGTH), status="active",
                      valid_until=today + timedelta(days=settings.voucher_valid_days),
                      issued_by=staff_id, issued_at=now)
    session.add(voucher)
    session.flush()
    return issued(settings, voucher)


def revoke_voucher(*, session: Session, voucher_id: str) -> Voucher:
    """Revoke an active voucher (lost card, left the community).  Refuses one that is not active."""
    voucher = session.exec(select(Voucher).where(Voucher.id == voucher_id).with_for_update()).first()
    if voucher is None:
        raise ApiError(404, "voucher_not_found", "没有这张餐券", "no such voucher")
    if voucher.status != "active":
        zh = {"revoked": "已作废", "superseded": "已被新券取代"}[voucher.status]
        raise ApiError(409, "voucher_not_active", f"这张餐券{zh}，无需再作废",
                       f"this voucher is already {voucher.status}; nothing was changed")
    voucher.status = "revoked"
    voucher.revoked_at = naive_utc()
    session.add(voucher)
    session.flush()
    return voucher


def active_voucher(*, session: Session, diner_id: str) -> Voucher | None:
    return session.exec(select(Voucher).where(Voucher.diner_id == diner_id, Voucher.status == "active")).first()


def vouchers_of(*, session: Session, diner_id: str) -> list[Voucher]:
    """Every voucher the diner has had, newest first."""
    return list(session.exec(select(Voucher).where(Voucher.diner_id == diner_id)
                             .order_by(Voucher.version.desc())))


def check_voucher(voucher: Voucher | None, *, today: date) -> Voucher:
    """Refuse a voucher that is missing, revoked, superseded or past its date; else return it."""
    if voucher is None:
        raise ApiError(404, "voucher_unknown", "查无此餐券，请到社区核实", "no such voucher: check with the community office")
    if voucher.status == "revoked":
        raise ApiError(422, "voucher_revoked", "这张餐券已作废，不能使用", "this voucher has been revoked")
    if voucher.status == "superseded":
        raise ApiError(422, "voucher_superseded", "这张餐券已被新券取代，请使用最新的餐券",
                       "this voucher was replaced by a newer one: use the newest voucher")
    if voucher.valid_until < today:
        raise ApiError(422, "voucher_expired", f"这张餐券已于 {voucher.valid_until.isoformat()} 过期，请到社区换发",
                       f"this voucher expired on {voucher.valid_until.isoformat()}: have it renewed")
    return voucher


def voucher_from_token(*, session: Session, settings: Settings, token: str, today: date) -> Voucher:
    """The valid voucher a token names, or ApiError (forged, truncated, wrong key,
    unknown, revoked, superseded, expired)."""
    opened = open_token(secret_key=settings.secret_key, token=token)
    if opened.kind != KIND_VOUCHER:
        raise ApiError(422, "not_a_voucher", "这是公益餐票，不是餐券", "this is a free-meal ticket, not a voucher")
    voucher = session.get(Voucher, opened.row_id)
    if voucher is not None and voucher.version != opened.number:
        # A genuine signature over another version of this row cannot exist; treat as forged.
        raise _token_error(KIND_VOUCHER, "forged", "{what}签名不符，可能被篡改或伪造，不能使用",
                           "the {what} signature does not match: it was altered or forged and cannot be used")
    return check_voucher(voucher, today=today)


# --- tickets ------------------------------------------------------------------------

@dataclass(frozen=True)
class IssuedTicket:
    ticket: Ticket
    token: str
    url: str

    def as_dict(self) -> dict:
        t = self.ticket
        return {"id": t.id, "canteen": t.canteen_id, "business_date": t.business_date.isoformat(),
                "code": t.code, "code_display": display_code(t.code), "token": self.token, "url": self.url}


def issued_ticket(settings: Settings, ticket: Ticket) -> IssuedTicket:
    token = ticket_token(settings, ticket)
    return IssuedTicket(ticket=ticket, token=token, url=ticket_url(settings, token))


def tickets_for(*, session: Session, canteen_id: str, business_date: date) -> list[Ticket]:
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
        raise ApiError(422, "ticket_date_past", "不能为已过去的日期印制餐票",
                       f"{business_date.isoformat()} is in the past: tickets are for today or a later date")
    cap = settings.policy.in_force(business_date).free_meals_per_day
    already = session.exec(select(func.count()).select_from(Ticket).where(
        Ticket.canteen_id == canteen_id, Ticket.business_date == business_date)).one()
    if count is None:
        count = cap - already
    if not isinstance(count, int) or isinstance(count, bool) or count < 1 or count > MAX_TICKETS_PER_SHEET:
        raise ApiError(422, "invalid_ticket_count", f"张数须为 1–{MAX_TICKETS_PER_SHEET}",
                       f"count must be a whole number from 1 to {MAX_TICKETS_PER_SHEET}", cap=cap, issued=already)
    if already + count > cap:
        raise ApiError(409, "tickets_exceed_cap",
                       f"{business_date.isoformat()} 每日公益餐上限 {cap} 份，已印 {already} 张，最多还能印 {max(cap - already, 0)} 张",
                       f"the daily free-meal cap for {business_date.isoformat()} is {cap}; {already} tickets exist, "
                       f"at most {max(cap - already, 0)} more can be printed", cap=cap, issued=already)
    now = naive_utc()
    rows = []
    for _ in range(count):
        t = Ticket(canteen_id=canteen_id, business_date=business_date,
                   code=_unique_code(session, Ticket, TICKET_CODE_LENGTH), issued_by=staff_id, issued_at=now)
        session.add(t)
        session.flush()  # the unique-code check above must see the codes just made
        rows.append(t)
    return [issued_ticket(settings, t) for t in rows]


def ticket_from_token(*, session: Session, settings: Settings, token: str) -> Ticket:
    opened = open_token(secret_key=settings.secret_key, token=token)
    if opened.kind != KIND_TICKET:
        raise ApiError(422, "not_a_ticket", "这是餐券，不是公益餐票", "this is a meal voucher, not a free-meal ticket")
    ticket = session.get(Ticket, opened.row_id)
    if ticket is None:
        raise ApiError(404, "ticket_unknown", "查无此公益餐票", "no such free-meal ticket")
    return ticket


# --- demo ---------------------------------------------------------------------------

def load_demo(app) -> str:
    """Issue a voucher to each demo diner; return a few URLs and codes to try at the till."""
    from pos.clock import business_date
    from pos.models import StaffUser

    settings: Settings = app.config["CANTEEN"]
    db = app.extensions["canteen_db"]
    today = business_date(settings.default_canteen.timezone)
    with db.transaction() as s:
        registrar = s.exec(select(StaffUser).where(StaffUser.username == "registrar")).first()
        if registrar is None:
            return ""
        diners = list(s.exec(select(Diner).order_by(Diner.created_at, Diner.id)))
        out = [issue_voucher(session=s, settings=settings, diner_id=d.id, staff_id=registrar.id, today=today)
               for d in diners if active_voucher(session=s, diner_id=d.id) is None]
        names = {d.id: d.name for d in diners}
    if not out:
        return ""
    from pos.store.diners import mask_name

    lines = [f"meal vouchers issued to the {len(out)} demo diners; try these at the till (URL or short code):"]
    for v in out[:3]:
        lines.append(f"  {mask_name(names[v.voucher.diner_id])}  {display_code(v.code)}  {v.url}")
    return "\n".join(lines)

