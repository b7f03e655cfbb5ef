"""Neighbourhood reports (议事厅): a problem anyone reports from a canteen's public page —
delivery riders and other outdoor workers act as "流动的民间网格员" — which community staff
follow up, and which the reporter follows by its number.

What is kept of where a report came from is two keyed digests (HMAC-SHA256 with the ID
key): of the client's address and of the device's cookie, used only to hold each to
``[public] reports_per_hour``.  The plain address is never stored.  The reporter's phone,
when given, is for community staff only: :func:`follow` (what the reporter and anyone with
the number sees) carries neither it nor the name of any member of staff.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from pos.clock import naive_utc
from pos.ids import new_id
from pos.models import NeighbourhoodReport, NeighbourhoodReportPhoto, NeighbourhoodReportUpdate
from pos.refusal import Refusal
from pos.store.audit import audit
from pos.store.report_photos import Photo
from pos.tx import Tx
from subsidies.vocabulary import Names

#: What a report is about (the schema's CHECK list names the same codes).
CATEGORY_NAMES: dict[str, Names] = {
    "road_damage": Names("道路破损", "damaged road"),
    "blocked_drain": Names("下水道堵塞", "blocked drain"),
    "street_light": Names("路灯故障", "broken street light"),
    "safety_hazard": Names("安全隐患", "safety hazard"),
    "other": Names("其他", "other"),
}
CATEGORIES: tuple[str, ...] = tuple(CATEGORY_NAMES)

#: Where a report stands: received by the community, passed on to whoever can fix it, solved.
STATUS_NAMES: dict[str, Names] = {
    "received": Names("已受理", "received"),
    "passed_on": Names("已转交", "passed on"),
    "solved": Names("已解决", "solved"),
}
STATUSES: tuple[str, ...] = tuple(STATUS_NAMES)

TEXT_MIN, TEXT_MAX = 5, 500
NOTE_MAX = 500
PASSED_TO_MAX = 50
#: Read aloud over the phone without doubt: no 0/O, no 1/I.  32 symbols, 8 of them: 40 bits.
NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
NUMBER_LENGTH = 8
_MOBILE = re.compile(r"1[3-9]\d{9}")
_NUMBER_SEPARATORS = re.compile(r"[\s\-－—_·.]")
WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Origin:
    """Where a report comes from, as the web layer sees it (kept only as digests)."""

    address: str
    device: str


@dataclass(frozen=True)
class Update:
    """One step of a report's follow-up, as the reporter sees it (no staff name)."""

    at: datetime
    status: str
    passed_to: str
    note: str


@dataclass(frozen=True)
class Followed:
    """What anyone holding a report's number may see."""

    number: str
    canteen_id: str
    category: str
    description: str
    created_at: datetime
    status: str
    passed_to: str
    has_photo: bool
    updates: tuple[Update, ...]


def origin_digest(id_key: bytes, kind: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` under the ID key, in the domain ``kind`` (address or device),
    so a digest of one kind never matches another kind's or a resident ID's pseudonym."""
    return hmac.new(id_key, f"neighbourhood-report:{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def new_number() -> str:
    """A random report number such as ``K7PQ-3MX9``."""
    raw = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(NUMBER_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_number(text: str) -> str:
    """A number as typed (lower case, spaces, no dash) in its stored form, or ``invalid_report_number``."""
    raw = _NUMBER_SEPARATORS.sub("", (text or "").upper())
    if len(raw) != NUMBER_LENGTH or any(ch not in NUMBER_ALPHABET for ch in raw):
        raise Refusal("invalid_report_number", "编号应为 8 位字母和数字，例如 K7PQ-3MX9",
                      "a report number is 8 letters and digits, e.g. K7PQ-3MX9")
    return f"{raw[:4]}-{raw[4:]}"


def _visible_length(text: str) -> int:
    return sum(1 for ch in text if not ch.isspace())


def _category(category: str) -> str:
    if category not in CATEGORIES:
        raise Refusal("unknown_report_category", "请选择问题类别", f"category must be one of {', '.join(CATEGORIES)}")
    return category


def _description(text: str) -> str:
    text = (text or "").strip()
    if not TEXT_MIN <= _visible_length(text) or len(text) > TEXT_MAX:
        raise Refusal("invalid_report_text", f"请描述问题（{TEXT_MIN} 至 {TEXT_MAX} 字）",
                      f"describe the problem in {TEXT_MIN} to {TEXT_MAX} characters")
    return text


def _phone(phone: str | None) -> str | None:
    phone = "".join((phone or "").split()).replace("-", "")
    if not phone:
        return None
    if phone.startswith("+86"):
        phone = phone[3:]
    if not _MOBILE.fullmatch(phone):
        raise Refusal("invalid_phone", "手机号应为 11 位数字（以 1 开头），也可以不填",
                      "a mobile number is 11 digits starting with 1 (or leave it empty)")
    return phone


def _hold_to_limit(session: Session, *, source: str, device: str, per_hour: int, now: datetime) -> None:
    """Refuse (``report_rate_limited``) when the address or the device already filed
    ``per_hour`` reports within the last hour, saying when the next one will be taken."""
    tx = Tx.of(session)
    if not tx.sqlite:
        # Two reports from one address at once must not both pass the count (SQLite runs
        # one writer at a time already): take the address's and device's locks in one order.
        for key in sorted({source, device}):
            tx.execute("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))", {"k": key})
    since = now - WINDOW
    for column, digest in ((NeighbourhoodReport.source_hmac, source), (NeighbourhoodReport.device_hmac, device)):
        count, oldest = session.exec(
            select(func.count(), func.min(NeighbourhoodReport.created_at))
            .where(column == digest, NeighbourhoodReport.created_at > since)).one()
        if count >= per_hour:
            raise Refusal("report_rate_limited", "提交太频繁，请一小时后再试",
                          f"too many reports from here within an hour (at most {per_hour}); try again in an hour",
                          retry_at=tx.datetime(oldest) + WINDOW)


def file_report(*, session: Session, id_key: bytes, canteen_id: str, category: str, description: str,
                origin: Origin, per_hour: int, phone: str | None = None,
                photo: Photo | None = None) -> NeighbourhoodReport:
    """File a report for ``canteen_id``; returns it with its new number.  Refuses an unknown
    category, a description outside 5..500 visible characters, a phone that is not a mainland
    mobile number, and the report past ``per_hour`` from one address or one device within the
    last hour.  ``photo`` comes from :func:`pos.store.report_photos.clean_photo`, called before
    the write transaction begins: decoding a phone's photo takes a moment, and a sale at a
    till must not wait for it."""
    category = _category(category)
    description = _description(description)
    phone = _phone(phone)
    now = naive_utc()
    source, device = origin_digest(id_key, "address", origin.address), origin_digest(id_key, "device", origin.device)
    _hold_to_limit(session, source=source, device=device, per_hour=per_hour, now=now)
    number = new_number()
    while session.exec(select(NeighbourhoodReport.id).where(NeighbourhoodReport.number == number)).first():
        number = new_number()  # one in a trillion; the UNIQUE constraint backs this check
    report = NeighbourhoodReport(number=number, canteen_id=canteen_id, category=category, description=description,
                                 phone=phone, has_photo=photo is not None, created_at=now, updated_at=now,
                                 source_hmac=source, device_hmac=device)
    session.add(report)
    session.flush()
    if photo is not None:
        session.add(NeighbourhoodReportPhoto(report_id=report.id, width=photo.width, height=photo.height,
                                             jpeg_b64=base64.b64encode(photo.jpeg).decode("ascii")))
        session.flush()
    return report


def report_by_number(session: Session, number: str) -> NeighbourhoodReport:
    found = session.exec(select(NeighbourhoodReport).where(
        NeighbourhoodReport.number == normalise_number(number))).first()
    if found is None:
        raise Refusal("report_not_found", "没有这个编号的反映，请核对编号", "no report has this number; check it")
    return found


def report_by_id(session: Session, report_id: str) -> NeighbourhoodReport:
    found = session.get(NeighbourhoodReport, report_id)
    if found is None:
        raise Refusal("report_not_found", "没有这条反映", "no such report")
    return found


def updates_of(session: Session, report_id: str) -> list[NeighbourhoodReportUpdate]:
    """A report's updates, oldest first."""
    return list(session.exec(select(NeighbourhoodReportUpdate).where(NeighbourhoodReportUpdate.report_id == report_id)
                             .order_by(NeighbourhoodReportUpdate.at, NeighbourhoodReportUpdate.id)))


def follow(*, session: Session, number: str) -> Followed:
    """What the reporter (anyone with the number) may see: never the phone, never who in
    the staff wrote an update, never where it was sent from."""
    report = report_by_number(session, number)
    updates = tuple(Update(at=u.at, status=u.status, passed_to=u.passed_to, note=u.note)
                    for u in updates_of(session, report.id))
    return Followed(number=report.number, canteen_id=report.canteen_id, category=report.category,
                    description=report.description, created_at=report.created_at, status=report.status,
                    passed_to=report.passed_to, has_photo=report.has_photo, updates=updates)


def photo_jpeg(session: Session, report_id: str) -> bytes | None:
    row = session.get(NeighbourhoodReportPhoto, report_id)
    return base64.b64decode(row.jpeg_b64) if row is not None else None


def update_status(*, session: Session, report_id: str, staff, status: str, passed_to: str = "", note: str = "",
                  address: str = "") -> NeighbourhoodReport:
    """A member of staff (``staff``: id, username, and the caller has checked their scope)
    moves a report on: ``passed_on`` names whom it went to (e.g. 城管中队); ``note`` (at most
    500 characters) is shown to the reporter.  Writes an update row and the audit entry."""
    report = report_by_id(session, report_id)
    if status not in STATUSES:
        raise Refusal("unknown_report_status", "未知的处理状态", f"status must be one of {', '.join(STATUSES)}")
    passed_to, note = (passed_to or "").strip(), (note or "").strip()
    if len(passed_to) > PASSED_TO_MAX:
        raise Refusal("invalid_passed_to", f"转交单位请在 {PASSED_TO_MAX} 字以内",
                      f"passed_to: at most {PASSED_TO_MAX} characters")
    if status == "passed_on" and not passed_to:
        raise Refusal("passed_to_required", "转交时请填写转交给哪个单位，例如 城管中队",
                      "say whom the report is passed on to, e.g. the city management squad")
    if len(note) > NOTE_MAX:
        raise Refusal("invalid_note", f"说明请在 {NOTE_MAX} 字以内", f"note: at most {NOTE_MAX} characters")
    if status == "received":
        passed_to = ""  # back with the community: no longer with anyone else
    elif not passed_to:
        passed_to = report.passed_to  # solved where it was passed on to
    if status == report.status and passed_to == report.passed_to and not note:
        raise Refusal("nothing_to_update", "状态没有变化：请改变状态或填写说明",
                      "nothing changed: choose another status or write a note")
    now = naive_utc()
    before = report.status
    session.add(NeighbourhoodReportUpdate(id=new_id(), report_id=report.id, at=now, staff_id=staff.id,
                                          status=status, passed_to=passed_to, note=note))
    report.status, report.passed_to, report.updated_at = status, passed_to, now
    session.add(report)
    session.flush()
    # The number and the step only: the note is free text and the phone is personal data.
    audit(tx=session, action="neighbourhood_report_updated", actor=staff, canteen_id=report.canteen_id,
          target=report.id, address=address,
          detail={"report_number": report.number, "report_from_status": before, "report_status": status,
                  "passed_to": passed_to, "note_given": bool(note)})
    return report


@dataclass(frozen=True)
class QueueRow:
    id: str
    number: str
    canteen_id: str
    category: str
    description: str
    status: str
    passed_to: str
    has_photo: bool
    has_phone: bool
    created_at: datetime
    updated_at: datetime


def queue(*, session: Session, canteen_ids: list[str] | None, status: str | None = None,
          limit: int = 200) -> tuple[list[QueueRow], dict[str, int]]:
    """The reports of ``canteen_ids`` (None: every canteen), newest first, of ``status``
    when given; and the count of each status over the same canteens."""
    if status is not None and status not in STATUSES:
        raise Refusal("unknown_report_status", "未知的处理状态", f"status must be one of {', '.join(STATUSES)}")
    where = [] if canteen_ids is None else [NeighbourhoodReport.canteen_id.in_(canteen_ids)]
    counts = dict.fromkeys(STATUSES, 0)
    for code, n in session.exec(select(NeighbourhoodReport.status, func.count()).where(*where)
                                .group_by(NeighbourhoodReport.status)):
        counts[code] = n
    if status is not None:
        where.append(NeighbourhoodReport.status == status)
    rows = session.exec(select(NeighbourhoodReport).where(*where)
                        .order_by(NeighbourhoodReport.created_at.desc(), NeighbourhoodReport.id.desc()).limit(limit))
    return [QueueRow(id=r.id, number=r.number, canteen_id=r.canteen_id, category=r.category,
                     description=r.description, status=r.status, passed_to=r.passed_to, has_photo=r.has_photo,
                     has_phone=bool(r.phone), created_at=r.created_at, updated_at=r.updated_at)
            for r in rows], counts
