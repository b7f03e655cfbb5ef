"""Sign-in: the login page (session cookie) for browsers, bearer tokens for scripts, the
access hook that applies the route table (pos/access.py) to every request, and the
signed-in user's canteen scope (:class:`pos.access.Scope`) for the views."""
from __future__ import annotations

from flask import (Blueprint, Flask, abort, current_app, g, make_response, redirect, render_template,
                   request, session as flask_session, url_for)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect

from pos.access import PUBLIC, ROUTE_ROLES, WHILE_PASSWORD_CHANGE_REQUIRED, Scope, allowed
from pos.config import CanteenConfig, Settings
from pos.db import Database
from pos.models import StaffUser
from pos.store import staff as staff_store
from pos.store.audit import audit
from pos.store.diners import looks_like_id_number
from pos.refusal import Refusal
from pos.web.refusals import status_of, wants_json

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()

START_PAGES = {  # where each role lands after signing in (endpoint names; first that exists wins)
    "cashier": ("till.index",),
    "supervisor": ("till.index",),
    "registrar": ("backoffice.diners",),
    "accountant": ("reports.index",),
    "approver": ("claims.index",),
    "admin": ("backoffice.index", "till.index"),
}


class Staff(UserMixin):
    """The signed-in staff member (a detached copy of the row; no lazy loading)."""

    def __init__(self, row: StaffUser):
        self.id = row.id
        self.username = row.username
        self.display_name = row.display_name
        self.role = row.role
        self.canteen_id = row.canteen_id
        self.community = row.community
        self.must_change_password = row.must_change_password

    @classmethod
    def from_fields(cls, fields: tuple) -> "Staff":
        """From :func:`pos.store.staff.user_fields_for_token`'s tuple."""
        self = cls.__new__(cls)
        (self.id, self.username, self.display_name, self.role, self.canteen_id, self.community,
         self.must_change_password) = fields
        return self

    def get_id(self) -> str:
        return self.id


def db() -> Database:
    return current_app.extensions["canteen_db"]


def settings() -> Settings:
    return current_app.config["CANTEEN"]


def client_address() -> str:
    return request.remote_addr or ""


def scope() -> Scope:
    """The signed-in user's canteen scope."""
    return Scope.of(current_user)


def canteen_named(code: str | None) -> CanteenConfig:
    """The configured canteen a request names (none named: the user's own), inside the
    user's scope; refuses (``unknown_canteen``) a code that is not configured and one
    outside the scope."""
    code = code or user_canteen()
    try:
        canteen = settings().canteen(code)
    except KeyError:
        raise Refusal("unknown_canteen", "没有这个食堂", f"unknown canteen {code!r}") from None
    scope().check(canteen)
    return canteen


def require_canteen(canteen_id: str) -> None:
    """Refuse a canteen outside the signed-in user's scope (or not configured)."""
    canteen_named(canteen_id)


def visible_canteens() -> list[CanteenConfig]:
    """The configured canteens inside the signed-in user's scope."""
    return scope().canteens(settings().canteens)


def user_canteen() -> str:
    """The canteen the signed-in user works at (the first configured one for district staff)."""
    return current_user.canteen_id or settings().default_canteen.code


@login_manager.user_loader
def _load_user(user_id: str):
    # A browser session is honoured only while its server-side record lives: the session
    # id ("sid", random, kept in the signed cookie) is stored hashed in api_tokens like a
    # bearer token, so sign-out, a password reset or disabling the account ends it even
    # though Flask's cookie itself cannot be taken back.
    sid = flask_session.get("sid")
    if not sid or not isinstance(sid, str):
        return None
    with db().tx() as tx:
        fields = staff_store.user_fields_for_token(tx, token=sid)
    if fields is None or fields[0] != user_id:
        return None
    return Staff.from_fields(fields)


@login_manager.request_loader
def _load_from_bearer(req):
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    with db().tx() as tx:
        fields = staff_store.user_fields_for_token(tx, token=header[7:].strip())
    if fields is None:
        return None
    g.auth_via_token = True
    return Staff.from_fields(fields)


@login_manager.unauthorized_handler
def _unauthorized():
    if wants_json():
        raise Refusal("not_signed_in", "请先登录", "sign in first")
    # Back to the page after sign-in — without a query that holds a resident ID number,
    # which would travel on into the login page's address and its links.
    held = any(looks_like_id_number(value) for _, value in request.args.items(multi=True))
    back = (request.path if held else request.full_path) if request.method == "GET" else None
    return redirect(url_for("auth.login", next=back))


def check_access():
    """before_request: apply the route table; undeclared routes refuse."""
    endpoint = request.endpoint
    if endpoint is None:
        return None  # routing will answer 404/405
    role = current_user.role if current_user.is_authenticated else None
    verdict = allowed(endpoint, role)
    if not verdict:
        g.access_refused = True  # told apart from a view's own 401/403 (tests walk the table)
    if verdict is None:
        abort(403, f"route {endpoint} has no access declaration")
    if not verdict:
        if role is None:
            return current_app.login_manager.unauthorized()
        raise Refusal("forbidden", "您的角色无权使用此功能", f"role {role} may not use this")
    if (role is not None and current_user.must_change_password and endpoint not in WHILE_PASSWORD_CHANGE_REQUIRED
            and ROUTE_ROLES[endpoint] is not PUBLIC):
        if wants_json():
            raise Refusal("password_change_required", "请先修改密码，才能继续使用",
                          "choose a new password before going on")
        return redirect(url_for("account.password"))
    # Browser (cookie) requests to the JSON API need the CSRF token too; bearer-token
    # clients send no cookies, so cross-site forgery does not reach them.
    if (request.path.startswith("/api/") and request.method not in ("GET", "HEAD", "OPTIONS")
            and current_user.is_authenticated and not g.get("auth_via_token")
            and current_app.config.get("WTF_CSRF_ENABLED", True)):
        csrf.protect()
    return None


def safe_next(target: str | None, default: str) -> str:
    """A local path to go to after sign-in or a language switch; anything that a browser
    could read as another site (``//host``, ``/\\host``, ``https:``) becomes ``default``."""
    target = target or ""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or any(ord(ch) < 32 for ch in target):
        return default
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    security = settings().security
    error = None
    if request.method == "POST":
        try:
            with db().transaction() as s:
                row = staff_store.authenticate(
                    session=s, username=request.form.get("username", ""), password=request.form.get("password", ""),
                    address=client_address(), max_failures=security.login_max_failures,
                    window_minutes=security.login_window_minutes)
                if row is not None:
                    previous = flask_session.get("sid")
                    if isinstance(previous, str) and previous:  # signing in again ends the old session
                        staff_store.revoke_token(session=s, token=previous)
                    sid, _ = staff_store.issue_token(session=s, user=row, hours=security.token_hours)
                    audit(tx=s, action="login", actor=row, canteen_id=row.canteen_id, address=client_address())
                    staff = Staff(row)
            if row is None:
                raise staff_store.bad_credentials()
        except Refusal as e:
            if e.code not in ("bad_credentials", "too_many_attempts"):
                raise
            error = e
        else:
            # A fresh session on sign-in (no fixation): the old cookie's content is dropped
            # and the new one carries a new server-side session id.
            flask_session.clear()
            flask_session["sid"] = sid
            login_user(staff)
            return redirect(safe_next(request.args.get("next"), url_for("home.index")))
    status = 200 if error is None else status_of(error.code)
    return render_template("login.html", error=error), status


@bp.route("/logout", methods=["POST"])
def logout():
    with db().transaction() as s:
        sid = flask_session.get("sid")
        if isinstance(sid, str) and sid:
            staff_store.revoke_token(session=s, token=sid)
        audit(tx=s, action="logout", actor=current_user.username, canteen_id=current_user.canteen_id,
              address=client_address())
    logout_user()
    flask_session.clear()
    resp = redirect(url_for("auth.login"))
    # Tablets are shared: the till's kept page (the cashier's name) and its cached files go
    # with the cashier; the till's script has already cleared them, and the order and the
    # offline kit.  Only "cache": "storage" would also wipe what belongs to the tablet — its
    # identity as a registered till and the offline sales not yet synced (localStorage,
    # IndexedDB).  Browsers honour the header on https and localhost only.
    resp.headers["Clear-Site-Data"] = '"cache"'
    return resp


@bp.route("/lang/<lang>")
def set_language(lang: str):
    resp = make_response(redirect(safe_next(request.args.get("next"), "/")))
    if lang in ("zh", "en"):
        resp.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return resp


def start_page_for(role: str) -> str:
    for endpoint in START_PAGES.get(role, ()):
        if endpoint in current_app.view_functions:
            return url_for(endpoint)
    return url_for("home.staff_home") if "home.staff_home" in current_app.view_functions else url_for("auth.login")


def init_auth(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    app.register_blueprint(bp)
    app.before_request(check_access)
