"""What the till learns from a scan or a typed number: a :class:`Credential`.

The till's credential box takes whatever the camera or a keyboard-wedge scanner types —
the voucher URL (any host), the bare token, the short code, a ticket's URL, token or code,
or a resident ID number — and :func:`resolve_scan` turns it into the diner's facts for
the rules engine plus what the cashier may see (a masked name and a benefit band).
Refusals are ApiErrors with one code per cause, so the cashier hears exactly what is
wrong with the card in their hand.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from sqlmodel import Session, select

from pos.config import Settings
from pos.errors import ApiError
from pos.models import Diner, Ticket, Voucher
from pos.store import vouchers as vstore
from pos.store.diners import id_error, mask_name
from pos.store.fastsql import Fast, synced
from subsidies.age import age_on
from subsidies.engine import DinerFacts
from subsidies.policy import WORKER_CATEGORY_NAMES, PolicyError
from subsidies.resident_id import ResidentIdError, normalise_resident_id, parse_resident_id, pseudonym


@dataclass(frozen=True)
class Credential:
    """Who is paying, as far as the subsidy is concerned.

    ``kind`` is how they identified themselves (``voucher``, ``resident_id``, ``ticket``
    or ``none``); ``facts`` is what the rules engine decides on.  ``diner_key`` is the
    key of the one-meal-a-day limit: the diner's pseudonym (HMAC of the resident ID) or
    ``ticket:<id>``.  ``band_zh``/``band_en`` is what the cashier sees, e.g. "80岁以上".
    """

    kind: str
    facts: DinerFacts
    diner_key: str | None = None
    diner_id: str | None = None
    ticket_id: str | None = None
    voucher_id: str | None = None
    masked_name: str = ""
    band_zh: str = ""
    band_en: str = ""

    def as_dict(self) -> dict:
        """JSON for the till: never the ID number, the pseudonym or the date of birth."""
        return {"kind": self.kind, "diner_kind": self.facts.kind, "diner_id": self.diner_id,
                "ticket_id": self.ticket_id, "voucher_id": self.voucher_id, "masked_name": self.masked_name,
                "band_zh": self.band_zh, "band_en": self.band_en, "suspended": self.facts.suspended,
                "resident": self.facts.resident, "worker_category": self.facts.worker_category,
                "worker_verified": self.facts.worker_verified,
                "ticket_date": self.facts.ticket_date.isoformat() if self.facts.ticket_date else None}


NONE = Credential(kind="none", facts=DinerFacts(kind="anonymous"), band_zh="无优惠凭证", band_en="no credential")

_TOKEN_IN_URL = re.compile(r"/(v|t)/([A-Za-z0-9_\-]+\.?[A-Za-z0-9_\-]*)")
_BARE_TOKEN = re.compile(r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*$")
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9_\-]+$")
_ID_LIKE = re.compile(r"^[0-9]{14,17}[0-9X]$")  # 15-18 characters: let the ID check explain what is wrong


def band(settings: Settings, *, today: date, birth_date: date | None, worker_category: str | None = None,
         worker_verified: bool = False, resident: bool = True, walk_in: bool = False) -> tuple[str, str]:
    """The benefit band a cashier sees: the age tier reached today and/or the worker
    category — "80岁以上 · 环卫工" / "80+ · sanitation worker"."""
    zh, en = [], []
    if walk_in:
        zh.append("未登记")
        en.append("not registered")
    elif not resident:
        zh.append("非本社区居民")
        en.append("not a resident")
    if birth_date is not None and birth_date <= today:
        try:
            tiers = settings.policy.in_force(today).age_tiers
        except PolicyError:
            tiers = ()
        age = age_on(birth_date, today)
        reached = [t.min_age for t in tiers if t.min_age <= age]
        if reached:
            zh.append(f"{reached[-1]}岁以上")
            en.append(f"{reached[-1]}+")
    if worker_category:
        name_zh, name_en = WORKER_CATEGORY_NAMES.get(worker_category, (worker_category, worker_category))
        zh.append(name_zh if worker_verified else f"{name_zh}（未核验）")
        en.append(name_en if worker_verified else f"{name_en} (not verified)")
    if not zh:
        return "登记就餐者", "registered diner"
    return " · ".join(zh), " · ".join(en)


def benefit(settings: Settings, diner: Diner, *, today: date) -> tuple[str, str]:
    """What a registered diner's voucher gives under the policy in force ``today``, for
    the diner's own page and the printed card: "80岁以上长者 每餐立减¥7.00"."""
    from subsidies.money import yuan

    try:
        policy = settings.policy.in_force(today)
    except PolicyError:
        return "暂无适用的补贴政策", "no subsidy policy in force"
    zh, en = [], []
    if diner.worker_category in policy.welfare_categories and diner.worker_verified_by is not None:
        # The card and the diner's page are shown at the till: they name the benefit, never
        # the diner's work (no overt identification).
        zh.append("公益套餐 每日一份（限量）")
        en.append("a welfare set meal a day (while they last)")
    if diner.resident or not policy.residency_required:
        age = age_on(diner.birth_date, today) if diner.birth_date <= today else -1
        reached = [t for t in policy.age_tiers if t.min_age <= age]
        if reached:
            t = reached[-1]
            zh.append(f"{t.min_age}岁以上长者 每餐立减{yuan(t.discount_fen)}")
            en.append(f"aged {t.min_age}+: {yuan(t.discount_fen)} off a meal")
        elif policy.age_tiers and not zh:
            t = policy.age_tiers[0]
            zh.append(f"年满{t.min_age}岁起 每餐立减{yuan(t.discount_fen)}")
            en.append(f"from age {t.min_age}: {yuan(t.discount_fen)} off a meal")
    if not zh:
        return "社区登记就餐者（按菜单价）", "registered diner (menu prices)"
    return "；".join(zh), "; ".join(en)


def registered(settings: Settings, diner: Diner, *, kind: str, today: date, voucher_id: str | None = None) -> Credential:
    """The credential of a registered diner (by voucher or by their resident ID number)."""
    facts = DinerFacts(kind="registered", birth_date=diner.birth_date, resident=diner.resident,
                       worker_category=diner.worker_category, worker_verified=diner.worker_verified_by is not None,
                       suspended=diner.suspended)
    zh, en = band(settings, today=today, birth_date=diner.birth_date, worker_category=diner.worker_category,
                  worker_verified=facts.worker_verified, resident=diner.resident)
    if diner.suspended:
        zh, en = f"已停用 · {zh}", f"suspended · {en}"
    return Credential(kind=kind, facts=facts, diner_key=diner.id_hmac, diner_id=diner.id, voucher_id=voucher_id,
                      masked_name=mask_name(diner.name), band_zh=zh, band_en=en)


def _ticket_credential(ticket: Ticket, *, canteen_id: str, today: date) -> Credential:
    if ticket.canteen_id != canteen_id:
        raise ApiError(422, "ticket_other_canteen", "这张公益餐票属于其他食堂，不能在本店使用",
                       "this free-meal ticket belongs to another canteen")
    if ticket.business_date != today:
        raise ApiError(422, "ticket_wrong_date", f"这张公益餐票仅限 {ticket.business_date.isoformat()} 当天使用",
                       f"this free-meal ticket is valid on {ticket.business_date.isoformat()} only")
    return Credential(kind="ticket", facts=DinerFacts(kind="ticket", ticket_date=ticket.business_date),
                      diner_key=f"ticket:{ticket.id}", ticket_id=ticket.id,
                      band_zh="公益餐券", band_en="free-meal ticket")


def _from_voucher(session: Session, settings: Settings, voucher: Voucher, today: date) -> Credential:
    voucher = vstore.check_voucher(voucher, today=today)
    diner = session.get(Diner, voucher.diner_id)
    return registered(settings, diner, kind="voucher", today=today, voucher_id=voucher.id)


def resolve_scan(*, session: Session, settings: Settings, text: str, today: date, canteen_id: str) -> Credential:
    """Turn what was scanned or typed at the till into a Credential.

    Accepts a voucher or ticket URL (``…/v/<token>``, ``…/t/<token>``, any host), a bare
    token, a short code (case, spaces and dashes ignored) or a resident ID number.
    ``today`` is the canteen's business date; a ticket is honoured only on its date and
    at its canteen.  A suspended diner is not refused here: ``facts.suspended`` lets the
    engine explain it.  Refusals (ApiError): ``voucher_truncated``, ``voucher_forged``,
    ``voucher_wrong_key``, ``voucher_expired``, ``voucher_revoked``,
    ``voucher_superseded``, ``voucher_unknown``, ``ticket_*`` likewise plus
    ``ticket_wrong_date``, ``ticket_other_canteen``, ``ticket_unknown``;
    ``code_mistyped`` and ``unknown_code`` for short codes; ``empty_scan``.
    """
    text = (text or "").strip()
    if not text:
        raise ApiError(422, "empty_scan", "请扫描餐券或输入短码", "scan a voucher or type its short code")
    if len(text) > 2048:
        raise ApiError(422, "unknown_code", "无法识别的内容", "this is not a voucher, ticket or short code")
    match = _TOKEN_IN_URL.search(text)
    token = match.group(2) if match else (text if _BARE_TOKEN.match(text) else None)
    if token is not None:
        opened = vstore.open_token(secret_key=settings.secret_key, token=token)
        if opened.kind == vstore.KIND_TICKET:
            ticket = vstore.ticket_from_token(session=session, settings=settings, token=token)
            return _ticket_credential(ticket, canteen_id=canteen_id, today=today)
        voucher = vstore.voucher_from_token(session=session, settings=settings, token=token, today=today)
        return _from_voucher(session, settings, voucher, today)
    if _ID_LIKE.match(normalise_resident_id(text)):
        return resolve_id_number(session=session, settings=settings, id_number=text, today=today)
    if "/" in text or "." in text or (len(text) > vstore.TICKET_CODE_LENGTH + 2 and _TOKEN_CHARS.match(text)):
        # A URL or token that lost its tail on the way (a flaky scan).
        raise ApiError(422, "voucher_truncated", "餐券二维码不完整或已损坏，请重新扫描，或输入券面上的短码",
                       "the voucher QR code is incomplete or damaged: scan it again or type the short code")
    code = vstore.normalise_code(text)
    if len(code) in (vstore.VOUCHER_CODE_LENGTH, vstore.TICKET_CODE_LENGTH) and all(
            ch in vstore.CODE_ALPHABET for ch in code) and not vstore.code_is_well_formed(code):
        raise ApiError(422, "code_mistyped", "短码校验不符，可能有字符输错，请逐位核对",
                       "the short code's check character does not match: a character is mistyped")
    if vstore.code_is_well_formed(code):
        if len(code) == vstore.VOUCHER_CODE_LENGTH:
            voucher = session.exec(select(Voucher).where(Voucher.code == code)).first()
            if voucher is not None:
                return _from_voucher(session, settings, voucher, today)
        else:
            ticket = session.exec(select(Ticket).where(Ticket.code == code)).first()
            if ticket is not None:
                return _ticket_credential(ticket, canteen_id=canteen_id, today=today)
    raise ApiError(404, "unknown_code", "无法识别：不是有效的餐券、餐票或短码",
                   "not recognised: this is not a valid voucher, ticket or short code")


class _DinerRow(NamedTuple):
    """The columns of a diner that :func:`registered` reads."""

    id: str
    name: str
    id_hmac: str
    birth_date: date
    resident: bool
    worker_category: str | None
    worker_verified_by: str | None
    suspended: bool


# One plain statement (an ORM load, or even a Core select, costs several times more: this
# runs for every sale by resident ID number).
_DINER_BY_KEY_SQL = ("SELECT id, name, id_hmac, birth_date, resident, worker_category, worker_verified_by, suspended "
                     "FROM diners WHERE id_hmac = :k")


def _diner_by_key(session: Session | Fast, key: str) -> _DinerRow | None:
    fast = synced(session)
    row = fast.one(_DINER_BY_KEY_SQL, {"k": key})
    if row is None:
        return None
    diner_id, name, id_hmac, birth, resident, category, verified_by, suspended = row
    if fast.sqlite:  # SQLite gives dates as ISO text and booleans as 0/1
        birth = date.fromisoformat(birth) if isinstance(birth, str) else birth
    return _DinerRow(diner_id, name, id_hmac, birth, bool(resident), category, verified_by, bool(suspended))


def resolve_id_number(*, session: Session, settings: Settings, id_number: str, today: date) -> Credential:
    """A resident ID number typed at the till.

    A bad number is refused (422 ``resident_id_<code>`` with the engine's message).  A
    registered diner with that number → kind ``resident_id`` with their registered facts;
    otherwise a walk-in (``resident`` False: the policy decides whether walk-ins count).
    The number itself is used only to compute the pseudonym and the date of birth.
    """
    try:
        rid = parse_resident_id(id_number, today=today)
    except ResidentIdError as e:
        raise id_error(e) from None
    key = pseudonym(settings.id_key, rid.number)
    diner = _diner_by_key(session, key)
    if diner is not None:
        return registered(settings, diner, kind="resident_id", today=today)
    zh, en = band(settings, today=today, birth_date=rid.birth_date, walk_in=True)
    return Credential(kind="resident_id", facts=DinerFacts(kind="walk_in", birth_date=rid.birth_date, resident=False),
                      diner_key=key, band_zh=zh, band_en=en)
