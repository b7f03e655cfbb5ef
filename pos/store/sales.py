"""Selling a meal: price the order, decide its subsidy, record it — all or nothing.

:func:`quote` (from :mod:`pos.store.quotes`) prices an order and asks the rules engine for
the subsidy, with no side effects.  Recording a sale does the same in two halves:
:func:`prepare_sale` reads what does not change from sale to sale (prices, the diner)
before the write transaction, and :func:`record_sale` decides and writes inside it,
enforcing what must hold however many tills press at once:

* the canteen's chain is locked first (:func:`pos.store.ledger.open_chain`), so the
  idempotency lookup, the counters and the chain position all see every earlier sale;
* the daily free-meal cap is claimed with a conditional update (``used < cap``);
* one live subsidy per diner per day (or meal period) is a partial unique index, across
  every canteen of the district;
* the same Idempotency-Key with the same body answers the first response verbatim.

Any refusal raises :class:`pos.errors.ApiError` and the caller's transaction rolls back.
Money is integer fen throughout.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Date, bindparam, select, text, update
from sqlmodel import Session

from pos.clock import naive_utc
from pos.config import Settings
from pos.errors import ApiError
from pos.ids import new_id
from pos.models import FreeMealCounter, IdempotencyKey, Sale, SaleLine, StaffUser, SubsidyGrant, Void
from pos.store import ledger
from pos.store.audit import audit
from pos.store.closes import DAY_CLOSED_SQL, day_closed, ensure_day_open
from pos.store.fastsql import Fast, synced
from pos.store.quotes import (FREE_MEALS_USED_SQL, MAX_LINES, MAX_QTY, Moment, PricedLine, Quote,  # noqa: F401
                              decide_for, free_meals_used, free_meals_view, live_grants_query, menu, moment_of,
                              policy_for, price_lines, quote, resolve_credential, subsidy_view, _line_view)
from pos.store.shifts import MAX_CASH_FEN, OPEN_SHIFT_SQL
from subsidies import reasons
from subsidies.resident_id import pseudonym

TENDER_METHODS = ("cash", "wechat", "alipay", "free")

_SALES, _LINES, _GRANTS = Sale.__table__, SaleLine.__table__, SubsidyGrant.__table__
_COUNTERS, _IDEM, _VOIDS = FreeMealCounter.__table__, IdempotencyKey.__table__, Void.__table__

# The sale path's statements, run through the driver's cursor (see pos/store/fastsql.py).
_CLAIM_ROW_SQL = ("INSERT INTO free_meal_counters (canteen_id, business_date, cap, used) "
                  "VALUES (:c, :d, :cap, 0) ON CONFLICT (canteen_id, business_date) DO NOTHING")
_CLAIM_SQL = ("UPDATE free_meal_counters SET used = used + 1 "
              "WHERE canteen_id = :c AND business_date = :d AND used < cap")
_RELEASE = text("UPDATE free_meal_counters SET used = used - 1 "
                "WHERE canteen_id = :c AND business_date = :d AND used > 0").bindparams(bindparam("d", type_=Date))
_NEXT_RECEIPT_SQL = "SELECT COALESCE(MAX(receipt_no), 0) + 1 FROM sales WHERE canteen_id = :c"
_INSERT_VOID = _VOIDS.insert()


class _SaleState(NamedTuple):
    """What the sale must see as of its own transaction, read in one statement."""

    request_sha256: str | None   # an earlier request with this Idempotency-Key, and its answer
    status_code: int | None
    response_json: str | None
    day_closed: bool
    shift_id: str | None         # the cashier's open shift here
    free_meals_used: int | None  # today's counter (None before the first free meal)
    diner_grants: int            # the diner's live subsidised meals in the limit's span
    next_receipt_no: int


@lru_cache(maxsize=4)
def _sale_state_sql(grants_sql: str) -> str:
    # Every statement the sale used to send one by one (the idempotency record, the day
    # close, the open shift, the free-meal counter, the diner's grants, the next receipt
    # number) as one: on SQLite each round trip inside the write transaction lengthens
    # the time every other till waits for the writer.
    return ("SELECT i.request_sha256, i.status_code, i.response_json, "
            f"EXISTS ({DAY_CLOSED_SQL}), ({OPEN_SHIFT_SQL}), ({FREE_MEALS_USED_SQL}), ({grants_sql}), "
            f"({_NEXT_RECEIPT_SQL}) "
            "FROM (SELECT 1 AS one) AS one "
            "LEFT JOIN idempotency_keys i ON i.user_id = :u AND i.key = :key")


def _sale_state(fast: Fast, *, user_id: str, idempotency_key: str, canteen_id: str, moment: Moment,
                grants: tuple[str, dict] | None) -> _SaleState:
    """The sale's :class:`_SaleState`; ``grants`` is :func:`live_grants_query`'s answer."""
    params = {"u": user_id, "key": idempotency_key, "c": canteen_id, "d": moment.business_date}
    if grants is not None:
        params.update(grants[1])
    row = fast.one(_sale_state_sql(grants[0] if grants is not None else "SELECT 0"), params)
    return _SaleState(row[0], row[1], row[2], bool(row[3]), *row[4:])


# -- recording ---------------------------------------------------------------------------------

def request_digest(body: dict, id_key: bytes) -> str:
    """SHA-256 of a request body in canonical JSON (key order and spacing do not matter).

    A resident ID number in the body is replaced by its keyed pseudonym first: a plain
    hash of a body holding one could be reversed by trying every plausible number."""
    cred = body.get("credential") or {}
    if cred.get("id_number"):
        body = {**body, "credential": {**cred, "id_number": pseudonym(id_key, cred["id_number"])}}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                          .encode("utf-8")).hexdigest()


def _tender(tender: dict, due_fen: int) -> tuple[str, int, int, str]:
    """(method, tendered, change, reference) for a valid tender; refuses the rest (422)."""
    method = tender.get("method")
    tendered = tender.get("tendered_fen")
    reference = (tender.get("reference") or "").strip()
    if method not in TENDER_METHODS:
        raise ApiError(422, "invalid_tender", "付款方式无效", f"tender.method must be one of {', '.join(TENDER_METHODS)}")
    if method == "free":
        if due_fen != 0:
            raise ApiError(422, "not_free", "应收金额不为零，不能按免费结算", "tender 'free' is only for a sale with nothing due")
        if tendered not in (None, 0):
            raise ApiError(422, "invalid_tender", "免费结算不收款", "a free sale takes no money")
        return "free", 0, 0, ""
    if method == "cash":
        if tendered is None:
            raise ApiError(422, "tendered_required", "请输入实收现金", "tender.tendered_fen is required for cash")
        if not 0 <= tendered <= MAX_CASH_FEN:
            raise ApiError(422, "invalid_tender", "实收金额无效", "tender.tendered_fen must be 0..10,000,000 fen")
        if tendered < due_fen:
            raise ApiError(422, "insufficient_cash", "实收现金不足", "cash tendered is less than the amount due",
                           due_fen=due_fen)
        return "cash", tendered, tendered - due_fen, ""
    if tendered is not None and tendered != due_fen:
        raise ApiError(422, "invalid_tender", "电子支付金额须等于应收金额",
                       "for wechat/alipay, tendered_fen must equal the amount due (or be left out)")
    return method, due_fen, 0, reference[:64]


def _price_changed(q: Quote) -> ApiError:
    return ApiError(409, "price_changed", "价格已变化，请向顾客确认新的应收金额",
                    "the price changed: confirm the new amount with the diner", quote=q.as_dict())


@dataclass(frozen=True)
class PreparedSale:
    """What a sale needs that can be read before its write transaction: the request
    digest, the moment, the priced lines and the resolved credential — or the refusal
    one of them raised, kept to be given after the idempotency check (a retry of a sale
    that was recorded must get its first answer, even if its ticket is now spent)."""

    digest: str
    moment: Moment
    lines: tuple[PricedLine, ...] = ()
    credential: Any = None
    error: ApiError | None = None


def prepare_sale(*, session: Session, settings: Settings, canteen_id: str, body: dict,
                 instant: datetime) -> PreparedSale:
    """The read-only first half of recording a sale (no side effects).

    It runs before the write transaction, so concurrent tills do this work in parallel
    and hold the writer only for the second half.  Nothing read here can make a sale
    wrong: prices and the diner's registration are what they were at ``instant`` (the
    sale's own time), and everything that changes from sale to sale — the free-meal
    counter, the diner's subsidies today, the shift, the day close, the idempotency
    record — is read again inside the transaction by :func:`record_sale`."""
    digest = request_digest(body, settings.id_key)
    moment = moment_of(instant, settings.canteen(canteen_id).timezone)
    try:
        priced = price_lines(session=session, canteen_id=canteen_id, lines=body["lines"])
        cred = resolve_credential(session=session, settings=settings, credential=body.get("credential"),
                                  today=moment.business_date, canteen_id=canteen_id)
    except ApiError as e:
        return PreparedSale(digest, moment, error=e)
    return PreparedSale(digest, moment, priced, cred)


def record_sale(*, session: Session, settings: Settings, user: Any, canteen_id: str, idempotency_key: str,
                body: dict, instant: datetime, prepared: PreparedSale, address: str = "") -> tuple[int, str]:
    """Record one sale in the caller's write transaction; returns (status, JSON text).

    ``body`` is the validated request ``{lines, credential, due_fen, tender}``; ``user`` has
    ``id`` and ``username``; ``prepared`` is :func:`prepare_sale`'s result for the same
    body and instant.  A repeated key with the same body
    answers the stored response verbatim; a refusal raises ApiError and must roll the
    transaction back.
    """
    chain = ledger.open_chain(session=session, canteen_id=canteen_id)
    fast = synced(session)
    moment = prepared.moment
    policy = policy_for(settings, moment.business_date)
    state = _sale_state(fast, user_id=user.id, idempotency_key=idempotency_key, canteen_id=canteen_id,
                        grants=live_grants_query(prepared.credential, policy, moment), moment=moment)
    if state.request_sha256 is not None:
        if state.request_sha256 != prepared.digest:
            raise ApiError(422, "idempotency_key_reused", "该请求编号已用于另一笔不同的销售",
                           "this Idempotency-Key was used for a different sale; make a new key for a new sale")
        return state.status_code, state.response_json
    if state.day_closed:
        raise day_closed(moment.business_date)
    if state.shift_id is None:
        raise ApiError(409, "no_open_shift", "请先开班再收款", "open a shift before selling")
    if prepared.error is not None:
        raise prepared.error
    q = decide_for(session=session, policy=policy, canteen_id=canteen_id, moment=moment, lines=prepared.lines,
                   credential=prepared.credential, counts=(state.free_meals_used or 0, state.diner_grants))
    if body["due_fen"] != q.due_fen:
        raise _price_changed(q)
    tender = _tender(body["tender"], q.due_fen)
    sale = write_sale(session=session, chain=chain, quote=q, shift_id=state.shift_id, cashier_id=user.id,
                      tender=tender, receipt_no=state.next_receipt_no)
    response = json.dumps(sale, ensure_ascii=False, separators=(",", ":"))
    fast.insert(_IDEM, {"user_id": user.id, "key": idempotency_key, "request_sha256": prepared.digest,
                        "status_code": 201, "response_json": response, "created_at": q.moment.sold_at})
    audit(session=session, action="sale_recorded", actor=user, canteen_id=canteen_id, target=sale["id"],
          address=address, detail={"receipt_no": sale["receipt_no"], "gross_fen": sale["gross_fen"],
                                   "subsidy_fen": sale["subsidy_fen"], "due_fen": sale["due_fen"],
                                   "subsidy_kind": sale["subsidy"]["kind"], "credential": sale["credential_kind"]})
    return 201, response


def write_sale(*, session: Session, chain: ledger.ChainWriter, quote: Quote, shift_id: str, cashier_id: str,
               tender: tuple[str, int, int, str], receipt_no: int | None = None) -> dict:
    """Insert the sale, its lines and its grant (claiming a free meal if it is one) on the
    chain; returns the sale as the API answers it.  Raises ApiError 409 when the free
    meals ran out or the diner already has a live subsidy today.  ``receipt_no`` is the
    canteen's next receipt number when the caller read it in this transaction."""
    q, fast = quote, Fast(session)
    d = q.decision
    cred = q.credential
    m = q.moment
    if d.granted and d.kind == "free_meal":
        params = {"c": q.canteen_id, "d": m.business_date}
        fast.execute(_CLAIM_ROW_SQL, {**params, "cap": q.free_meals_cap})
        if fast.execute(_CLAIM_SQL, params).rowcount != 1:
            # Another till took the last one: re-quote (the age discount may still apply).
            raise _price_changed(decide_for(session=session, policy=q.policy, canteen_id=q.canteen_id,
                                            moment=m, lines=q.lines, credential=cred))
    method, tendered, change, reference = tender
    sale_id = new_id()
    if receipt_no is None:
        receipt_no = fast.scalar(_NEXT_RECEIPT_SQL, {"c": q.canteen_id})
    sale = chain.stamp("sales", {
        "id": sale_id, "canteen_id": q.canteen_id, "business_date": m.business_date, "sold_at": m.sold_at,
        "local_hour": m.local_time.hour, "receipt_no": receipt_no, "shift_id": shift_id, "cashier_id": cashier_id,
        "credential_kind": cred.kind if cred is not None else "none",
        "diner_id": getattr(cred, "diner_id", None), "ticket_id": getattr(cred, "ticket_id", None),
        "gross_fen": q.gross_fen, "subsidy_fen": q.subsidy_fen, "due_fen": q.due_fen, "tender_method": method,
        "tendered_fen": tendered, "change_fen": change, "tender_reference": reference, "status": "completed"})
    fast.insert(_SALES, sale)
    lines = [chain.stamp("sale_lines", {
        "id": new_id(), "sale_id": sale_id, "canteen_id": q.canteen_id, "line_no": line.line_no,
        "item_id": line.item_id, "name": line.name, "unit_price_fen": line.unit_price_fen, "qty": line.qty,
        "welfare_meal": line.welfare_meal, "line_total_fen": line.line_total_fen}) for line in q.lines]
    fast.insert(_LINES, lines)
    if d.granted:
        grant = chain.stamp("subsidy_grants", {
            "id": new_id(), "sale_id": sale_id, "canteen_id": q.canteen_id, "business_date": m.business_date,
            "period": d.period, "diner_key": cred.diner_key, "diner_id": getattr(cred, "diner_id", None),
            "ticket_id": getattr(cred, "ticket_id", None), "kind": d.kind, "amount_fen": d.amount_fen,
            "rule_id": d.rule_id, "policy_version": d.policy_version, "reason_zh": d.reason_zh,
            "reason_en": d.reason_en, "line_no": (d.line_index + 1) if d.line_index is not None else None,
            "granted_at": m.sold_at, "voided": False})
        try:
            fast.insert(_GRANTS, grant)
        except fast.IntegrityError as e:
            if "diner_key" not in str(e) and "one_live_per_diner" not in str(e):
                raise
            # Another till recorded this diner's subsidised meal a moment ago (maybe at
            # another canteen of the district): refuse; the whole sale rolls back.
            zh, en = reasons.limit_reached(ticket=cred.kind == "ticket", limit_per=q.policy.limit_per,
                                           period=d.period, limit=q.policy.meals_per_limit)
            raise ApiError(409, "limit_reached", zh, en) from None
    chain.save()
    out = {
        "id": sale_id, "receipt_no": receipt_no, "canteen": q.canteen_id,
        "business_date": m.business_date.isoformat(), "sold_at": m.sold_at.isoformat() + "Z",
        "status": "completed", "credential_kind": sale["credential_kind"],
        "gross_fen": q.gross_fen, "subsidy_fen": q.subsidy_fen, "due_fen": q.due_fen,
        "tender": {"method": method, "tendered_fen": tendered, "change_fen": change, "reference": reference},
        "tendered_fen": tendered, "change_fen": change,
        "subsidy": subsidy_view(d),
        "lines": [_line_view(line, q._line_subsidy(line)) for line in q.lines],
    }
    if d.kind == "free_meal" and d.granted:
        out["free_meals"] = free_meals_view(q.free_meals_cap, q.free_meals_used + 1)
    return out


# -- reading and voiding -----------------------------------------------------------------------

def get_sale(*, session: Session, sale_id: str) -> dict | None:
    """The sale with its lines, grant and void, as the API shows it; None if unknown."""
    conn = session.connection()
    sale = conn.execute(select(_SALES).where(_SALES.c.id == sale_id)).mappings().first()
    if sale is None:
        return None
    lines = conn.execute(select(_LINES).where(_LINES.c.sale_id == sale_id).order_by(_LINES.c.line_no)).mappings().all()
    grant = conn.execute(select(_GRANTS).where(_GRANTS.c.sale_id == sale_id)).mappings().first()
    void = conn.execute(select(_VOIDS).where(_VOIDS.c.sale_id == sale_id)).mappings().first()
    free_line = grant["line_no"] if grant is not None and grant["kind"] == "free_meal" else None
    return {
        "id": sale["id"], "receipt_no": sale["receipt_no"], "canteen": sale["canteen_id"],
        "business_date": sale["business_date"].isoformat(), "sold_at": sale["sold_at"].isoformat() + "Z",
        "status": sale["status"], "credential_kind": sale["credential_kind"], "cashier_id": sale["cashier_id"],
        "shift_id": sale["shift_id"],
        "gross_fen": sale["gross_fen"], "subsidy_fen": sale["subsidy_fen"], "due_fen": sale["due_fen"],
        "tender": {"method": sale["tender_method"], "tendered_fen": sale["tendered_fen"],
                   "change_fen": sale["change_fen"], "reference": sale["tender_reference"]},
        "tendered_fen": sale["tendered_fen"], "change_fen": sale["change_fen"],
        "subsidy": ({"kind": grant["kind"], "amount_fen": grant["amount_fen"], "rule": grant["rule_id"],
                     "policy_version": grant["policy_version"], "code": grant["kind"], "reason": grant["reason_zh"],
                     "reason_en": grant["reason_en"], "voided": bool(grant["voided"])} if grant is not None else
                    {"kind": None, "amount_fen": 0, "rule": None, "policy_version": None, "code": None,
                     "reason": None, "reason_en": None, "voided": False}),
        "lines": [{"line_no": ln["line_no"], "item_id": ln["item_id"], "name": ln["name"],
                   "unit_price_fen": ln["unit_price_fen"], "qty": ln["qty"], "line_total_fen": ln["line_total_fen"],
                   "welfare_meal": bool(ln["welfare_meal"]),
                   "subsidy_fen": grant["amount_fen"] if ln["line_no"] == free_line else 0} for ln in lines],
        "void": ({"id": void["id"], "voided_at": void["voided_at"].isoformat() + "Z", "reason": void["reason"],
                  "requested_by": void["requested_by"], "approved_by": void["approved_by"],
                  "refund_fen": void["refund_fen"], "reversed_subsidy_fen": void["reversed_subsidy_fen"]}
                 if void is not None else None),
    }


def sale_canteen(*, session: Session, sale_id: str) -> str | None:
    """The canteen a sale belongs to (never changes), or None for an unknown sale."""
    return session.connection().execute(select(_SALES.c.canteen_id).where(_SALES.c.id == sale_id)).scalar()


def void_sale(*, session: Session, sale_id: str, reason: str, requested_by: Any, approved_by: StaffUser | Any,
              instant: datetime, address: str = "") -> dict:
    """Void a sale of an open business date: a chained void row, the sale marked voided, its
    subsidy reversed and a free-meal slot given back.  Refuses a second void (409
    already_voided) and a closed date (409 day_closed)."""
    canteen_id = sale_canteen(session=session, sale_id=sale_id)
    if canteen_id is None:
        raise ApiError(404, "unknown_sale", "没有这笔销售", "no such sale")
    chain = ledger.open_chain(session=session, canteen_id=canteen_id)
    conn = session.connection()
    sale = conn.execute(select(_SALES).where(_SALES.c.id == sale_id)).mappings().first()
    if sale["status"] == "voided":
        raise ApiError(409, "already_voided", "这笔销售已作废", "this sale is already voided")
    ensure_day_open(session=session, canteen_id=canteen_id, business_date=sale["business_date"])
    reason = (reason or "").strip()
    if not reason:
        raise ApiError(422, "reason_required", "请填写作废原因", "a reason for the void is required")
    grant = conn.execute(select(_GRANTS.c.id, _GRANTS.c.kind).where(_GRANTS.c.sale_id == sale_id)).first()
    row = chain.stamp("voids", {
        "id": new_id(), "sale_id": sale_id, "canteen_id": canteen_id, "business_date": sale["business_date"],
        "voided_at": naive_utc(instant), "reason": reason[:200], "requested_by": requested_by.id,
        "approved_by": approved_by.id, "refund_fen": sale["due_fen"], "reversed_subsidy_fen": sale["subsidy_fen"]})
    conn.execute(_INSERT_VOID, row)
    conn.execute(update(_SALES).where(_SALES.c.id == sale_id).values(status="voided"))
    if grant is not None:
        conn.execute(update(_GRANTS).where(_GRANTS.c.id == grant.id).values(voided=True))
        if grant.kind == "free_meal":
            conn.execute(_RELEASE, {"c": canteen_id, "d": sale["business_date"]})
    chain.save()
    audit(session=session, action="sale_voided", actor=requested_by, canteen_id=canteen_id, target=sale_id,
          address=address, detail={"approved_by": approved_by.username, "refund_fen": sale["due_fen"],
                                   "reversed_subsidy_fen": sale["subsidy_fen"], "receipt_no": sale["receipt_no"]})
    return get_sale(session=session, sale_id=sale_id)


def quota_today(*, session: Session, settings: Settings, canteen_id: str, instant: datetime) -> dict:
    """Free welfare meals today at the canteen: ``{canteen, business_date, free_meals:{cap, used, left}}``."""
    moment = moment_of(instant, settings.canteen(canteen_id).timezone)
    policy = policy_for(settings, moment.business_date)
    row = session.connection().execute(
        select(_COUNTERS.c.cap, _COUNTERS.c.used).where(_COUNTERS.c.canteen_id == canteen_id,
                                                        _COUNTERS.c.business_date == moment.business_date)).first()
    cap, used = (row.cap, row.used) if row is not None else (policy.free_meals_per_day, 0)
    return {"canteen": canteen_id, "business_date": moment.business_date.isoformat(),
            "free_meals": free_meals_view(cap, used)}


def recent_sales(*, session: Session, canteen_id: str, business_date: date, limit: int = 20) -> list[dict]:
    """The canteen's sales of one business date, newest first (summary rows)."""
    s = _SALES
    rows = session.connection().execute(
        select(s.c.id, s.c.receipt_no, s.c.sold_at, s.c.status, s.c.gross_fen, s.c.subsidy_fen, s.c.due_fen,
               s.c.tender_method, s.c.cashier_id)
        .where(s.c.canteen_id == canteen_id, s.c.business_date == business_date)
        .order_by(s.c.receipt_no.desc()).limit(limit)).mappings()
    return [{"id": r["id"], "receipt_no": r["receipt_no"], "sold_at": r["sold_at"].isoformat() + "Z",
             "status": r["status"], "gross_fen": r["gross_fen"], "subsidy_fen": r["subsidy_fen"],
             "due_fen": r["due_fen"], "tender_method": r["tender_method"], "cashier_id": r["cashier_id"]} for r in rows]


def load_demo(app) -> str:
    """A week of sales history for the demo canteens (see :mod:`pos.store.sales_demo`)."""
    from pos.store.sales_demo import load_history

    return load_history(app)


def submit_sale(*, database, settings: Settings, user: Any, canteen_id: str, idempotency_key: str, body: dict,
                instant: datetime, address: str = "") -> tuple[int, str]:
    """Record a sale in its own write transaction, committed before this returns.

    :func:`prepare_sale` runs first on a read session; :func:`record_sale` then runs under
    :func:`pos.store.group_commit.run_write`, so concurrent tills share a commit on SQLite
    and hold the writer only for the part that must see every earlier sale — or, under
    `canteen serve` on SQLite, in the writer process (:mod:`pos.store.sale_writer`).
    ``user`` must be a plain object, not a request-bound proxy."""
    from pos.store.group_commit import run_write

    # A scanned voucher or ticket is looked up through the ORM; prices and a resident ID
    # number need only plain reads.
    scanned = (body.get("credential") or {}).get("scan") is not None
    with database.session() if scanned else database.cursor() as s:
        prepared = prepare_sale(session=s, settings=settings, canteen_id=canteen_id, body=body, instant=instant)
    sale = dict(user=user, canteen_id=canteen_id, idempotency_key=idempotency_key, body=body, instant=instant,
                address=address, prepared=prepared)
    if database.sale_writer is not None:  # `canteen serve` on SQLite: the writer process records it
        return database.sale_writer.record(**sale)
    return run_write(database, lambda session: record_sale(session=session, settings=settings, **sale))
