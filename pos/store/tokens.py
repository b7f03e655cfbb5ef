"""Signed tokens and short codes: what a voucher's or ticket's QR code and printed code say.

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
import re
import secrets
import unicodedata
from dataclasses import dataclass

from itsdangerous import Signer
from itsdangerous.signer import HMACAlgorithm

from pos.refusal import Refusal

KIND_VOUCHER = 1
KIND_TICKET = 2
_SALTS = {KIND_VOUCHER: "voucher", KIND_TICKET: "ticket"}
_PAYLOAD_BYTES = 15
_SIG_BYTES = 15
TOKEN_LENGTH = 41  # 20 + "." + 20

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 characters, a prime: the check catches swaps
VOUCHER_CODE_LENGTH = 9
TICKET_CODE_LENGTH = 10


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


def token_refusal(kind: int | None, code: str, zh: str, en: str) -> Refusal:
    """A refusal about a voucher token (``voucher_<code>``) or, for a ticket's, ``ticket_<code>``."""
    what_zh = "餐券" if kind != KIND_TICKET else "公益餐票"
    prefix = "voucher" if kind != KIND_TICKET else "ticket"
    return Refusal(f"{prefix}_{code}", zh.format(what=what_zh), en.format(what=prefix))


FORGED = ("forged", "{what}签名不符，可能被篡改或伪造，不能使用",
          "the {what} signature does not match: it was altered or forged and cannot be used")
#: The codes a token refusal can carry, after ``voucher_`` or ``ticket_``.
TOKEN_REFUSALS = ("truncated", "wrong_key", "forged")


def open_token(*, secret_key: str, token: str) -> Opened:
    """Check a token's shape, key and signature; return what it names.

    Raises a Refusal: ``voucher_truncated`` (not a whole token: cut short, or not a
    token at all), ``voucher_wrong_key`` (signed under another server key),
    ``voucher_forged`` (the signature does not match); ``ticket_*`` for ticket tokens.
    """
    body, dot, sig = token.partition(".")
    payload = _unb64(body, _PAYLOAD_BYTES) if dot else None
    kind = payload[0] if payload and payload[0] in _SALTS else None
    if payload is None or kind is None or _unb64(sig, _SIG_BYTES) is None:
        raise token_refusal(kind, "truncated", "{what}二维码不完整或已损坏，请重新扫描，或输入券面上的短码",
                           "the {what} QR code is incomplete or damaged: scan it again or type the short code")
    if payload[1] != key_id(secret_key):
        raise token_refusal(kind, "wrong_key", "这张{what}不是本系统签发的（签名密钥不同），请到社区重新办理",
                           "this {what} was signed with another key (not issued by this system): have it reissued")
    if not _signer(secret_key, kind).verify_signature(body.encode(), sig.encode()):
        raise token_refusal(kind, *FORGED)
    return Opened(kind=kind, row_id=payload[2:12].hex(), number=int.from_bytes(payload[12:], "big"))


def voucher_token(secret_key: str, voucher_id: str, version: int) -> str:
    """The token of a voucher row (its id and version)."""
    return seal(secret_key=secret_key, kind=KIND_VOUCHER, row_id=voucher_id, number=version)


def ticket_token(secret_key: str, ticket_id: str) -> str:
    """The token of a one-time ticket row."""
    return seal(secret_key=secret_key, kind=KIND_TICKET, row_id=ticket_id, number=0)


def voucher_url(base_url: str, token: str) -> str:
    """The address a voucher's QR code carries: the diner's own page, which the till also reads."""
    return f"{base_url}/v/{token}"


def ticket_url(base_url: str, token: str) -> str:
    """The address a ticket's QR code carries."""
    return f"{base_url}/t/{token}"


_TOKEN_IN_URL = re.compile(r"/(v|t)/([A-Za-z0-9_\-]+\.?[A-Za-z0-9_\-]*)")
_BARE_TOKEN = re.compile(r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*$")
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9_\-]+$")


def token_in(text: str) -> str | None:
    """The token in what a scanner typed: a voucher or ticket URL (any host) or a bare
    token; None when there is none."""
    match = _TOKEN_IN_URL.search(text)
    if match:
        return match.group(2)
    return text if _BARE_TOKEN.match(text) else None


def found_in(text: str, *, secret_key: str, kind: int, code_length: int) -> Opened | str | None:
    """What ``text`` holds of one kind of token: the token, opened (its signature checked),
    when it is of ``kind``; a well-formed short code of ``code_length``; or None.  A
    damaged or forged token is refused here, whatever its kind."""
    token = token_in(text)
    if token is not None:
        opened = open_token(secret_key=secret_key, token=token)
        return opened if opened.kind == kind else None
    code = normalise_code(text)
    return code if len(code) == code_length and code_is_well_formed(code) else None


def looks_damaged(text: str) -> bool:
    """What a URL or token looks like when it lost its tail on the way (a flaky scan)."""
    return "/" in text or "." in text or (len(text) > TICKET_CODE_LENGTH + 2 and bool(_TOKEN_CHARS.match(text)))


# --- short codes --------------------------------------------------------------------

def code_check_character(body: str) -> str:
    """The check character of a short code: position-weighted sum mod 31."""
    total = sum((i + 1) * CODE_ALPHABET.index(ch) for i, ch in enumerate(body))
    return CODE_ALPHABET[total % len(CODE_ALPHABET)]


def new_code(length: int) -> str:
    """A random short code of ``length`` characters, the last its check character."""
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(length - 1))
    return body + code_check_character(body)


def normalise_code(text: str) -> str:
    """A short code as typed: case, spaces and dashes do not matter."""
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
