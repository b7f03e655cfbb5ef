"""The diner registry.  A resident ID number is validated by the rules engine and kept
only as its HMAC (pseudonymous key) and a masked form; it is never stored or logged."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_
from sqlmodel import Session, select

from pos.clock import naive_utc
from pos.models import Diner, DinerChange, StaffUser, Voucher
from pos.refusal import Refusal
from pos.store.tokens import normalise_code
from subsidies.expiry import add_months, verified_until
from subsidies.vocabulary import LIFE_EVENTS, RESIDENCY_PROOFS, WORKER_CATEGORIES, WORKER_PROOFS
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


EARLIEST_VERIFICATION = date(2000, 1, 1)


def _verified_on(value: date | str | None, today: date, field: str) -> date:
    """The date staff saw a proof: today when not given; never after today."""
    if value is None or value == "":
        return today
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise Refusal("invalid_verification_date", "核验日期格式应为 YYYY-MM-DD",
                          f"{field}: a date YYYY-MM-DD is required") from None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise Refusal("invalid_verification_date", "核验日期格式应为 YYYY-MM-DD", f"{field}: a date YYYY-MM-DD is required")
    if value > today or value < EARLIEST_VERIFICATION:
        raise Refusal("invalid_verification_date", "核验日期不能晚于今天（也不能早于 2000 年）",
                      f"{field}: the date a proof was seen cannot be after today (nor before 2000)")
    return value


def _proof_type(value: str | None, known: tuple[str, ...], field: str) -> str | None:
    value = (value or "").strip() or None
    if value is not None and value not in known:
        raise Refusal("unknown_proof_type", "未知的证明类型", f"{field} must be one of {', '.join(known)}")
    return value


def register_diner(*, session: Session, id_key: bytes, staff_id: str, community: str, name: str, id_number: str,
                   resident: bool, today: date, worker_category: str | None = None, worker_proof: str = "",
                   phone: str | None = None, worker_proof_type: str | None = None,
                   worker_verified_on: date | str | None = None, residency_proof_type: str | None = None,
                   residency_verified_on: date | str | None = None, flush: bool = True) -> Diner:
    """Register a diner.  Refuses a bad ID number (with the engine's message), an unknown
    worker category or proof type, a verification dated after today, or a number already
    registered.  A worker category and residency are verified by ``staff_id`` on
    ``worker_verified_on`` / ``residency_verified_on`` (default: today), from which their
    expiry counts (:func:`proofs_until`)."""
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
    worker_proof_type = _proof_type(worker_proof_type, WORKER_PROOFS, "worker_proof_type")
    residency_proof_type = _proof_type(residency_proof_type, RESIDENCY_PROOFS, "residency_proof_type")
    worker_on = _verified_on(worker_verified_on, today, "worker_verified_on") if worker_category else None
    residency_on = _verified_on(residency_verified_on, today, "residency_verified_on") if resident else None
    diner = Diner(name=name, id_hmac=key, id_masked=mask_resident_id(rid.number), birth_date=rid.birth_date,
                  resident=resident, community=community, worker_category=worker_category,
                  worker_proof=worker_proof if worker_category else "",
                  worker_verified_by=staff_id if worker_category else None,
                  worker_verified_at=now if worker_category else None,
                  phone=(phone or None), created_by=staff_id, created_at=now, updated_at=now,
                  worker_proof_type=worker_proof_type if worker_category else None, worker_verified_on=worker_on,
                  residency_proof_type=residency_proof_type if resident else None,
                  residency_verified_by=staff_id if resident else None, residency_verified_on=residency_on)
    session.add(diner)
    if flush:  # False: the caller flushes many registrations at once (a bulk import)
        session.flush()
    return diner


# Fields a person may change after registration, and how each is shown in the history.
EDITABLE = ("name", "id_number", "resident", "worker_category", "worker_proof", "phone", "community",
            "worker_proof_type", "worker_verified_on", "residency_proof_type", "residency_verified_on")


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
    if diner.resident and (("resident" in changed) or any(
            _differs(changes, diner, k) for k in ("residency_proof_type", "residency_verified_on"))):
        # Residency (re)verified by this member of staff: on the date given, today by default.
        put("residency_proof_type", _proof_type(changes.get("residency_proof_type", diner.residency_proof_type),
                                                RESIDENCY_PROOFS, "residency_proof_type"))
        put("residency_verified_on", _verified_on(changes.get("residency_verified_on"), today, "residency_verified_on"))
        diner.residency_verified_by = staff_id
    elif not diner.resident and "resident" in changed:
        put("residency_proof_type", None)
        put("residency_verified_on", None)
        diner.residency_verified_by = None
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
                put("worker_proof_type", None)
                put("worker_verified_on", None)
    if "worker_proof" in changes and diner.worker_category:
        proof = (changes["worker_proof"] or "").strip()
        if len(proof) > 200:
            raise Refusal("invalid_worker_proof", "证明说明请在 200 字以内", "worker_proof: at most 200 characters")
        if proof != diner.worker_proof:
            put("worker_proof", proof)
            diner.worker_verified_by, diner.worker_verified_at = staff_id, now
    if diner.worker_category and ("worker_category" in changed or any(
            _differs(changes, diner, k) for k in ("worker_proof_type", "worker_verified_on"))):
        # The category (re)verified by this member of staff: on the date given, today by
        # default; the expiry counts from it again.
        put("worker_proof_type", _proof_type(changes.get("worker_proof_type", diner.worker_proof_type),
                                             WORKER_PROOFS, "worker_proof_type"))
        put("worker_verified_on", _verified_on(changes.get("worker_verified_on"), today, "worker_verified_on"))
        diner.worker_verified_by, diner.worker_verified_at = staff_id, now
    if "phone" in changes:
        put("phone", _clean_phone(changes["phone"]))
    if changed:
        diner.updated_at = now
        session.add(diner)
        session.flush()
    return changed


def _as_text(value) -> str | None:
    if value is None or value == "":
        return None
    return value.isoformat() if isinstance(value, date) else str(value).strip()


def _differs(changes: dict, diner: Diner, field: str) -> bool:
    """Whether ``changes`` gives ``field`` a value other than the diner's (an empty one
    leaves it as it is)."""
    new = _as_text(changes.get(field))
    return new is not None and new != _as_text(getattr(diner, field))


def proofs_until(diner, registry) -> tuple[date | None, date | None]:
    """The last day a diner's proof of work and proof of residency count, from the dates
    staff saw them and ``registry`` (:class:`pos.config.RegistryConfig`) months; None for
    one that does not expire (0 months) or was not verified."""
    worker = verified_until(diner.worker_verified_on, registry.worker_proof_months) if diner.worker_category else None
    residency = verified_until(diner.residency_verified_on, registry.residency_proof_months) if diner.resident else None
    return worker, residency


def record_life_event(*, session: Session, diner_id: str, staff_id: str, community: str | None, kind: str,
                      on: date | str, note: str, today: date) -> Diner:
    """Record that a diner died or moved away on ``on`` (not after ``today``): no benefit
    from that date (the rules engine refuses it), their past grants untouched.  Refuses an
    unknown kind, a bad date and a diner who already has a life event recorded."""
    if kind not in LIFE_EVENTS:
        raise Refusal("unknown_life_event", "未知的事件类型", f"kind must be one of {', '.join(LIFE_EVENTS)}")
    note = (note or "").strip()
    if len(note) > 200:
        raise Refusal("invalid_note", "备注请在 200 字以内", "note: at most 200 characters")
    if isinstance(on, str):
        try:
            on = date.fromisoformat(on.strip())
        except ValueError:
            raise Refusal("invalid_event_date", "日期格式应为 YYYY-MM-DD", "date: YYYY-MM-DD is required") from None
    if on > today or on < EARLIEST_VERIFICATION:
        raise Refusal("invalid_event_date", "日期不能晚于今天（也不能早于 2000 年）",
                      "date: cannot be after today (nor before 2000)")
    diner = get_diner(session=session, diner_id=diner_id, community=community, for_update=True)
    if diner.left_kind is not None:
        raise Refusal("already_left", "该就餐者已登记为身故或迁出", "this diner is already recorded as deceased or moved away")
    now = naive_utc()
    _record(session, diner, staff_id, now, "left", "", f"{kind} {on.isoformat()}" + (f" ({note})" if note else ""))
    diner.left_kind, diner.left_on, diner.left_by, diner.left_recorded_at, diner.left_note = kind, on, staff_id, now, note
    diner.updated_at = now
    session.add(diner)
    session.flush()
    return diner


@dataclass(frozen=True)
class Expiring:
    """A verification that has expired or expires soon, as the registrar's list shows it:
    the masked name only (never the ID number)."""

    diner_id: str
    masked_name: str
    community: str
    proof: str                 # "worker" or "residency"
    worker_category: str | None
    proof_type: str | None
    verified_on: date
    verified_by: str           # the staff member's display name
    until: date

    def expired_on(self, day: date) -> bool:
        return day > self.until


def expiring(*, session: Session, community: str | None, registry, today: date, within_days: int = 30) -> list[Expiring]:
    """Verifications (proof of work; of residency when it expires) that have expired, or
    expire within ``within_days`` of ``today``, of diners still registered (not deceased or
    moved away), the first to expire first."""
    horizon = today + timedelta(days=within_days)
    kinds = []
    if registry.worker_proof_months:
        kinds.append(("worker", Diner.worker_category.is_not(None), Diner.worker_verified_on,
                      Diner.worker_verified_by, registry.worker_proof_months))
    if registry.residency_proof_months:
        kinds.append(("residency", Diner.resident == True, Diner.residency_verified_on,  # noqa: E712
                      Diner.residency_verified_by, registry.residency_proof_months))
    found: list[Expiring] = []
    for proof, which, on_col, by_col, months in kinds:
        # until = on + months − 1 day ≤ horizon  ⇔  on ≤ horizon + 1 day − months (months back, clamped).
        latest = _months_back(horizon + timedelta(days=1), months)
        q = (select(Diner, StaffUser.display_name).join(StaffUser, StaffUser.id == by_col, isouter=True)
             .where(which, on_col.is_not(None), on_col <= latest, Diner.left_kind.is_(None)))
        if community is not None:
            q = q.where(Diner.community == community)
        for d, staff in session.exec(q):
            on = getattr(d, on_col.key)
            until = verified_until(on, months)
            if until is None or until > horizon:
                continue
            found.append(Expiring(diner_id=d.id, masked_name=mask_name(d.name), community=d.community, proof=proof,
                                  worker_category=d.worker_category if proof == "worker" else None,
                                  proof_type=d.worker_proof_type if proof == "worker" else d.residency_proof_type,
                                  verified_on=on, verified_by=staff or "", until=until))
    found.sort(key=lambda e: (e.until, e.proof, e.masked_name, e.diner_id))
    return found


def _months_back(day: date, months: int) -> date:
    """The latest date whose ``months``-later date (clamped to month ends) is on or before
    ``day``: a bound for the query, checked exactly in Python afterwards."""
    candidate = add_months(day, -months)
    # Clamping can move a later date onto ``day`` (31 Jan + 1 month = 28 Feb): widen a little.
    return candidate + timedelta(days=3)


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
