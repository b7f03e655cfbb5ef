"""Refusals as HTTP answers: the one table from a refusal's code to a status, and the
error answers (JSON ``{error: {code, message, message_zh, message_en}}`` for the API, a
kind page for the browser).  Nothing below the web layer knows a status; a 500 is a bug.
"""
from __future__ import annotations

import logging
import sqlite3
from typing import Any, Callable

import psycopg
from flask import Flask, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from pos.refusal import Refusal
from pos.store.tokens import TOKEN_REFUSALS
from subsidies.resident_id import ERROR_CODES as RESIDENT_ID_ERRORS

log = logging.getLogger(__name__)

_BY_STATUS: dict[int, tuple[str, ...]] = {
    # The request itself is malformed: a date, a month, a header, a page's CSRF token.
    400: ("bad_date", "bad_month", "csrf_failed", "invalid_idempotency_key", "no_bearer_token", "no_canteen",
          "bad_cursor", "bad_date_range", "device_required"),
    # Who are you?
    401: ("not_signed_in", "bad_credentials"),
    # You, but not this: another canteen or community, another's shift, a wrong PIN.
    403: ("forbidden", "other_canteen", "other_community", "not_your_shift", "bad_pin", "approver_other_canteen",
          "own_claim", "approver_is_requester", "approver_not_allowed", "requester_not_allowed",
          "wrong_password", "password_change_required", "pin_not_for_role",
          # A till device (pos.store.devices): not registered, revoked, of another canteen.
          "device_unknown", "device_revoked", "device_other_canteen",
          # An offline sale sent by another till than the one it names (pos.store.offline_sales).
          "offline_device_mismatch"),
    # No such thing (or none you may know of).
    404: ("unknown_canteen", "unknown_sale", "unknown_shift", "unknown_code", "diner_not_found", "item_not_found",
          "user_not_found", "voucher_not_found", "voucher_unknown", "ticket_unknown", "unknown_claim",
          "notice_not_found", "report_not_found", "device_not_found", "lease_unknown",
          "serving_exception_not_found", "late_offline_sale_not_found"),
    # It exists, but its state does not allow this now.
    409: ("already_left", "already_active", "already_corrected", "already_registered", "already_suspended", "already_voided",
          "base_url_loopback", "cannot_disable_self", "claim_frozen", "diner_erased", "claim_overlaps", "claim_state", "day_already_closed", "days_open", "day_closed", "day_open", "diner_suspended", "empty_menu",
          "item_exists", "limit_reached", "month_not_over", "no_open_shift", "no_policy", "price_changed", "shift_already_open",
          "shift_closed", "shifts_open", "tickets_exceed_cap", "username_taken", "voucher_not_active",
          "weekly_limit_reached", "notice_withdrawn", "device_name_taken", "device_already_revoked",
          # Offline selling: a sale dated on another business date; a day close while tills
          # hold unsynced sales; an exception or late sale already resolved.
          "offline_other_date", "tills_unsynced", "already_resolved"),
    # What was sent cannot be accepted as it is.
    422: ("checks_unexplained", "invalid_note", "invalid_scope", "reference_required", "code_mistyped", "empty_order", "empty_scan", "future_date", "idempotency_key_reused", "insufficient_cash",
          "invalid_amount", "invalid_available", "invalid_business_date", "invalid_category", "invalid_community",
          "invalid_name", "invalid_name_en", "invalid_phone", "invalid_pin", "invalid_price", "invalid_qty",
          "invalid_request", "invalid_role", "invalid_sort_order", "invalid_tender", "invalid_ticket_count",
          "invalid_username", "invalid_welfare_meal", "invalid_worker_proof", "item_unavailable", "not_a_ticket",
          "not_a_voucher", "not_free", "pin_required", "reason_required", "supervisor_required", "tendered_required",
          "ticket_date_past", "ticket_other_canteen", "ticket_wrong_date", "too_many_lines", "unknown_field",
          "unknown_item", "unknown_worker_category", "voucher_expired", "voucher_revoked", "voucher_superseded",
          "weak_password", "same_password", "password_required", "entries_differ", "refund_out_of_range", "subsidy_out_of_range", "nothing_to_correct", "invalid_receipt_no",
          "invalid_verification_date", "unknown_proof_type", "unknown_life_event", "invalid_event_date",
          "not_a_worker", "not_a_resident",
          # The input policy (pos.web.input_policy): text, JSON nesting, dates out of range.
          "invalid_text", "json_too_deep", "date_out_of_range", "month_out_of_range",
          # A list of diners to import (pos.store.diner_import): the file, or a row of it.
          "import_empty", "import_file_unreadable", "import_bad_header", "import_too_many_rows", "import_has_errors",
          "import_duplicate", "import_bad_resident", "import_id_not_text", "import_extra_cells", "import_bad_date",
          "import_not_registered", "import_name_differs",
          # A dish's labels and energy (pos.store.dish_labels); a notice (pos.store.notices).
          "invalid_labels", "invalid_energy", "invalid_notice_place", "invalid_notice_topic", "invalid_notice_title",
          "invalid_notice_body", "invalid_notice_dates",
          # A neighbourhood report (pos.store.neighbourhood_reports) and its photo (pos.store.report_photos).
          "invalid_report_number", "unknown_report_category", "invalid_report_text", "unknown_report_status",
          "passed_to_required", "invalid_passed_to", "nothing_to_update", "photo_unreadable", "photo_too_large",
          "photo_too_many_pixels",
          # A till device's name and heartbeat (pos.store.devices).
          "invalid_device_name", "invalid_queued",
          # An offline sale (pos.store.offline_sales), a day-close override, a resolution note.
          "offline_time_future", "offline_amounts_inconsistent", "offline_prices_mismatch",
          "invalid_override_reason", "invalid_resolution_note",
          *(f"{kind}_{code}" for kind in ("voucher", "ticket") for code in TOKEN_REFUSALS),
          *(f"resident_id_{code}" for code in RESIDENT_ID_ERRORS)),
    428: ("idempotency_key_required",),
    429: ("too_many_attempts", "too_many_pin_attempts", "report_rate_limited"),
    # Try again later: the database cannot be written or reached, or another writer holds it
    # past the time limit (pos.db.storage_refusal); nothing was changed.
    503: ("pdf_font_missing", "database_unavailable", "storage_unavailable", "database_busy"),
}
#: Seconds a client should wait before trying again (the Retry-After header), by code.
RETRY_AFTER: dict[str, int] = {"database_busy": 2, "database_unavailable": 10, "storage_unavailable": 30}
#: Every refusal code and the HTTP status it is answered with.
STATUS: dict[str, int] = {code: status for status, codes in _BY_STATUS.items() for code in codes}
UNLISTED = 422  # a code missing from the table (a test keeps the table complete)

_HTTP_ZH = {400: "请求有误", 401: "请先登录", 403: "没有权限", 404: "找不到", 405: "不支持此操作",
            409: "冲突", 413: "请求太大", 415: "请用 JSON 格式", 422: "内容有误", 429: "尝试过多，请稍后再试",
            500: "系统出错了，请稍后再试；如仍不行请联系系统管理员"}


def status_of(code: str) -> int:
    status = STATUS.get(code)
    if status is None:
        log.warning("refusal code %r has no HTTP status in pos/web/refusals.py; answering %d", code, UNLISTED)
        return UNLISTED
    return status


def error_body(e: Refusal) -> dict:
    """The JSON of a refusal.  Domain data it carries (the new quote of ``price_changed``)
    is rendered by the app's renderers for its type (see :func:`register_error_handlers`)."""
    renderers = current_app.extensions["canteen_refusal_extras"]
    out: dict[str, Any] = {"error": {"code": e.code, "message": f"{e.zh} / {e.en}",
                                     "message_zh": e.zh, "message_en": e.en}}
    for name, value in e.extra.items():
        render = renderers.get(type(value))
        out[name] = render(value) if render is not None else value
    return out


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def answer(e: Refusal):
    """The answer to a refusal: JSON for the API, a page for the browser."""
    status = status_of(e.code)
    headers = {"Retry-After": str(RETRY_AFTER[e.code])} if e.code in RETRY_AFTER else {}
    if wants_json():
        return jsonify(error_body(e)), status, headers
    return render_template("error.html", status=status, message_zh=e.zh, message_en=e.en), status, headers


def register_error_handlers(app: Flask, *, extras: dict[type, Callable[[Any], Any]]) -> None:
    """Answer refusals and HTTP errors; ``extras`` renders, by type, the domain data a
    refusal may carry into its JSON answer."""
    app.extensions["canteen_refusal_extras"] = extras
    app.register_error_handler(Refusal, answer)

    @app.errorhandler(DBAPIError)
    @app.errorhandler(sqlite3.Error)
    @app.errorhandler(psycopg.Error)
    def _database_error(e: Exception):
        # A storage failure outside a transaction of pos.db (a read that cannot open the
        # file, a server gone) is answered like one inside; anything else stays a 500.
        refusal = current_app.extensions["canteen_db"].refusal_for(e)
        if refusal is None:
            raise e
        return answer(refusal)

    @app.errorhandler(CSRFError)
    def _csrf(e: CSRFError):
        # Usually a page left open past a sign-out or a server restart: say what to do.
        return answer(Refusal("csrf_failed", "页面已过期或来源不明，请刷新页面后重试",
                              f"the page has expired or did not come from this site ({e.description}); "
                              "reload it and try again"))

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        status = e.code or 500
        en = e.description or e.name
        zh = _HTTP_ZH.get(status, "出错了")
        if wants_json():
            return jsonify({"error": {"code": e.name.lower().replace(" ", "_"), "message": f"{zh} / {en}",
                                      "message_zh": zh, "message_en": en}}), status
        return render_template("error.html", status=status, message_zh=zh, message_en=en), status
