"""The diner registry.  A resident ID number is validated by the rules engine and kept
only as its HMAC (pseudonymous key) and a masked form; it is never stored or logged."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_
from sqlmodel import Session, select

from pos.clock import naive_utc
from pos.models import Diner, DinerChange, StaffUser, Voucher
from pos.refusal import Refusal
from pos.store.tokens import normalise_code
from subsidies.vocabulary import WORKER_CATEGORIES
from subsidies.resident_id import (ResidentIdError, mask_resident_id, normalise_resident_id, parse_resident_id,
                                   pseudonym)

#: A whole resident ID number (or a mistyped one) inside a normalised text.
_ID_RUN = re.compile(r"[0-9]{14,17}[0-9X]")


def id_refusal(e: ResidentIdError) -> Refusal:
    """The rules engine's objection to a resident ID number as a refusal (``resident_id_<code>``)."""
    return Refusal(f"resident_id_{e.code}", e.message_zh, e.message_en)


def mask_name(name: str) -> str:
    """A name as the till and the voucher show it: ``张金娴`` → ``张*娴``, ``王阿婆`` →
    ``王*婆``, ``王五`` → ``王*``; enough to recognise one's own card, not to identify.
    Format characters (zero-width, bidirectional controls) are left out, so a name stored
    before they were refused cannot reorder or hide what the till shows."""
    name = "".join(ch for ch in (name or "") if unicodedata.category(ch) != "Cf").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def register_diner(*, session: Session, id_key: bytes, staff_id: str, community: str, name: str, id_number: str,
                   resident: bool, today: date, worker_category: str | None = None, worker_proof: str = "",
                   phone: str | None = None) -> Diner:
    """Register a diner.  Refuses a bad ID number (with the engine's message), an unknown
    worker category, or a number already registered."""
    name = (name or "").strip()
    if not name or len(name) > 50:
        raise Refusal("invalid_name", "请填写姓名（50 字以内）", "name is required (at most 50 characters)")
    try:
        rid = parse_resident_id(id_number, today=today)
    except ResidentIdError as e:
        raise id_refusal(e) from None
    if worker_category is not None and worker_category not in WORKER_CATEGORIES:
        raise Refusal("unknown_worker_category", "未知的户外劳动者类别",
                      f"worker_category must be one of {', '.join(WORKER_CATEGORIES)}")
    key = pseudonym(id_key, rid.number)
    if session.exec(select(Diner.id).where(Diner.id_hmac == key)).first():
        raise Refusal("already_registered", "该身份证号已登记", "a diner with this resident ID is already registered")
    now = naive_utc()
    phone = _clean_phone(phone)
    worker_proof = (worker_proof or "").strip()
    if len(worker_proof) > 200:
        raise Refusal("invalid_worker_proof", "证明说明请在 200 字以内", "worker_proof: at most 200 characters")
    diner = Diner(name=name, id_hmac=key, id_masked=mask_resident_id(rid.number), birth_date=rid.birth_date,
                  resident=resident, community=community, worker_category=worker_category,
                  worker_proof=worker_proof if worker_category else "",
                  worker_verified_by=staff_id if worker_category else None,
                  worker_verified_at=now if worker_category else None,
                  phone=(phone or None), created_by=staff_id, created_at=now, updated_at=now)
    session.add(diner)
    session.flush()
    return diner


# Fields a person may change after registration, and how each is shown in the history.
EDITABLE = ("name", "id_number", "resident", "worker_category", "worker_proof", "phone", "community")


def _record(session: Session, diner: Diner, staff_id: str, at, field: str, old, new) -> None:
    session.add(DinerChange(diner_id=diner.id, staff_id=staff_id, at=at, field=field,
                            old_value="" if old is None else str(old), new_value="" if new is None else str(new)))


def _clean_phone(phone: str | None) -> str | None:
    phone = "".join((phone or "").split())
    if not phone:
        return None
    if len(phone) > 20 or not all(ch.isdigit() or ch in "+-" for ch in phone):
        raise Refusal("invalid_phone", "电话号码只能包含数字（20 位以内）", "phone must be digits (at most 20)")
    return phone


def get_diner(*, session: Session, diner_id: str, community: str | None, for_update: bool = False) -> Diner:
    """The diner, or 404 — also when they belong to another community than ``community``
    (None: any community), so a registrar cannot even learn that they exist."""
    q = select(Diner).where(Diner.id == diner_id)
    if for_update:
        q = q.with_for_update()
    diner = session.exec(q).first()
    if diner is None or (community is not None and diner.community != community):
        raise Refusal("diner_not_found", "没有这位就餐者", "no such diner")
    return diner


def edit_diner(*, session: Session, id_key: bytes, diner_id: str, staff_id: str, community: str | None,
               today: date, changes: dict) -> list[str]:
    """Apply ``changes`` (keys from EDITABLE) and record each change in diner_changes.

    A new resident ID number is validated like at registration and kept only as HMAC,
    masked form and date of birth; the history shows the masked forms.  Setting or
    changing the worker category records the editing staff member as its verifier.
    Returns the names of the fields that changed (nothing is written when none did).
    """
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise Refusal("unknown_field", "不能修改这些字段", f"cannot change: {', '.join(sorted(unknown))}")
    diner = get_diner(session=session, diner_id=diner_id, community=community, for_update=True)
    now = naive_utc()
    changed: list[str] = []

    def put(field: str, new, shown_old=None, shown_new=None) -> None:
        old = getattr(diner, field)
        if old == new:
            return
        _record(session, diner, staff_id, now, field, old if shown_old is None else shown_old,
                new if shown_new is None else shown_new)
        setattr(diner, field, new)
        changed.append(field)

    if "name" in changes:
        name = (changes["name"] or "").strip()
        if not name or len(name) > 50:
            raise Refusal("invalid_name", "请填写姓名（50 字以内）", "name is required (at most 50 characters)")
        put("name", name)
    if "id_number" in changes and (changes["id_number"] or "").strip():
        try:
            rid = parse_resident_id(changes["id_number"], today=today)
        except ResidentIdError as e:
            raise id_refusal(e) from None
        key = pseudonym(id_key, rid.number)
        if key != diner.id_hmac:
            if session.exec(select(Diner.id).where(Diner.id_hmac == key)).first():
                raise Refusal("already_registered", "该身份证号已登记", "a diner with this resident ID is already registered")
            masked = mask_resident_id(rid.number)
            # The history keeps masked forms only; the HMAC itself is not shown anywhere.
            _record(session, diner, staff_id, now, "id_number", diner.id_masked, masked)
            diner.id_hmac, diner.id_masked = key, masked
            changed.append("id_number")
            put("birth_date", rid.birth_date)
    if "resident" in changes:
        put("resident", bool(changes["resident"]))
    if "community" in changes:
        value = (changes["community"] or "").strip()
        if not value:
            raise Refusal("invalid_community", "请填写所属社区", "community is required")
        put("community", value)
    if "worker_category" in changes:
        category = changes["worker_category"] or None
        if category is not None and category not in WORKER_CATEGORIES:
            raise Refusal("unknown_worker_category", "未知的户外劳动者类别",
                          f"worker_category must be one of {', '.join(WORKER_CATEGORIES)}")
        if category != diner.worker_category:
            put("worker_category", category)
            diner.worker_verified_by = staff_id if category else None
            diner.worker_verified_at = now if category else None
            if not category:
                put("worker_proof", "")
    if "worker_proof" in changes and diner.worker_category:
        proof = (changes["worker_proof"] or "").strip()
        if len(proof) > 200:
            raise Refusal("invalid_worker_proof", "证明说明请在 200 字以内", "worker_proof: at most 200 characters")
        if proof != diner.worker_proof:
            put("worker_proof", proof)
            diner.worker_verified_by, diner.worker_verified_at = staff_id, now
    if "phone" in changes:
        put("phone", _clean_phone(changes["phone"]))
    if changed:
        diner.updated_at = now
        session.add(diner)
        session.flush()
    return changed


def set_suspended(*, session: Session, diner_id: str, staff_id: str, community: str | None, suspended: bool,
                  reason: str) -> Diner:
    """Suspend a diner (no subsidy until reinstated) or reinstate them; the reason goes in
    the history.  Refuses an empty reason and a change to the state they are already in."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise Refusal("reason_required", "请填写原因（200 字以内）", "a reason is required (at most 200 characters)")
    diner = get_diner(session=session, diner_id=diner_id, community=community, for_update=True)
    if diner.suspended == suspended:
        raise Refusal("already_" + ("suspended" if suspended else "active"),
                      "该就餐者已是停用状态" if suspended else "该就餐者未被停用",
                      "this diner is already suspended" if suspended else "this diner is not suspended")
    now = naive_utc()
    _record(session, diner, staff_id, now, "suspended", diner.suspended, f"{suspended} ({reason})")
    diner.suspended, diner.updated_at = suspended, now
    session.add(diner)
    session.flush()
    return diner


@dataclass(frozen=True)
class Change:
    """One recorded change of a diner's record, as the history page shows it."""

    at: datetime
    staff: str
    field: str
    old_value: str
    new_value: str


def history(*, session: Session, diner_id: str) -> list[Change]:
    """The diner's recorded changes, newest first, with the staff member's display name."""
    rows = session.exec(select(DinerChange, StaffUser.display_name)
                        .join(StaffUser, StaffUser.id == DinerChange.staff_id)
                        .where(DinerChange.diner_id == diner_id)
                        .order_by(DinerChange.at.desc(), DinerChange.id.desc()))
    return [Change(at=c.at, staff=name, field=c.field, old_value=c.old_value, new_value=c.new_value)
            for c, name in rows]


def looks_like_id_number(text: str) -> bool:
    """Whether a search text is (or holds) a whole resident ID number, right or mistyped —
    15 or more digits (a final X allowed), spaces and full-width digits included.  Such a
    text never goes into a URL, a page or a LIKE pattern."""
    plain = normalise_resident_id(text or "")
    return bool(plain) and _ID_RUN.search(plain) is not None


def shown_query(text: str) -> str:
    """A search text as a page may echo it: a whole ID number masked, a text holding
    one left out."""
    if not looks_like_id_number(text):
        return text
    plain = normalise_resident_id(text)
    return mask_resident_id(plain) if _ID_RUN.fullmatch(plain) else ""


def search(*, session: Session, community: str | None, query: str = "", id_key: bytes | None = None,
           limit: int = 100) -> list[Diner]:
    """Diners matching ``query``: part of a name, a masked ID (``3302**********123X``, or
    its first/last four characters), a voucher short code, or a full resident ID number
    (matched through its HMAC, never stored).  Empty query: the newest registrations."""
    q = select(Diner)
    if community is not None:
        q = q.where(Diner.community == community)
    text = (query or "").strip()
    plain = normalise_resident_id(text)
    found = _ID_RUN.search(plain)
    if found:
        # What looks like a whole ID number goes to the database only as its HMAC: never
        # as a LIKE pattern, which a statement log would show in clear.
        try:
            key = pseudonym(id_key, parse_resident_id(found.group()).number) if id_key else None
        except ResidentIdError:
            key = None
        q = q.where(Diner.id_hmac == (key or ""))
    elif text:
        conditions = [Diner.name.contains(text, autoescape=True)]
        if "*" in plain:
            conditions.append(Diner.id_masked == plain)
        elif len(plain) == 4 and plain[:3].isdigit():
            conditions.append(Diner.id_masked.startswith(plain, autoescape=True))
            conditions.append(Diner.id_masked.endswith(plain, autoescape=True))
        code = normalise_code(text)
        if 8 <= len(code) <= 10:
            conditions.append(Diner.id.in_(select(Voucher.diner_id).where(Voucher.code == code)))
        q = q.where(or_(*conditions))
    q = q.order_by(Diner.created_at.desc(), Diner.id.desc()).limit(limit)
    return list(session.exec(q))
