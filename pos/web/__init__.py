"""The web layer: the Flask app (:func:`create_app`) and its areas, one package each —
``till``, ``backoffice``, ``reporting``, ``diner`` (the diner's own pages), ``api`` and
``cli``.  Views parse, call the store (or the recorder), and answer; a refusal from the
store becomes an HTTP answer in :mod:`pos.web.refusals`, nowhere else.
"""
from __future__ import annotations

import logging
import os
from typing import Any

from flask import Blueprint, current_app, jsonify, redirect, request, url_for
from werkzeug.middleware.proxy_fix import ProxyFix
from flask.sessions import SecureCookieSessionInterface
from flask_compress import Compress
from flask_login import current_user
from flask_openapi3 import Info, OpenAPI
from pydantic import ValidationError

from pos.config import Settings, load_settings
from pos.recording import PlainRecorder, open_database
from pos.web import account_pages, api, backoffice, claiming, diner, reporting, till
from pos.web import neighbourhood
from pos.web import public
from pos.web.reporting import corrections_pages
from pos.web.api.answers import REFUSAL_EXTRAS
from pos.web.api.schemas import ErrorOut
from pos.web import input_policy
from pos.web.uploads import InMemoryUploadsRequest
from pos.web.i18n import init_i18n
from pos.web.refusals import register_error_handlers
from pos.web.signin import csrf, init_auth, start_page_for

#: Set to "1" by `canteen serve --no-writer-lock` for its server processes.
NO_WRITER_LOCK_ENV = "CANTEEN_NO_WRITER_LOCK"
AREAS = (backoffice, diner, till, reporting, corrections_pages, claiming, account_pages, neighbourhood, public)

home_bp = Blueprint("home", __name__)
health_bp = Blueprint("health", __name__)


@home_bp.route("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(start_page_for(current_user.role))


@home_bp.route("/favicon.ico")
def favicon():
    """The icon browsers fetch from /favicon.ico whatever the page links (bookmarks, tabs, an
    old tablet's home screen): the canteen's bowl, not a 404 in every log."""
    resp = current_app.send_static_file("favicon.ico")
    # Kept a week: the security hook sends no-store only to answers without a Cache-Control.
    resp.cache_control.public = True
    resp.cache_control.max_age = 7 * 24 * 3600
    return resp


@health_bp.route("/healthz")
def healthz():
    """200 while the database can be written; 503 with the reason when it cannot (the disk
    full or read-only, the server unreachable, a writer holding it past the time limit)."""
    problem = current_app.extensions["canteen_db"].write_problem()
    if problem is None:
        return jsonify({"ok": True})
    return jsonify({"ok": False, "code": problem.code, "reason": problem.en, "reason_zh": problem.zh}), 503


def _validation_error(e: ValidationError):
    """Pydantic's refusal as our JSON error shape (422, a message a person can read)."""
    problems = []
    for err in e.errors(include_url=False, include_context=False, include_input=False):
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        problems.append(f"{where}: {err.get('msg')}")
    en = "; ".join(problems[:5]) or "invalid request"
    resp = jsonify({"error": {"code": "invalid_request", "message": f"请求内容有误 / {en}",
                              "message_zh": "请求内容有误", "message_en": en, "problems": problems}})
    resp.status_code = 422
    return resp


#: Flask-Compress: pages and the static text files (till.js, the CSS, SVG) are compressed for
#: tablets on slow canteen Wi-Fi, with brotli or gzip, whichever the browser takes.  Not JSON:
#: the API's answers are a few hundred bytes, and compressing them would cost the sale path
#: CPU for nothing.  Below 1 KB the saving is less than a packet.  Static files are streamed
#: (send_file), so the streaming algorithms must offer gzip too.  Every answer says
#: `Vary: Accept-Encoding`, so a cache never hands a compressed file to a browser that did not ask.
COMPRESSION = {
    "COMPRESS_MIMETYPES": ["text/html", "text/css", "text/javascript", "application/javascript", "image/svg+xml"],
    "COMPRESS_MIN_SIZE": 1024,
    "COMPRESS_ALGORITHM": ["br", "gzip"],
    "COMPRESS_ALGORITHM_STREAMING": ["br", "gzip"],
}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'")


def _security_headers_for(settings: Settings):
    """The after-request hook adding the security headers a response does not set itself."""
    defaults = [
        # No inline script anywhere (templates load /static/*.js), so an injected <script>
        # or onclick= does not run; no framing (clickjacking of the till and back office).
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        # Voucher URLs carry tokens: never send them to another site in a Referer.
        ("Referrer-Policy", "no-referrer"),
        ("Permissions-Policy", "camera=(self), microphone=(), geolocation=()"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]
    if settings.base_url.startswith("https://"):
        defaults.append(("Strict-Transport-Security", "max-age=31536000"))
    # Tablets are shared: pages and API answers (names, sales) must not be kept in the
    # browser cache for the next person to find with the back button.  Static files keep
    # the caching Flask gives them.
    no_store = ("Cache-Control", "no-store")

    def _security_headers(resp):
        # One pass over the response's own headers, then appends (this runs on every
        # request; werkzeug's setdefault scans the headers once per call).
        present = {name.lower() for name, _ in resp.headers.items()}
        headers = resp.headers
        for name, value in defaults:
            if name.lower() not in present:
                headers.add(name, value)
        if request.endpoint != "static" and "cache-control" not in present:
            headers.add(*no_store)
        return resp

    return _security_headers


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer built once per app
    instead of twice per request (the secret key does not change while the app runs)."""

    def get_signing_serializer(self, app):
        serializer = app.extensions.get("canteen_session_serializer")
        if serializer is None:
            serializer = app.extensions["canteen_session_serializer"] = super().get_signing_serializer(app)
        return serializer


def create_app(test_config: dict[str, Any] | None = None) -> OpenAPI:
    """Build the app.  ``test_config`` may carry ``CANTEEN`` (a Settings) and Flask options."""
    test_config = dict(test_config or {})
    settings: Settings = test_config.pop("CANTEEN", None) or load_settings()
    app = OpenAPI(
        __name__,
        info=Info(title="Canteen till API", version="1",
                  description="Neighbourhood canteen till and subsidy system. Money is integer fen."),
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"},
                          "session": {"type": "apiKey", "in": "cookie", "name": "session"}},
        doc_ui=False, doc_prefix="/api/v1", doc_url="/openapi.json",
        # A request the models refuse answers the API's one error shape (ErrorOut), and the
        # document says so; pos.web.api.blueprint declares it, with the other common errors,
        # on every operation.
        validation_error_status=422, validation_error_model=ErrorOut, validation_error_callback=_validation_error,
        instance_path=settings.instance_path, instance_relative_config=False,
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        CANTEEN=settings,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        REMEMBER_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=1 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session (a shift)
        JSON_AS_ASCII=False,
        **COMPRESSION,
    )
    app.json.ensure_ascii = False
    app.config.update(test_config)
    # Uploads (a list of diners with their ID numbers) are parsed in memory, never spooled to disk.
    app.request_class = InMemoryUploadsRequest
    database = test_config.get("DATABASE") or open_database(
        settings.database_url, writer_lock=os.environ.get(NO_WRITER_LOCK_ENV) != "1",
        write_wait_s=settings.write_wait_seconds)
    app.extensions["canteen_db"] = database
    app.extensions["canteen_recorder"] = PlainRecorder(database, settings)
    # One connection per request (taken when first needed), before the access hook signs
    # the caller in on it.
    app.before_request(database.hold_connection)
    app.teardown_request(lambda _error: database.release_connection())
    # The input policy (text, JSON nesting) before anything reads the request or signs anyone in.
    input_policy.init_app(app)

    init_i18n(app)
    init_auth(app)
    register_error_handlers(app, extras=REFUSAL_EXTRAS)
    app.register_blueprint(home_bp)
    app.register_blueprint(health_bp)
    for area in AREAS:
        area.register(app)
    csrf.exempt(api.api)  # the access hook applies CSRF to cookie-authenticated API calls
    app.register_api(api.api)
    # The OpenAPI document, generated from the pydantic models that validate requests.
    app.add_url_rule("/api/v1/openapi.json", "api_doc", lambda: jsonify(app.api_doc))
    app.after_request(_security_headers_for(settings))
    Compress(app)
    app.session_interface = _SessionInterface()
    if settings.trusted_proxies:
        # Behind Caddy or nginx every request comes from the proxy: the client's own address
        # (sign-in throttling, the audit log) and scheme come from the proxy's headers.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies,
                                x_host=settings.trusted_proxies)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    return app
