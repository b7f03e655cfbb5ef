"""The till's JSON API: menu, credential lookup, quotes, sales, voids, today's quota, shifts.

Money is integer fen.  Views parse, call the store, commit and answer; every refusal is a
4xx JSON ``{error:{code, message, message_zh, message_en}}``.
"""
from __future__ import annotations

import re
from typing import Literal, Optional

from flask import Response, current_app, g, jsonify, request
from flask_login import current_user
from pydantic import ConfigDict, Field, model_validator

from pos.api import api
from pos.api.schemas import ErrorOut, Parameters, Strict
from pos.auth import client_address, db, require_canteen, user_canteen
from pos.clock import business_date, naive_utc, now_utc
from pos.errors import ApiError
from pos.models import Shift
from pos.store import sales as sales_store
from pos.store import shifts as shift_store
from pos.store import staff as staff_store
from pos.store.audit import audit

_KEY = re.compile(r"^[A-Za-z0-9_\-:.]{8,128}$")
_ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 428: ErrorOut,
           429: ErrorOut}


class LineIn(Strict):
    item_id: str = Field(min_length=1, max_length=64, description="menu item id (GET /menu)")
    qty: int = Field(ge=1, le=sales_store.MAX_QTY)


class CredentialIn(Strict):
    """Exactly one of: what the scanner typed (voucher URL, token, short code, ticket), or a resident ID number."""

    scan: str | None = Field(default=None, min_length=1, max_length=2048)
    id_number: str | None = Field(default=None, min_length=1, max_length=40)

    @model_validator(mode="after")
    def _exactly_one(self):
        if (self.scan is None) == (self.id_number is None):
            raise ValueError("give exactly one of scan or id_number")
        return self


class QuoteIn(Strict):
    lines: list[LineIn] = Field(min_length=1, max_length=sales_store.MAX_LINES)
    credential: CredentialIn | None = None


class TenderIn(Strict):
    method: Literal["cash", "wechat", "alipay", "free"]
    tendered_fen: int | None = Field(default=None, ge=0, le=shift_store.MAX_CASH_FEN)
    reference: str | None = Field(default=None, max_length=64)


class SaleIn(QuoteIn):
    due_fen: int = Field(ge=0, le=100_000_000, description="the amount the cashier showed the diner")
    tender: TenderIn


class LookupIn(Strict):
    scan: str | None = Field(default=None, min_length=1, max_length=2048)
    id_number: str | None = Field(default=None, min_length=1, max_length=40)
    lines: list[LineIn] | None = Field(default=None, max_length=sales_store.MAX_LINES,
                                       description="the order so far (default: one welfare set meal)")

    @model_validator(mode="after")
    def _exactly_one(self):
        if (self.scan is None) == (self.id_number is None):
            raise ValueError("give exactly one of scan or id_number")
        return self


class SalePath(Strict):
    sale_id: str = Field(min_length=1, max_length=64)


class ShiftPath(Strict):
    shift_id: str = Field(min_length=1, max_length=64)


class VoidIn(Strict):
    reason: str = Field(min_length=1, max_length=200)
    supervisor: str | None = Field(default=None, min_length=1, max_length=64)
    pin: str | None = Field(default=None, min_length=1, max_length=16)


class ShiftOpenIn(Strict):
    opening_float_fen: int = Field(ge=0, le=shift_store.MAX_CASH_FEN)


class ShiftCloseIn(Strict):
    counted_cash_fen: int = Field(ge=0, le=shift_store.MAX_CASH_FEN)


class SalesQuery(Parameters):
    # Query strings are text: "20" must parse as 20, so this one model is not strict.
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=20, ge=1, le=200)


def _settings():
    return current_app.config["CANTEEN"]


def _json(status: int, text: str) -> Response:
    return Response(text, status=status, mimetype="application/json")


@api.get("/menu", responses={200: None, **_ERRORS})
def till_menu():
    """The canteen's available dishes: ``{canteen, items:[{id, name, name_en, price_fen, category, welfare_meal}]}``."""
    canteen = user_canteen()
    with db().session() as s:
        items = sales_store.menu(session=s, canteen_id=canteen)
    return jsonify({"canteen": canteen, "items": items})


@api.post("/credentials/lookup", responses={200: None, **_ERRORS})
def till_credentials_lookup(body: LookupIn):
    """Who a scan or resident ID number is (masked name, band, status) and the benefit that
    would apply now, with its reason.  No side effects."""
    settings, canteen = _settings(), user_canteen()
    with db().session() as s:
        instant = now_utc()
        lines = [line.model_dump() for line in body.lines] if body.lines else None
        if not lines:
            items = sales_store.menu(session=s, canteen_id=canteen)
            welfare = [i for i in items if i["welfare_meal"]] or items[:1]
            lines = [{"item_id": welfare[0]["id"], "qty": 1}] if welfare else []
        cred_in = {"scan": body.scan} if body.scan is not None else {"id_number": body.id_number}
        if not lines:
            raise ApiError(409, "empty_menu", "菜单为空，请先在后台添加菜品", "the menu is empty: add dishes first")
        q = sales_store.quote(session=s, settings=settings, canteen_id=canteen, lines=lines, credential=cred_in,
                              instant=instant)
    return jsonify({"credential": q.credential.as_dict() if q.credential else None,
                    "benefit": sales_store.subsidy_view(q.decision), "quote": q.as_dict()})


@api.post("/sales/quote", responses={200: None, **_ERRORS})
def till_quote(body: QuoteIn):
    """Price an order and decide its subsidy as a sale now would; records nothing."""
    data = body.model_dump()
    with db().session() as s:
        q = sales_store.quote(session=s, settings=_settings(), canteen_id=user_canteen(), lines=data["lines"],
                              credential=data["credential"], instant=now_utc())
    return jsonify(q.as_dict())


class SaleHeaders(Parameters):
    """Headers of POST /sales.  Declared so the OpenAPI document shows the key; the view
    itself refuses a missing or malformed key with its own message (428/422)."""

    idempotency_key: Optional[str] = Field(
        default=None, alias="Idempotency-Key", description="Made by the tablet before the first try and reused on every retry "
                                  "(8-128 letters, digits, '-', '_', ':' or '.'). Required.")


@api.post("/sales", responses={201: None, **_ERRORS})
def till_sale_create(body: SaleIn, header: SaleHeaders):
    """Record a sale.  Needs an ``Idempotency-Key`` header (the tablet makes it before the
    first try and reuses it on every retry): the same key and body answer the first
    response again; the same key with another body is a 422.  ``due_fen`` must equal the
    server's price, or 409 price_changed answers the new quote and nothing is recorded."""
    key = request.headers.get("Idempotency-Key")
    if key is None or not key.strip():
        raise ApiError(428, "idempotency_key_required", "缺少请求编号（Idempotency-Key），请刷新收银页面",
                       "the Idempotency-Key header is required: make one per sale and reuse it on retries")
    if not _KEY.match(key):
        raise ApiError(400, "invalid_idempotency_key", "请求编号格式无效",
                       "Idempotency-Key must be 8-128 letters, digits, '-', '_', ':' or '.'")
    status, text = sales_store.submit_sale(database=db(), settings=_settings(),
                                           user=current_user._get_current_object(), canteen_id=user_canteen(),
                                           idempotency_key=key, body=body.model_dump(), instant=now_utc(),
                                           address=client_address())
    return _json(status, text)


@api.get("/sales", responses={200: None, **_ERRORS})
def till_sales_list(query: SalesQuery):
    """Today's sales at the canteen, newest first (for reprints and voids)."""
    settings, canteen = _settings(), user_canteen()
    today = business_date(settings.canteen(canteen).timezone)
    with db().session() as s:
        rows = sales_store.recent_sales(session=s, canteen_id=canteen, business_date=today, limit=query.limit)
    return jsonify({"canteen": canteen, "business_date": today.isoformat(), "sales": rows})


@api.get("/sales/<sale_id>", responses={200: None, **_ERRORS})
def till_sale_get(path: SalePath):
    """One sale with its lines, subsidy and void (own canteen only)."""
    with db().session() as s:
        sale = sales_store.get_sale(session=s, sale_id=path.sale_id)
    if sale is None:
        raise ApiError(404, "unknown_sale", "没有这笔销售", "no such sale")
    require_canteen(sale["canteen"])
    return jsonify(sale)


def _approver(body: VoidIn, canteen_id: str):
    """The supervisor approving a void: their PIN, or the caller's own supervisor token."""
    settings = _settings()
    if body.pin is None:
        if g.get("auth_via_token") and current_user.role in ("supervisor", "admin"):
            return current_user
        raise ApiError(422, "pin_required", "作废需要主管输入 PIN 批准", "a void needs a supervisor's PIN")
    if body.supervisor is None:
        raise ApiError(422, "supervisor_required", "请选择批准作废的主管", "name the approving supervisor")
    with db().transaction() as s:
        # A wrong PIN is recorded (for the throttle) and committed before the refusal.
        approver = staff_store.check_pin(session=s, supervisor_username=body.supervisor, pin=body.pin,
                                         address=client_address(), max_failures=settings.security.pin_max_failures,
                                         window_minutes=settings.security.pin_window_minutes)
    if approver is None:
        raise ApiError(403, "bad_pin", "主管 PIN 不正确", "wrong supervisor PIN")
    if approver.canteen_id not in (None, canteen_id):
        raise ApiError(403, "approver_other_canteen", "只能由本食堂的主管批准", "the supervisor must work at this canteen")
    return approver


@api.post("/sales/<sale_id>/void", responses={200: None, **_ERRORS})
def till_sale_void(path: SalePath, body: VoidIn):
    """Void a sale of an open business date, approved by a supervisor (PIN, or their own
    bearer token): reverses the subsidy and gives the free-meal slot back."""
    with db().session() as s:
        canteen = sales_store.sale_canteen(session=s, sale_id=path.sale_id)
    if canteen is None:
        raise ApiError(404, "unknown_sale", "没有这笔销售", "no such sale")
    require_canteen(canteen)
    approver = _approver(body, canteen)
    with db().transaction() as s:
        sale = sales_store.void_sale(session=s, sale_id=path.sale_id, reason=body.reason, requested_by=current_user,
                                     approved_by=approver, instant=now_utc(), address=client_address())
    return jsonify(sale)


@api.get("/quota/today", responses={200: None, **_ERRORS})
def till_quota_today():
    """Free welfare meals today: ``{canteen, business_date, free_meals:{cap, used, left}}``."""
    with db().session() as s:
        out = sales_store.quota_today(session=s, settings=_settings(), canteen_id=user_canteen(), instant=now_utc())
    return jsonify(out)


@api.post("/shifts", responses={201: None, **_ERRORS})
def till_shift_open(body: ShiftOpenIn):
    """Open the caller's shift with a cash float (409 shift_already_open while one is open)."""
    canteen = user_canteen()
    instant = now_utc()
    with db().transaction() as s:
        shift = shift_store.open_shift(session=s, canteen_id=canteen, cashier_id=current_user.id,
                                       opening_float_fen=body.opening_float_fen, now=naive_utc(instant),
                                       business_date=business_date(_settings().canteen(canteen).timezone, instant))
        audit(session=s, action="shift_opened", actor=current_user, canteen_id=canteen, target=shift.id,
              address=client_address(), detail={"opening_float_fen": body.opening_float_fen})
        out = shift_store.shift_dict(shift)
    return jsonify(out), 201


@api.post("/shifts/<shift_id>/close", responses={200: None, **_ERRORS})
def till_shift_close(path: ShiftPath, body: ShiftCloseIn):
    """Close a shift with the counted cash; answers the expected cash and the difference."""
    with db().session() as s:
        shift = s.get(Shift, path.shift_id)
    if shift is None:
        raise ApiError(404, "unknown_shift", "没有这个班次", "no such shift")
    require_canteen(shift.canteen_id)
    with db().transaction() as s:
        out = shift_store.close_shift(session=s, shift_id=path.shift_id, actor_id=current_user.id,
                                      actor_role=current_user.role, actor_canteen=current_user.canteen_id,
                                      counted_cash_fen=body.counted_cash_fen, now=naive_utc())
        audit(session=s, action="shift_closed", actor=current_user, canteen_id=shift.canteen_id, target=shift.id,
              address=client_address(), detail={"counted_cash_fen": out["counted_cash_fen"],
                                                "expected_cash_fen": out["expected_cash_fen"],
                                                "difference_fen": out["difference_fen"]})
    return jsonify(out)


@api.get("/shifts/current", responses={200: None, **_ERRORS})
def till_shift_current():
    """The caller's open shift with the cash expected so far, or ``{"shift": null}``."""
    with db().session() as s:
        shift = shift_store.current_shift(session=s, cashier_id=current_user.id, canteen_id=user_canteen())
        if shift is None:
            return jsonify({"shift": None})
        out = shift_store.shift_dict(shift)
        out["summary"] = shift_store.expected_cash(session=s, shift=shift)
    return jsonify({"shift": out})
