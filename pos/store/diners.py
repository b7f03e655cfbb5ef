"""The diner registry.  A resident ID number is validated by the rules engine and kept
only as its HMAC (pseudonymous key) and a masked form; it is never stored or logged."""
from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from pos.clock import naive_utc
from pos.errors import ApiError
from pos.models import Diner
from subsidies.policy import WORKER_CATEGORIES
from subsidies.resident_id import ResidentIdError, mask_resident_id, parse_resident_id, pseudonym


def id_error(e: ResidentIdError) -> ApiError:
    """The rules engine's refusal of a resident ID number as a 422 ApiError."""
    return ApiError(422, f"resident_id_{e.code}", e.message_zh, e.message_en)


def mask_name(name: str) -> str:
    """A name as the till and the voucher show it: ``张金娴`` → ``张*娴``, ``王阿婆`` →
    ``王*婆``, ``王五`` → ``王*``; enough to recognise one's own card, not to identify."""
    name = (name or "").strip()
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
        raise ApiError(422, "invalid_name", "请填写姓名（50 字以内）", "name is required (at most 50 characters)")
    try:
        rid = parse_resident_id(id_number, today=today)
    except ResidentIdError as e:
        raise id_error(e) from None
    if worker_category is not None and worker_category not in WORKER_CATEGORIES:
        raise ApiError(422, "unknown_worker_category", "未知的户外劳动者类别",
                       f"worker_category must be one of {', '.join(WORKER_CATEGORIES)}")
    key = pseudonym(id_key, rid.number)
    if session.exec(select(Diner.id).where(Diner.id_hmac == key)).first():
        raise ApiError(409, "already_registered", "该身份证号已登记", "a diner with this resident ID is already registered")
    now = naive_utc()
    diner = Diner(name=name, id_hmac=key, id_masked=mask_resident_id(rid.number), birth_date=rid.birth_date,
                  resident=resident, community=community, worker_category=worker_category,
                  worker_proof=worker_proof if worker_category else "",
                  worker_verified_by=staff_id if worker_category else None,
                  worker_verified_at=now if worker_category else None,
                  phone=(phone or None), created_by=staff_id, created_at=now, updated_at=now)
    session.add(diner)
    session.flush()
    return diner
