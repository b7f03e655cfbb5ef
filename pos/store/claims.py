"""The monthly subsidy claim as a record: submitted, returned or approved, and paid.

A claim covers one canteen, or every canteen of a community, for one month.  While it
is a draft it is only the live report (``reports.service.build_claim``).  Submitting it
freezes its whole content as a document (:mod:`reports.claim_document`) with its SHA-256
— a revision that never changes.  The states, and who moves them::

    (draft) --submit--> submitted --approve--> approved --pay (part)--> approved --pay (rest)--> paid
                           |  ^
                     return|  |submit again (a new revision)
                           v  |
                         returned

* submit: the month is over, every day of it that had a sale or a shift is closed, and
  every failed edit check carries a written explanation;
* approve / return: someone other than whoever submitted the revision (the community
  approver; the route table says which roles), a return with its reason;
* pay: the amount (fen), the date and the payment's reference; a payment may be part of
  the balance, never more than it; the claim is paid when nothing is left.

Every move is a ``claim_events`` row and an audit entry.  A canteen's month belongs to
one claim only (``claim_canteens``), so a community's claim and a canteen's own claim
cannot both ask for the same money.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from pos.clock import business_date as local_business_date
from pos.clock import naive_utc
from pos.config import Settings
from pos.ids import new_id
from pos.models import Claim, ClaimCanteen, ClaimEvent, ClaimRevision
from pos.refusal import Refusal
from pos.store.audit import audit
from pos.tx import Tx
from reports import service
from reports.claim_document import claim_document, claim_lines, closed_days, document_json, document_sha256
from reports.claim_queries import month_bounds

SCOPE_KINDS = ("canteen", "community")
STATES = ("submitted", "returned", "approved", "paid")
STATE_NAMES = {"draft": ("草稿", "draft"), "submitted": ("已提交", "submitted"), "returned": ("已退回", "returned"),
               "approved": ("已批准", "approved"), "paid": ("已支付", "paid")}
MAX_NOTE = 500
MAX_REFERENCE = 100


@dataclass(frozen=True)
class ClaimEventView:
    """One move of a claim: who, when, what, and for a payment its amount, date and reference."""

    at: datetime
    actor: str
    action: str
    revision: int
    note: str
    amount_fen: int | None
    paid_on: date | None


@dataclass(frozen=True)
class ClaimRecord:
    """A claim as the store holds it: its state, the revision in force with that
    revision's SHA-256, the amount it claims (after adjustments) and what has been paid."""

    id: str
    month: date
    scope_kind: str
    scope: str
    state: str
    revision: int
    net_fen: int
    paid_fen: int
    submitted_by: str
    submitted_at: datetime
    content_sha256: str
    canteens: tuple[str, ...]
    submitted_by_name: str
    events: tuple[ClaimEventView, ...] = ()

    @property
    def balance_fen(self) -> int:
        """What is still owed on an approved claim."""
        return self.net_fen - self.paid_fen


# -- reading -------------------------------------------------------------------------------------

_CLAIM_SQL = ("SELECT c.id, c.month, c.scope_kind, c.scope, c.state, c.revision, c.net_fen, c.paid_fen, "
              "c.submitted_by, r.submitted_at, r.content_sha256, u.display_name FROM claims c "
              "JOIN claim_revisions r ON r.claim_id = c.id AND r.revision = c.revision "
              "JOIN staff_users u ON u.id = c.submitted_by")


def _record(tx: Tx, row, with_events: bool = False) -> ClaimRecord:
    canteens = tuple(r[0] for r in tx.all("SELECT canteen_id FROM claim_canteens WHERE claim_id = :i "
                                          "ORDER BY canteen_id", {"i": row[0]}))
    events: tuple[ClaimEventView, ...] = ()
    if with_events:
        events = tuple(ClaimEventView(tx.datetime(e[0]), e[1], e[2], e[3], e[4], e[5],
                                      tx.date(e[6]) if e[6] is not None else None) for e in tx.all(
            "SELECT e.at, u.display_name, e.action, e.revision, e.note, e.amount_fen, e.paid_on FROM claim_events e "
            "JOIN staff_users u ON u.id = e.actor_id WHERE e.claim_id = :i ORDER BY e.at, e.id", {"i": row[0]}))
    return ClaimRecord(row[0], tx.date(row[1]), row[2], row[3], row[4], row[5], row[6], row[7], row[8],
                       tx.datetime(row[9]), row[10], canteens, row[11], events)


def get_claim(tx: Tx | Session, claim_id: str, *, with_events: bool = True) -> ClaimRecord:
    """The claim, or ``unknown_claim``."""
    tx = Tx.of(tx)
    row = tx.one(_CLAIM_SQL + " WHERE c.id = :i", {"i": claim_id})
    if row is None:
        raise Refusal("unknown_claim", "没有这份申领", "no such claim")
    return _record(tx, row, with_events)


def list_claims(tx: Tx | Session, *, canteens: list[str], month: date | None = None, state: str | None = None,
                limit: int = 200) -> list[ClaimRecord]:
    """Claims that cover any of ``canteens`` (the caller's scope), newest month first."""
    tx = Tx.of(tx)
    if not canteens:
        return []
    names = {f"c{i}": code for i, code in enumerate(canteens)}
    sql = (_CLAIM_SQL + " WHERE c.id IN (SELECT claim_id FROM claim_canteens WHERE canteen_id IN ("
           + ", ".join(f":{n}" for n in names) + "))")
    params: dict[str, Any] = dict(names)
    if month is not None:
        sql += " AND c.month = :m"
        params["m"] = month.replace(day=1)
    if state is not None:
        sql += " AND c.state = :s"
        params["s"] = state
    sql += f" ORDER BY c.month DESC, c.scope LIMIT {int(limit)}"
    return [_record(tx, row) for row in tx.all(sql, params)]


def claim_content(tx: Tx | Session, claim_id: str, revision: int | None = None) -> tuple[dict[str, Any], str]:
    """The frozen document of a revision (default: the one in force) and its SHA-256."""
    tx = Tx.of(tx)
    claim = get_claim(tx, claim_id, with_events=False)
    row = tx.one("SELECT content_json, content_sha256 FROM claim_revisions WHERE claim_id = :i AND revision = :r",
                 {"i": claim_id, "r": revision or claim.revision})
    if row is None:
        raise Refusal("unknown_claim", "没有这份申领", "no such claim revision")
    return json.loads(row[0]), row[1]


# -- the scope of a claim ---------------------------------------------------------------------------

def scope_canteens(settings: Settings, scope_kind: str, scope: str) -> list[str]:
    """The canteen codes a claim of that scope covers (refuses an unknown scope)."""
    if scope_kind == "canteen":
        if scope not in {c.code for c in settings.canteens}:
            raise Refusal("unknown_canteen", "没有这个食堂", f"unknown canteen {scope!r}")
        return [scope]
    if scope_kind == "community":
        codes = sorted(c.code for c in settings.canteens if c.community == scope)
        if not codes:
            raise Refusal("invalid_community", "没有这个社区", f"no canteen belongs to community {scope!r}")
        return codes
    raise Refusal("invalid_scope", "申领范围应为食堂或社区", "scope must be 'canteen' or 'community'")


# -- the moves ------------------------------------------------------------------------------------

def _event(tx: Tx, claim_id: str, actor, action: str, revision: int, now: datetime, note: str = "",
           amount_fen: int | None = None, paid_on: date | None = None) -> None:
    tx.insert(ClaimEvent.__table__, [{"id": new_id(), "claim_id": claim_id, "at": naive_utc(now), "actor_id": actor.id,
                                "action": action, "revision": revision, "note": note, "amount_fen": amount_fen,
                                "paid_on": paid_on}])


def _open_days(tx: Tx, codes: list[str], first: date, last: date) -> list[tuple[str, date]]:
    """Days of the month with a sale or a shift that are not closed."""
    names = {f"c{i}": code for i, code in enumerate(codes)}
    inside = ", ".join(f":{n}" for n in names)
    rows = tx.all(
        f"SELECT canteen_id, business_date FROM sales WHERE canteen_id IN ({inside}) "
        f"AND business_date BETWEEN :f AND :l "
        f"UNION SELECT canteen_id, business_date FROM shifts WHERE canteen_id IN ({inside}) "
        f"AND business_date BETWEEN :f AND :l", {**names, "f": first, "l": last})
    closed = {(r[0], tx.date(r[1])) for r in tx.all(
        f"SELECT canteen_id, business_date FROM day_closes WHERE canteen_id IN ({inside}) "
        f"AND business_date BETWEEN :f AND :l", {**names, "f": first, "l": last})}
    return sorted({(r[0], tx.date(r[1])) for r in rows} - closed)


def submit_claim(*, session: Session, settings: Settings, scope_kind: str, scope: str, month: date, actor,
                 now: datetime, explanations: dict[str, str] | None = None, address: str = "") -> ClaimRecord:
    """Submit the month's claim for the scope (a first submission, or again after a return).

    Refuses a month not yet over (``month_not_over``), a day of it with sales or shifts
    still open (``days_open``, naming them), a claim already submitted, approved or paid
    (``claim_frozen``: a submitted claim never changes), a canteen whose month is in
    another claim (``claim_overlaps``), and a failed edit check without an explanation
    (``checks_unexplained``, naming the checks).
    """
    tx = Tx.of(session)
    codes = scope_canteens(settings, scope_kind, scope)
    first, last = month_bounds(month)
    today = min(local_business_date(settings.canteen(c).timezone, now) for c in codes)
    if last >= today:
        raise Refusal("month_not_over", f"{first:%Y-%m} 还没有结束，月末之后才能提交申领",
                      f"{first:%Y-%m} is not over yet: a claim is submitted after the month ends")
    existing = tx.one("SELECT id, state, revision FROM claims WHERE scope_kind = :k AND scope = :s AND month = :m"
                      + ("" if tx.sqlite else " FOR UPDATE"), {"k": scope_kind, "s": scope, "m": first})
    if existing is not None and existing[1] != "returned":
        raise Refusal("claim_frozen", "这份申领已提交，不能再修改；如被退回可重新提交",
                      "this claim is already submitted and cannot change; it can be submitted again only if returned",
                      claim_id=existing[0])
    still_open = _open_days(tx, codes, first, last)
    if still_open:
        listed_zh = "、".join(f"{c} {d:%m-%d}" for c, d in still_open[:10])
        listed_en = ", ".join(f"{c} {d.isoformat()}" for c, d in still_open[:10])
        more = "…" if len(still_open) > 10 else ""
        raise Refusal("days_open", f"还有 {len(still_open)} 个营业日未日结：{listed_zh}{more}",
                      f"{len(still_open)} business date(s) are not closed: {listed_en}{more}",
                      days=[f"{c} {d.isoformat()}" for c, d in still_open])
    report = service.build_claim(session=session, settings=settings, canteen_ids=codes, month=first, now=now)
    given = {k: (v or "").strip() for k, v in (explanations or {}).items()}
    failed = [c.code for c in report.data.checks if not c.ok]
    for code in failed:
        if len(given.get(code, "")) > MAX_NOTE:
            raise Refusal("invalid_note", f"说明不能超过 {MAX_NOTE} 字",
                          f"an explanation is at most {MAX_NOTE} characters")
    unexplained = [code for code in failed if not given.get(code)]
    if unexplained:
        labels = {c.code: c for c in report.data.checks}
        raise Refusal("checks_unexplained",
                      "以下核对未通过，请逐项写明原因后再提交：" + "、".join(labels[c].label_zh for c in unexplained),
                      "these edit checks failed; explain each before submitting: " + ", ".join(unexplained),
                      checks=unexplained)
    claim_id = existing[0] if existing is not None else new_id()
    revision = existing[2] + 1 if existing is not None else 1
    document = claim_document(
        claim_id=claim_id, revision=revision, scope_kind=scope_kind, scope=scope, report=report,
        lines=claim_lines(session=session, codes=codes, month=first),
        days=closed_days(session=session, codes=codes, month=first),
        explanations={code: given[code] for code in failed}, submitted_at=naive_utc(now), submitted_by=actor.username)
    digest = document_sha256(document)
    at = naive_utc(now)
    net = report.data.net_fen
    try:
        with session.begin_nested():
            if existing is None:
                tx.insert(Claim.__table__, [{"id": claim_id, "month": first, "scope_kind": scope_kind, "scope": scope,
                                      "state": "submitted", "revision": 1, "net_fen": net, "paid_fen": 0,
                                      "submitted_by": actor.id, "updated_at": at}])
                tx.insert(ClaimCanteen.__table__,
                          [{"canteen_id": c, "month": first, "claim_id": claim_id} for c in codes])
            else:
                tx.execute("UPDATE claims SET state = 'submitted', revision = :r, net_fen = :n, submitted_by = :u, "
                           "updated_at = :at WHERE id = :i AND state = 'returned'",
                           {"r": revision, "n": net, "u": actor.id, "at": at, "i": claim_id})
            tx.insert(ClaimRevision.__table__, [{"claim_id": claim_id, "revision": revision, "submitted_at": at,
                                                 "submitted_by": actor.id, "content_json": document_json(document),
                                                 "content_sha256": digest}])
    except tx.IntegrityError:
        raise Refusal("claim_overlaps", "所选食堂本月已在另一份申领中", "a canteen of this claim is already in another "
                      "claim for the month") from None
    _event(tx, claim_id, actor, "submitted", revision, now, note=json.dumps(document["explanations"],
                                                                           ensure_ascii=False) if failed else "")
    audit(tx=session, action="claim_submitted", actor=actor, canteen_id=codes[0],
          target=claim_id, address=address,
          detail={"month": f"{first:%Y-%m}", "scope": f"{scope_kind}:{scope}", "revision": revision,
                  "net_fen": net, "content_sha256": digest, "explained": failed})
    return get_claim(tx, claim_id)


def _locked(tx: Tx, claim_id: str) -> ClaimRecord:
    if not tx.sqlite:
        tx.one("SELECT id FROM claims WHERE id = :i FOR UPDATE", {"i": claim_id})
    return get_claim(tx, claim_id, with_events=False)


def _second_person(claim: ClaimRecord, actor) -> None:
    if claim.submitted_by == actor.id:
        raise Refusal("own_claim", "不能审批自己提交的申领，请由另一人审批",
                      "you submitted this claim: someone else must approve or return it")


def approve_claim(*, session: Session, claim_id: str, actor, now: datetime, address: str = "") -> ClaimRecord:
    """Approve a submitted claim (not one's own)."""
    tx = Tx.of(session)
    claim = _locked(tx, claim_id)
    if claim.state != "submitted":
        raise _wrong_state(claim, "批准", "approved")
    _second_person(claim, actor)
    tx.execute("UPDATE claims SET state = 'approved', updated_at = :at WHERE id = :i", {"at": naive_utc(now),
                                                                                         "i": claim_id})
    _event(tx, claim_id, actor, "approved", claim.revision, now)
    audit(tx=session, action="claim_approved", actor=actor, canteen_id=claim.canteens[0], target=claim_id,
          address=address,
          detail={"revision": claim.revision, "net_fen": claim.net_fen, "content_sha256": claim.content_sha256})
    return get_claim(tx, claim_id)


def return_claim(*, session: Session, claim_id: str, actor, reason: str, now: datetime,
                 address: str = "") -> ClaimRecord:
    """Return a submitted claim to its submitters with a reason (not one's own)."""
    tx = Tx.of(session)
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_NOTE:
        raise Refusal("reason_required", f"请填写退回原因（{MAX_NOTE} 字以内）",
                      f"a reason is required (at most {MAX_NOTE} characters)")
    claim = _locked(tx, claim_id)
    if claim.state != "submitted":
        raise _wrong_state(claim, "退回", "returned")
    _second_person(claim, actor)
    tx.execute("UPDATE claims SET state = 'returned', updated_at = :at WHERE id = :i", {"at": naive_utc(now),
                                                                                         "i": claim_id})
    _event(tx, claim_id, actor, "returned", claim.revision, now, note=reason)
    audit(tx=session, action="claim_returned", actor=actor, canteen_id=claim.canteens[0], target=claim_id,
          address=address,
          detail={"revision": claim.revision, "reason": reason})
    return get_claim(tx, claim_id)


def record_payment(*, session: Session, claim_id: str, actor, amount_fen: int, paid_on: date, reference: str,
                   now: datetime, tz: str, address: str = "") -> ClaimRecord:
    """Record a payment received for an approved claim: part of the balance or all of it;
    when nothing is left the claim is paid."""
    tx = Tx.of(session)
    reference = (reference or "").strip()
    if not reference or len(reference) > MAX_REFERENCE:
        raise Refusal("reference_required", f"请填写付款凭证号（{MAX_REFERENCE} 字以内）",
                      f"a payment reference is required (at most {MAX_REFERENCE} characters)")
    if paid_on > local_business_date(tz, now):
        raise Refusal("future_date", "付款日期不能晚于今天", "the payment date cannot be in the future")
    claim = _locked(tx, claim_id)
    if claim.state != "approved":
        raise _wrong_state(claim, "登记付款", "paid")
    if not isinstance(amount_fen, int) or not 0 < amount_fen <= claim.balance_fen:
        raise Refusal("invalid_amount", f"付款金额应在 0.01 元到未付余额 {claim.balance_fen / 100:.2f} 元之间",
                      f"the amount must be between 1 fen and the balance ({claim.balance_fen} fen)",
                      balance_fen=claim.balance_fen)
    paid = claim.paid_fen + amount_fen
    state = "paid" if paid == claim.net_fen else "approved"
    tx.execute("UPDATE claims SET paid_fen = :p, state = :s, updated_at = :at WHERE id = :i",
               {"p": paid, "s": state, "at": naive_utc(now), "i": claim_id})
    _event(tx, claim_id, actor, "paid", claim.revision, now, note=reference, amount_fen=amount_fen, paid_on=paid_on)
    audit(tx=session, action="claim_paid", actor=actor, canteen_id=claim.canteens[0], target=claim_id,
          address=address,
          detail={"amount_fen": amount_fen, "paid_on": paid_on.isoformat(), "reference": reference,
                  "balance_fen": claim.net_fen - paid})
    return get_claim(tx, claim_id)


def _wrong_state(claim: ClaimRecord, doing_zh: str, doing_en: str) -> Refusal:
    zh, en = STATE_NAMES[claim.state]
    return Refusal("claim_state", f"这份申领{zh}，不能{doing_zh}", f"this claim is {en}: it cannot be {doing_en}",
                   state=claim.state)
