"""Notices staff post for the public: on the "today" page by the door, or in the riders'
corner (骑行中的议事厅) — health talks, a rest point with water and a charger, safe riding.

A notice shows from its first to its last date (local business dates, both included) until
someone withdraws it; a withdrawn notice is kept (the audit log points at it) and shows
nowhere.  Each change is audited with the staff member who made it.  The places and topics
are word lists kept here once (``schema.sql``'s CHECK lists name the same codes).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, select

from pos.clock import naive_utc
from pos.models import Notice
from pos.refusal import Refusal
from pos.store.audit import audit
from subsidies.vocabulary import Names

#: Where a notice shows.
NOTICE_PLACE_NAMES: dict[str, Names] = {
    "today": Names("今日页面", "today page"),
    "riders": Names("骑手驿站", "riders' corner"),
}
NOTICE_PLACES: tuple[str, ...] = tuple(NOTICE_PLACE_NAMES)
#: What a notice is about; the riders' corner groups its notices by topic, in this order.
NOTICE_TOPIC_NAMES: dict[str, Names] = {
    "general": Names("通知", "Notice"),
    "health": Names("健康服务", "Health"),
    "rest_point": Names("歇脚点", "Rest point"),
    "safe_riding": Names("安全骑行", "Safe riding"),
}
NOTICE_TOPICS: tuple[str, ...] = tuple(NOTICE_TOPIC_NAMES)
MAX_TITLE, MAX_BODY = 60, 1000
#: Read by the staff list: how a notice stands on a date.
STATE_NAMES: dict[str, Names] = {
    "current": Names("展示中", "showing"),
    "upcoming": Names("未开始", "upcoming"),
    "ended": Names("已结束", "ended"),
    "withdrawn": Names("已撤下", "withdrawn"),
}


@dataclass(frozen=True)
class NoticeDraft:
    """What staff typed: a notice before it is checked and stored."""

    place: str
    topic: str
    title: str
    body: str
    starts_on: date
    ends_on: date


def _visible(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LNPS"


def check_draft(draft: NoticeDraft) -> NoticeDraft:
    """The draft with its text trimmed, or a refusal naming the first thing wrong."""
    if draft.place not in NOTICE_PLACE_NAMES:
        raise Refusal("invalid_notice_place", "请选择公告的位置", f"place must be one of {', '.join(NOTICE_PLACES)}")
    if draft.topic not in NOTICE_TOPIC_NAMES:
        raise Refusal("invalid_notice_topic", "请选择公告的主题", f"topic must be one of {', '.join(NOTICE_TOPICS)}")
    title = draft.title.strip() if isinstance(draft.title, str) else ""
    if not title or len(title) > MAX_TITLE or not any(_visible(ch) for ch in title):
        raise Refusal("invalid_notice_title", f"请填写标题（{MAX_TITLE} 字以内）",
                      f"title is required (at most {MAX_TITLE} characters)")
    body = draft.body.strip() if isinstance(draft.body, str) else ""
    if len(body) > MAX_BODY:
        raise Refusal("invalid_notice_body", f"正文请在 {MAX_BODY} 字以内（现有 {len(body)} 字）",
                      f"body: at most {MAX_BODY} characters, got {len(body)}")
    if not isinstance(draft.starts_on, date) or not isinstance(draft.ends_on, date):
        raise Refusal("invalid_notice_dates", "请填写开始和结束日期", "starts_on and ends_on are required dates")
    if draft.ends_on < draft.starts_on:
        raise Refusal("invalid_notice_dates", "结束日期不能早于开始日期",
                      f"ends_on ({draft.ends_on.isoformat()}) is before starts_on ({draft.starts_on.isoformat()})")
    return NoticeDraft(draft.place, draft.topic, title, body, draft.starts_on, draft.ends_on)


def _fields(draft: NoticeDraft) -> dict:
    return {"place": draft.place, "topic": draft.topic, "title": draft.title, "body": draft.body,
            "starts_on": draft.starts_on, "ends_on": draft.ends_on}


def _detail(notice: Notice) -> dict:
    # Where, what about and when: the text itself is in the notice row the entry points at.
    return {"place": notice.place, "topic": notice.topic, "starts_on": notice.starts_on.isoformat(),
            "ends_on": notice.ends_on.isoformat()}


def post_notice(*, session: Session, canteen_id: str, draft: NoticeDraft, actor: Any, address: str = "") -> Notice:
    """Store a new notice for the canteen (``actor``: the staff member posting it); audited."""
    draft = check_draft(draft)
    now = naive_utc()
    notice = Notice(canteen_id=canteen_id, created_by=actor.id, created_at=now, updated_at=now, **_fields(draft))
    session.add(notice)
    session.flush()
    audit(tx=session, action="notice_posted", actor=actor, canteen_id=canteen_id, target=notice.id,
          detail=_detail(notice), address=address)
    return notice


def get_notice(*, session: Session, notice_id: str) -> Notice:
    """The notice, or a refusal (``notice_not_found``)."""
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise Refusal("notice_not_found", "没有这条公告", "no such notice")
    return notice


def edit_notice(*, session: Session, notice_id: str, draft: NoticeDraft, actor: Any, address: str = "") -> Notice:
    """Change a notice that is not withdrawn; audited with the fields that changed."""
    notice = get_notice(session=session, notice_id=notice_id)
    if notice.withdrawn_at is not None:
        raise Refusal("notice_withdrawn", "这条公告已撤下，不能再修改", "this notice was withdrawn and cannot be changed")
    fields = _fields(check_draft(draft))
    changed = sorted(k for k, v in fields.items() if getattr(notice, k) != v)
    if changed:
        for key in changed:
            setattr(notice, key, fields[key])
        notice.updated_at = naive_utc()
        session.add(notice)
        session.flush()
        audit(tx=session, action="notice_edited", actor=actor, canteen_id=notice.canteen_id, target=notice.id,
              detail={**_detail(notice), "fields": changed}, address=address)
    return notice


def withdraw_notice(*, session: Session, notice_id: str, actor: Any, address: str = "") -> Notice:
    """Take a notice down everywhere from now on (it is kept, marked withdrawn); audited.
    Withdrawing it again changes nothing."""
    notice = get_notice(session=session, notice_id=notice_id)
    if notice.withdrawn_at is None:
        notice.withdrawn_at = notice.updated_at = naive_utc()
        session.add(notice)
        session.flush()
        audit(tx=session, action="notice_withdrawn", actor=actor, canteen_id=notice.canteen_id, target=notice.id,
              detail=_detail(notice), address=address)
    return notice


def current_notices(*, session: Session, canteen_id: str, day: date, place: str) -> list[Notice]:
    """The canteen's notices for ``place`` that show on ``day``: not withdrawn, ``day``
    within their dates; the latest to start first."""
    q = select(Notice).where(Notice.canteen_id == canteen_id, Notice.place == place, Notice.starts_on <= day,
                             Notice.ends_on >= day, Notice.withdrawn_at == None)  # noqa: E711
    return list(session.exec(q.order_by(Notice.starts_on.desc(), Notice.created_at.desc())))


def all_notices(*, session: Session, canteen_ids: list[str] | None, limit: int = 200) -> list[Notice]:
    """Every notice of the canteens (None: all canteens) for the staff list, the latest to
    end first (``limit`` at most: older ones have long left every screen)."""
    q = select(Notice)
    if canteen_ids is not None:
        q = q.where(Notice.canteen_id.in_(canteen_ids))
    return list(session.exec(q.order_by(Notice.ends_on.desc(), Notice.created_at.desc()).limit(limit)))


def state_of(notice: Notice, day: date) -> str:
    """How the notice stands on ``day``: a code of :data:`STATE_NAMES`."""
    if notice.withdrawn_at is not None:
        return "withdrawn"
    if day < notice.starts_on:
        return "upcoming"
    return "ended" if day > notice.ends_on else "current"
