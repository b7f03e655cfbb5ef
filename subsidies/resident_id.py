"""Resident ID numbers (居民身份证号码, GB 11643-1999): validate, mask, pseudonymise.

An 18-character number is::

    RRRRRR YYYYMMDD SSS C
    region birth    seq check

``C`` is the ISO 7064 MOD 11-2 check character over the first 17 digits; it is a digit or
``X`` (standing for 10).  A cashier may type ``x`` in lower case and spaces anywhere; both
are normalised away.

The number itself is personal data.  Screens and receipts show :func:`mask_resident_id`;
"one subsidised meal a day" checks on walk-in diners use :func:`pseudonym`, a keyed hash,
so the store never needs to keep the number.
"""
from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from datetime import date

#: ISO 7064 MOD 11-2 weights for positions 1..17 (2^(18-i) mod 11).
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
#: Check character for (weighted sum mod 11) = 0..10.
_CHECK_MAP = "10X98765432"

#: First two digits of the region code: the province-level divisions of GB/T 2260, plus
#: 83 (used for residents of Taiwan holding mainland residence permits).
PROVINCE_CODES: frozenset[str] = frozenset(
    {"11", "12", "13", "14", "15",
     "21", "22", "23",
     "31", "32", "33", "34", "35", "36", "37",
     "41", "42", "43", "44", "45", "46",
     "50", "51", "52", "53", "54",
     "61", "62", "63", "64", "65",
     "71", "81", "82", "83"}
)

#: The codes of :class:`ResidentIdError`, one per kind of mistake.
ERROR_CODES: tuple[str, ...] = ("empty", "first_generation", "length", "characters", "region", "birth_date",
                                "future_birth_date", "check_character")

_EARLIEST_BIRTH = date(1900, 1, 1)
_DIGITS = frozenset("0123456789")


class ResidentIdError(ValueError):
    """A resident ID number was refused.

    ``code`` says which kind of mistake (``empty``, ``first_generation``, ``length``,
    ``characters``, ``region``, ``birth_date``, ``future_birth_date``,
    ``check_character``); ``message_zh`` is for the till, ``message_en`` for logs and the
    CLI.  ``str(error)`` is the English message.
    """

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en


@dataclass(frozen=True)
class ResidentId:
    """A valid resident ID number and what it tells us.

    ``number`` is normalised: 18 characters, check character ``X`` in upper case.
    """

    number: str
    region_code: str
    birth_date: date

    @property
    def masked(self) -> str:
        """The number as it may be shown: ``3302**********123X``."""
        return mask_resident_id(self.number)


def normalise_resident_id(text: str) -> str:
    """The number as typed, without spaces and with full-width characters and ``x`` made
    plain: ``'３３０２ … x'`` → ``'3302…X'``.  Does not validate."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(text.split()).upper()


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character (``'0'``–``'9'`` or ``'X'``) for the first
    17 digits of a resident ID number."""
    if len(first17) != 17 or not set(first17) <= _DIGITS:
        raise ValueError(f"need exactly 17 digits, got {first17!r}")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS))
    return _CHECK_MAP[total % 11]


def parse_resident_id(text: str, *, today: date | None = None) -> ResidentId:
    """Validate a resident ID number typed or scanned at the till.

    Checks, in this order, and raises :class:`ResidentIdError` with a distinct ``code``
    for the first problem found: nothing typed (``empty``); a 15-digit first-generation
    number (``first_generation``); not 18 characters (``length``); anything but 17
    digits followed by a digit or ``X`` (``characters``); a region code that is not a
    real province prefix (``region``); a birth date that does not exist or is before
    1900-01-01 (``birth_date``); a birth date after ``today``, when given
    (``future_birth_date``); a wrong check character (``check_character``).

    Spaces are ignored and a lower-case ``x`` is accepted.
    """
    number = normalise_resident_id(text)
    if not number:
        raise ResidentIdError(
            "empty",
            "请输入身份证号码。",
            "Please enter a resident ID number.",
        )
    if len(number) == 15 and set(number) <= _DIGITS:
        raise ResidentIdError(
            "first_generation",
            "这是15位的第一代身份证号码，已停止使用且没有校验位，无法核验。"
            "请使用18位的第二代身份证号码。",
            "This is a 15-digit first-generation ID number. These were replaced by "
            "18-character numbers and carry no check character, so they cannot be "
            "verified. Please use the 18-character number.",
        )
    if len(number) != 18:
        raise ResidentIdError(
            "length",
            f"身份证号码应为18位，现在是{len(number)}位。",
            f"A resident ID number has 18 characters; this one has {len(number)}.",
        )
    first17, last = number[:17], number[17]
    if not set(first17) <= _DIGITS or last not in _DIGITS | {"X"}:
        bad = next(
            (i + 1 for i, ch in enumerate(number)
             if not (ch in _DIGITS or (i == 17 and ch == "X"))),
            18,
        )
        raise ResidentIdError(
            "characters",
            f"身份证号码只能包含数字，最后一位可以是X（第{bad}位不对）。",
            f"A resident ID number is 17 digits followed by a digit or X "
            f"(character {bad} is wrong).",
        )
    region = number[:6]
    if region[:2] not in PROVINCE_CODES:
        raise ResidentIdError(
            "region",
            f"前6位地区码 {region} 不是有效的省级行政区划代码。",
            f"The first six digits {region} are not a valid region code "
            f"(no province starts with {region[:2]}).",
        )
    digits = number[6:14]
    try:
        birth = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        birth = None
    if birth is None or birth < _EARLIEST_BIRTH:
        raise ResidentIdError(
            "birth_date",
            f"第7–14位的出生日期 {digits} 不是有效日期。",
            f"Characters 7–14 ({digits}) are not a real date of birth.",
        )
    if today is not None and birth > today:
        raise ResidentIdError(
            "future_birth_date",
            f"出生日期 {birth.isoformat()} 晚于今天，号码有误。",
            f"The date of birth {birth.isoformat()} is in the future; "
            f"the number is mistyped.",
        )
    expected = check_character(first17)
    if last != expected:
        raise ResidentIdError(
            "check_character",
            "校验位不符，号码中有输错的数字，请逐位核对。",
            "The check character does not match: a digit is mistyped. "
            "Please check the number digit by digit.",
        )
    return ResidentId(number=number, region_code=region, birth_date=birth)


def mask_resident_id(number: str) -> str:
    """The number for display: first 4 and last 4 characters, 10 asterisks between
    (``3302**********123X``).  Anything that is not 18 characters is masked entirely."""
    n = normalise_resident_id(number)
    if len(n) != 18:
        return "*" * len(n)
    return n[:4] + "*" * 10 + n[-4:]


def pseudonym(secret: bytes, number: str) -> str:
    """The pseudonymous key for a resident ID number: hex HMAC-SHA256(secret, number).

    The number is normalised first (spaces removed, ``x`` upper-cased), so the same
    person always gets the same key.  Every "one meal a day" check on walk-in diners
    uses this key, never the number.  ``secret`` must not be empty: without a secret,
    anyone could recompute keys for every possible number.
    """
    if not isinstance(secret, (bytes, bytearray)) or not secret:
        raise ValueError("pseudonym() needs a non-empty secret key (bytes)")
    n = normalise_resident_id(number)
    return hmac.new(bytes(secret), n.encode("utf-8"), hashlib.sha256).hexdigest()
