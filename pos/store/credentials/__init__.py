"""What the till learns from a scan or a typed number: a :class:`Credential`.

The till's credential box takes whatever the camera or a keyboard-wedge scanner types —
a voucher URL (any host), a bare token, a short code, a ticket's URL, token or code, or
a resident ID number — and :func:`resolve` asks each kind of credential in turn whether
the text is one of its own.  Each kind is one module of this package with:

* ``NAME`` — its code (stored in ``sales.credential_kind``) and ``NAMES`` (zh/en);
* ``recognise(text, *, settings)`` — what it parses out of the text, or None;
* ``look_up(tx, found, *, settings, today, canteen_id)`` — the :class:`Credential`,
  or a :class:`pos.refusal.Refusal` saying what is wrong with it.

To add a kind: write its module, add it to :data:`KINDS`, and add its ``NAME`` to the
CHECK list of ``sales.credential_kind`` in ``schema.sql`` (a test checks they agree).
"""
from __future__ import annotations

from datetime import date

from pos.config import Settings
from pos.store import tokens
from pos.store.credentials import id_number, ticket, voucher
from pos.store.credentials.credential import Credential, CredentialRequest  # noqa: F401  (the package's types)
from pos.refusal import Refusal
from pos.tx import Tx
from subsidies.resident_id import pseudonym

#: The kinds, in the order they are asked.
KINDS = (voucher, ticket, id_number)
#: ``sales.credential_kind`` of a sale without a credential.
NO_CREDENTIAL = "none"
MAX_SCAN = 2048


def resolve(tx: Tx, *, settings: Settings, request: CredentialRequest | None, today: date,
            canteen_id: str) -> Credential | None:
    """The credential the till sent, or None for none.  ``today`` is the canteen's
    business date (a ticket is honoured only on its date and at its canteen)."""
    if request is None:
        return None
    if request.id_number is not None:
        return id_number.look_up(tx, request.id_number, settings=settings, today=today, canteen_id=canteen_id)
    return resolve_scan(tx, settings=settings, text=request.scan or "", today=today, canteen_id=canteen_id)


def stand_in(request: CredentialRequest | None, *, id_key: bytes) -> tuple[str, str] | None:
    """The credential as a kept digest of a request may see it: a resident ID number,
    typed on the keypad or scanned into the scan field (right or mistyped), replaced by
    its keyed pseudonym; any other scan as it is."""
    if request is None:
        return None
    if request.id_number is not None:
        return (id_number.NAME, pseudonym(id_key, request.id_number))
    text = (request.scan or "").strip()
    if id_number.looks_like(text):
        return (id_number.NAME, pseudonym(id_key, text))
    return ("scan", text)


def resolve_scan(tx: Tx, *, settings: Settings, text: str, today: date, canteen_id: str) -> Credential:
    """Turn what was scanned or typed at the till into a Credential.

    Refusals: ``empty_scan``; a kind's own (``voucher_forged``, ``ticket_wrong_date``,
    ``resident_id_check_character``…); for text no kind claims, ``voucher_truncated`` (a
    URL or token that lost its tail), ``code_mistyped`` (a short code whose check
    character does not match) or ``unknown_code``.
    """
    text = (text or "").strip()
    if not text:
        raise Refusal("empty_scan", "请扫描餐券或输入短码", "scan a voucher or type its short code")
    if len(text) <= MAX_SCAN:
        for kind in KINDS:
            found = kind.recognise(text, settings=settings)
            if found is not None:
                return kind.look_up(tx, found, settings=settings, today=today, canteen_id=canteen_id)
        if tokens.looks_damaged(text):
            raise Refusal("voucher_truncated", "餐券二维码不完整或已损坏，请重新扫描，或输入券面上的短码",
                          "the voucher QR code is incomplete or damaged: scan it again or type the short code")
        code = tokens.normalise_code(text)
        if len(code) in (tokens.VOUCHER_CODE_LENGTH, tokens.TICKET_CODE_LENGTH) and all(
                ch in tokens.CODE_ALPHABET for ch in code):
            raise Refusal("code_mistyped", "短码校验不符，可能有字符输错，请逐位核对",
                          "the short code's check character does not match: a character is mistyped")
    raise Refusal("unknown_code", "无法识别：不是有效的餐券、餐票或短码",
                  "not recognised: this is not a valid voucher, ticket or short code")
