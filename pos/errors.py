"""Errors a person can act on: JSON ``{error: {code, message}}`` for the API (Chinese, with
English alongside) and kind pages for the browser.  A 500 is a bug."""
from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    """Raised by views and stores to refuse a request; nothing has been changed."""

    def __init__(self, status: int, code: str, zh: str, en: str, **extra: Any):
        super().__init__(en)
        self.status, self.code, self.zh, self.en, self.extra = status, code, zh, en, extra

    def __reduce__(self):  # pickled with all its parts (the sale writer process sends refusals back)
        return _api_error, (self.status, self.code, self.zh, self.en, self.extra)

    def body(self) -> dict:
        out: dict[str, Any] = {"error": {"code": self.code, "message": f"{self.zh} / {self.en}",
                                         "message_zh": self.zh, "message_en": self.en}}
        out.update(self.extra)  # e.g. the new quote that comes with 409 price_changed
        return out


def _api_error(status: int, code: str, zh: str, en: str, extra: dict) -> ApiError:
    return ApiError(status, code, zh, en, **extra)


def api_error(status: int, code: str, zh: str, en: str, **extra: Any):
    """A ready JSON error response tuple."""
    e = ApiError(status, code, zh, en, **extra)
    return jsonify(e.body()), status


_HTTP_ZH = {400: "请求有误", 401: "请先登录", 403: "没有权限", 404: "找不到", 405: "不支持此操作",
            409: "冲突", 413: "请求太大", 415: "请用 JSON 格式", 422: "内容有误", 429: "尝试过多，请稍后再试"}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(e: ApiError):
        if wants_json():
            return jsonify(e.body()), e.status
        return render_template("error.html", status=e.status, message_zh=e.zh, message_en=e.en), e.status

    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def _csrf(e: CSRFError):
        # Usually a page left open past a sign-out or a server restart: say what to do.
        return _api_error(ApiError(400, "csrf_failed", "页面已过期或来源不明，请刷新页面后重试",
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
