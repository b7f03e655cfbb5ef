"""The till's JSON API: menu, credential lookup, quotes, sales, voids, today's quota, shifts.

Money is integer fen.  Views parse, call the store (a sale goes through the app's
recorder), and answer with the models of :mod:`pos.web.api.answers`; every refusal is a
4xx JSON ``{error:{code, message, message_zh, message_en}}``.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Literal, Optional

from flask import Response, current_app, g, request
from flask_login import current_user
from pydantic import ConfigDict, Field, field_validator, model_validator

from pos.access import SUPERVISE
from pos.clock import business_date, naive_utc, now_utc
from pos.models import Shift
from pos.recording import Recorder
from pos.store import menu, pricing, sale_views, shifts
from pos.store import staff as staff_store
from pos.store.credentials import CredentialRequest
from pos.store.idempotency import Answer
from pos.store.pricing import MAX_LINES, MAX_QTY, LineRequest
from pos.refusal import Refusal
from pos.store.offline_sales import OfflineFacts, OfflineOrder
from pos.store.sales import Actor, SaleOrder, TenderRequest, void_sale
from pos.web.api.answers import (CurrentShiftOut, LookupOut, MenuOut, QuotaOut, QuoteOut, SaleOut, SalesOut,
                                 ShiftOut, credential_out, decision_out, free_meals_out, menu_out, quote_out, sale_out,
                                 shift_out)
from pos.web.api.blueprint import ERRORS, THROTTLED, api, refusal
from pos.web.api.devices_api import DEVICE_HEADER, this_device
from pos.web.api.schemas import Parameters, Strict
from pos.web.signin import client_address, db, require_canteen, settings, user_canteen
from subsidies.vocabulary import SUBSIDY_KINDS, TENDERS

_KEY = re.compile(r"^[A-Za-z0-9_\-:.]{8,128}$")
Tender = Literal[TENDERS]  # type: ignore[valid-type]


class LineIn(Strict):
    item_id: str = Field(min_length=1, max_length=64, description="menu item id (GET /menu)")
    qty: int = Field(ge=1, le=MAX_QTY)


class CredentialIn(Strict):
    """Exactly one of: what the scanner typed (voucher URL, token, short code, ticket), or a resident ID number."""

    scan: str | None = Field(default=None, min_length=1, max_length=2048)
    id_number: str | None = Field(default=None, min_length=1, max_length=40)

    @model_validator(mode="after")
    def _exactly_one(self):
        if (self.scan is None) == (self.id_number is None):
            raise ValueError("give exactly one of scan or id_number")
        return self

    def request(self) -> CredentialRequest:
        return CredentialRequest(scan=self.scan, id_number=self.id_number)


class QuoteIn(Strict):
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)
    credential: CredentialIn | None = None

    def line_requests(self) -> tuple[LineRequest, ...]:
        return tuple(LineRequest(line.item_id, line.qty) for line in self.lines)


class TenderIn(Strict):
    method: Tender
    tendered_fen: int | None = Field(default=None, ge=0, le=shifts.MAX_CASH_FEN)
    reference: str | None = Field(default=None, max_length=64)


class OfflineSubsidyIn(Strict):
    kind: Optional[Literal[SUBSIDY_KINDS]] = Field(  # type: ignore[valid-type]
        default=None, description="the subsidy the till gave offline (null: none)")
    amount_fen: int = Field(ge=0, le=100_000_000)


class OfflineIn(Strict):
    """A sale the till made offline, syncing: recorded at ``sold_at`` with the prices and the
    subsidy the till charged (a subsidy the server would not grant becomes a serving
    exception).  Needs the X-Till-Device header of ``device_id``."""

    device_id: str = Field(min_length=1, max_length=64)
    sold_at: str = Field(min_length=10, max_length=40,
                         description="the tablet's time of the sale, ISO 8601 with offset")
    sent_at: str = Field(min_length=10, max_length=40,
                         description="the tablet's time when this try was sent (the server records the difference)")
    offline_no: int = Field(ge=1, le=1_000_000_000, description="the till's own number for the sale")
    lease_id: Optional[str] = Field(default=None, min_length=1, max_length=64,
                                    description="the lease a free meal was granted from")
    decision: OfflineSubsidyIn
    unit_prices_fen: list[int] = Field(min_length=1, max_length=MAX_LINES,
                                       description="the unit price the till charged, one per line")

    @field_validator("sold_at", "sent_at")
    @classmethod
    def _aware(cls, value: str) -> str:
        _instant(value)
        return value

    @field_validator("unit_prices_fen")
    @classmethod
    def _prices(cls, value: list[int]) -> list[int]:
        if any(not 0 <= price <= 100_000_000 for price in value):
            raise ValueError("each unit price must be 0..100,000,000 fen")
        return value


def _instant(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an ISO 8601 time with its offset, e.g. 2026-03-02T12:05:00+08:00") from None
    if moment.tzinfo is None:
        raise ValueError("must carry its UTC offset, e.g. +08:00")
    return moment


class SaleIn(QuoteIn):
    due_fen: int = Field(ge=0, le=100_000_000, description="the amount the cashier showed the diner")
    tender: TenderIn
    offline: Optional[OfflineIn] = Field(default=None, description="present when the till made the sale offline")


class LookupIn(CredentialIn):
    lines: list[LineIn] | None = Field(default=None, max_length=MAX_LINES,
                                       description="the order so far (default: one welfare set meal)")


class SalePath(Strict):
    sale_id: str = Field(min_length=1, max_length=64)


class ShiftPath(Strict):
    shift_id: str = Field(min_length=1, max_length=64)


class VoidIn(Strict):
    reason: str = Field(min_length=1, max_length=200)
    supervisor: str | None = Field(default=None, min_length=1, max_length=64)
    pin: str | None = Field(default=None, min_length=1, max_length=16)


class ShiftOpenIn(Strict):
    opening_float_fen: int = Field(ge=0, le=shifts.MAX_CASH_FEN)


class ShiftCloseIn(Strict):
    counted_cash_fen: int = Field(ge=0, le=shifts.MAX_CASH_FEN)


class SalesQuery(Parameters):
    # Query strings are text: "20" must parse as 20, so this one model is not strict.
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=20, ge=1, le=200)


class SaleHeaders(Parameters):
    """Headers of POST /sales.  Declared so the OpenAPI document shows the key; the view
    itself refuses a missing or malformed key with its own message (428/400)."""

    idempotency_key: Optional[str] = Field(
        default=None, alias="Idempotency-Key", description="Made by the tablet before the first try and reused on "
                                                           "every retry (8-128 letters, digits, '-', '_', ':' or '.'). "
                                                           "Required.")


def _recorder() -> Recorder:
    return current_app.extensions["canteen_recorder"]


def _json(model) -> Response:
    return Response(model.model_dump_json(), mimetype="application/json")


@api.get("/menu", responses={200: MenuOut, **ERRORS})
def till_menu():
    """The canteen's available dishes."""
    canteen = user_canteen()
    with db().tx() as tx:
        dishes = menu.for_till(tx, canteen_id=canteen)
    return _json(menu_out(canteen, dishes))


@api.post("/credentials/lookup", responses={200: LookupOut, **ERRORS})
def till_credentials_lookup(body: LookupIn):
    """Who a scan or resident ID number is (masked name, band, status) and the benefit that
    would apply now, with its reason.  No side effects."""
    canteen = user_canteen()
    with db().tx() as tx:
        lines = tuple(LineRequest(line.item_id, line.qty) for line in body.lines or ())
        if not lines:
            dishes = menu.for_till(tx, canteen_id=canteen)
            welfare = [d for d in dishes if d.welfare_meal] or dishes[:1]
            if not welfare:
                raise Refusal("empty_menu", "菜单为空，请先在后台添加菜品", "the menu is empty: add dishes first")
            lines = (LineRequest(welfare[0].id, 1),)
        q = pricing.quote(tx, settings=settings(), canteen_id=canteen, lines=lines, credential=body.request(),
                          instant=now_utc())
    return _json(LookupOut(credential=credential_out(q.credential) if q.credential else None,
                           benefit=decision_out(q.decision), quote=quote_out(q)))


@api.post("/sales/quote", responses={200: QuoteOut, **ERRORS})
def till_quote(body: QuoteIn):
    """Price an order and decide its subsidy as a sale now would; records nothing."""
    with db().tx() as tx:
        q = pricing.quote(tx, settings=settings(), canteen_id=user_canteen(), lines=body.line_requests(),
                          credential=body.credential.request() if body.credential else None, instant=now_utc())
    return _json(quote_out(q))


def _sale_answer(sale) -> Answer:
    return Answer(201, sale_out(sale).model_dump_json())


@api.post("/sales", responses={201: SaleOut, **ERRORS,
                               428: refusal("No Idempotency-Key header (idempotency_key_required).")})
def till_sale_create(body: SaleIn, header: SaleHeaders):
    """Record a sale.  Needs an ``Idempotency-Key`` header (the tablet makes it before the
    first try and reuses it on every retry): the same key and body answer the first
    response again; the same key with another body is a 422.  ``due_fen`` must equal the
    server's price, or 409 price_changed answers the new quote and nothing is recorded."""
    key = request.headers.get("Idempotency-Key")
    if key is None or not key.strip():
        raise Refusal("idempotency_key_required", "缺少请求编号（Idempotency-Key），请刷新收银页面",
                      "the Idempotency-Key header is required: make one per sale and reuse it on retries")
    if not _KEY.match(key):
        raise Refusal("invalid_idempotency_key", "请求编号格式无效",
                      "Idempotency-Key must be 8-128 letters, digits, '-', '_', ':' or '.'")
    order = SaleOrder(canteen_id=user_canteen(), cashier=Actor(current_user.id, current_user.username),
                      idempotency_key=key, lines=body.line_requests(),
                      credential=body.credential.request() if body.credential else None, due_fen=body.due_fen,
                      tender=TenderRequest(body.tender.method, body.tender.tendered_fen, body.tender.reference),
                      instant=now_utc(), address=client_address())
    if body.offline is not None:
        order = _offline_order(order, body.offline)
    recorded = _recorder().record_sale(order, answer=_sale_answer)
    return Response(recorded.answer.body, status=recorded.answer.status, mimetype="application/json")


def _offline_order(order: SaleOrder, offline: OfflineIn) -> OfflineOrder:
    """The sale as the till made it offline, from the device the X-Till-Device header proves."""
    device = this_device()
    if device.id != offline.device_id or device.canteen_id != order.canteen_id:
        raise Refusal("offline_device_mismatch", "离线销售的收银机与本机登记不符",
                      f"offline.device_id must be the till named by the {DEVICE_HEADER} header, of this canteen")
    sold_at = _instant(offline.sold_at)
    facts = OfflineFacts(device_id=device.id, sold_at=sold_at, sent_at=_instant(offline.sent_at),
                         received_at=order.instant, offline_no=offline.offline_no, lease_id=offline.lease_id,
                         subsidy_kind=offline.decision.kind if offline.decision.amount_fen else None,
                         subsidy_fen=offline.decision.amount_fen if offline.decision.kind else 0,
                         unit_prices_fen=tuple(offline.unit_prices_fen))
    return OfflineOrder(canteen_id=order.canteen_id, cashier=order.cashier, idempotency_key=order.idempotency_key,
                        lines=order.lines, credential=order.credential, due_fen=order.due_fen, tender=order.tender,
                        instant=sold_at, address=order.address, offline=facts)


@api.get("/sales", responses={200: SalesOut, **ERRORS})
def till_sales_list(query: SalesQuery):
    """Today's sales at the canteen, newest first (for reprints and voids)."""
    canteen = user_canteen()
    today = business_date(settings().canteen(canteen).timezone)
    with db().tx() as tx:
        sales = sale_views.sales_of_day(tx, canteen_id=canteen, business_date=today, limit=query.limit)
    return _json(SalesOut(canteen=canteen, business_date=today.isoformat(), sales=[sale_out(s) for s in sales]))


@api.get("/sales/<sale_id>", responses={200: SaleOut, **ERRORS})
def till_sale_get(path: SalePath):
    """One sale with its lines, subsidy and void (own canteen only)."""
    with db().tx() as tx:
        sale = sale_views.get_sale(tx, sale_id=path.sale_id)
    if sale is None:
        raise Refusal("unknown_sale", "没有这笔销售", "no such sale")
    require_canteen(sale.canteen)
    return _json(sale_out(sale))


def _approver(body: VoidIn, canteen_id: str):
    """The supervisor approving a void: their PIN, or the caller's own supervisor token."""
    security = settings().security
    if body.pin is None:
        if g.get("auth_via_token") and current_user.role in SUPERVISE:
            return current_user
        raise Refusal("pin_required", "作废需要主管输入授权码批准", "a void needs a supervisor's PIN")
    if body.supervisor is None:
        raise Refusal("supervisor_required", "请选择批准作废的主管", "name the approving supervisor")
    with db().transaction() as s:
        # A wrong PIN is recorded (for the throttle) and committed before the refusal.
        approver = staff_store.check_pin(session=s, supervisor_username=body.supervisor, pin=body.pin,
                                         address=client_address(), max_failures=security.pin_max_failures,
                                         window_minutes=security.pin_window_minutes)
    if approver is None:
        raise Refusal("bad_pin", "主管授权码不正确", "wrong supervisor PIN")
    if approver.canteen_id not in (None, canteen_id):
        raise Refusal("approver_other_canteen", "只能由本食堂的主管批准", "the supervisor must work at this canteen")
    return approver


@api.post("/sales/<sale_id>/void", responses={200: SaleOut, **ERRORS, **THROTTLED})
def till_sale_void(path: SalePath, body: VoidIn):
    """Void a sale of an open business date, approved by a supervisor (PIN, or their own
    bearer token): reverses the subsidy and gives the free-meal slot back."""
    with db().tx() as tx:
        canteen = sale_views.sale_canteen(tx, sale_id=path.sale_id)
    if canteen is None:
        raise Refusal("unknown_sale", "没有这笔销售", "no such sale")
    require_canteen(canteen)
    approver = _approver(body, canteen)
    with db().tx(write=True) as tx:
        sale = void_sale(tx, sale_id=path.sale_id, reason=body.reason, requested_by=current_user,
                         approved_by=approver, instant=now_utc(), address=client_address())
    return _json(sale_out(sale))


@api.get("/quota/today", responses={200: QuotaOut, **ERRORS})
def till_quota_today():
    """Free welfare meals today at the canteen: cap, used, left."""
    canteen = user_canteen()
    today = business_date(settings().canteen(canteen).timezone)
    with db().tx() as tx:
        free = pricing.free_meals_today(tx, policy=settings().policy.in_force_or_none(today), canteen_id=canteen,
                                        business_date=today)
    return _json(QuotaOut(canteen=canteen, business_date=today.isoformat(), free_meals=free_meals_out(free)))


@api.post("/shifts", responses={201: ShiftOut, **ERRORS})
def till_shift_open(body: ShiftOpenIn):
    """Open the caller's shift with a cash float (409 shift_already_open while one is open)."""
    canteen = user_canteen()
    instant = now_utc()
    with db().transaction() as s:
        shift = shifts.open_shift(session=s, canteen_id=canteen, cashier=current_user,
                                  opening_float_fen=body.opening_float_fen, now=naive_utc(instant),
                                  business_date=business_date(settings().canteen(canteen).timezone, instant),
                                  address=client_address())
        out = shift_out(shifts.ShiftState.of(shift))
    return Response(out.model_dump_json(), status=201, mimetype="application/json")


@api.post("/shifts/<shift_id>/close", responses={200: ShiftOut, **ERRORS})
def till_shift_close(path: ShiftPath, body: ShiftCloseIn):
    """Close a shift with the counted cash; answers the expected cash and the difference."""
    with db().session() as s:
        shift = s.get(Shift, path.shift_id)
    if shift is None:
        raise Refusal("unknown_shift", "没有这个班次", "no such shift")
    require_canteen(shift.canteen_id)
    with db().transaction() as s:
        state = shifts.close_shift(session=s, shift_id=path.shift_id, actor=current_user,
                                   counted_cash_fen=body.counted_cash_fen, now=naive_utc(), address=client_address())
        out = shift_out(state)
    return _json(out)


@api.get("/shifts/current", responses={200: CurrentShiftOut, **ERRORS})
def till_shift_current():
    """The caller's open shift with the cash expected so far, or ``{"shift": null}``."""
    with db().session() as s:
        shift = shifts.current_shift(session=s, cashier_id=current_user.id, canteen_id=user_canteen())
        out = None if shift is None else shift_out(
            shifts.ShiftState.of(shift, shifts.expected_cash(session=s, shift=shift)))
    return _json(CurrentShiftOut(shift=out))
