"""One's own account: every member of staff changes their own password here, and
supervisors and admins their void-approval PIN.

When an admin asks for a new password at the next sign-in, the access hook
(:func:`pos.web.signin.check_access`) sends every page of that user here until it is
chosen.  A change of password signs the account out everywhere else (other tablets, API
tokens) and keeps this browser signed in.
"""
from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, session as flask_session, url_for
from flask_login import current_user

from pos.access import SUPERVISE
from pos.refusal import Refusal
from pos.store import staff as staff_store
from pos.store.audit import audit
from pos.web.i18n import current_language, gettext as _
from pos.web.refusals import status_of
from pos.web.signin import client_address, db, settings, start_page_for

bp = Blueprint("account", __name__, url_prefix="/account")


def _page(*, password_error: Refusal | None = None, pin_error: Refusal | None = None):
    error = password_error or pin_error
    forced = bool(current_user.must_change_password)
    return render_template(
        "account/password.html", forced=forced, may_set_pin=current_user.role in SUPERVISE and not forced,
        start_page=start_page_for(current_user.role), pin_length=(staff_store.MIN_PIN, staff_store.MAX_PIN),
        min_password=staff_store.MIN_PASSWORD,
        password_error=password_error.message(current_language()) if password_error else "",
        pin_error=pin_error.message(current_language()) if pin_error else "",
    ), (status_of(error.code) if error else 200)


def _same_twice(first: str, again: str, zh: str, en: str) -> None:
    """The two typings of a new password or PIN agree (a typo on a touch keyboard would
    otherwise lock the user out of their own account)."""
    if first != again:
        raise Refusal("entries_differ", zh, en)


@bp.route("/password", methods=["GET", "POST"])
def password():
    if request.method == "GET":
        return _page()
    security = settings().security
    new = request.form.get("new_password", "")
    try:
        _same_twice(new, request.form.get("new_password_again", ""),
                    "两次输入的新密码不一致", "the two new passwords differ")
        with db().transaction() as s:
            sid = flask_session.get("sid")
            ended = staff_store.change_own_password(
                session=s, user_id=current_user.id, old_password=request.form.get("old_password", ""),
                new_password=new, address=client_address(), max_failures=security.login_max_failures,
                window_minutes=security.login_window_minutes, keep=sid if isinstance(sid, str) else None)
            if ended is not None:
                audit(tx=s, action="password_changed", actor=current_user, canteen_id=current_user.canteen_id,
                      address=client_address(), detail={"sessions_ended": ended})
        if ended is None:  # the failed attempt is committed (the throttle counts it)
            raise staff_store.wrong_password()
    except Refusal as e:
        return _page(password_error=e)
    flash(_("密码已修改。其他设备上的登录已退出。"), "notice")
    return redirect(url_for("account.password"))


@bp.route("/pin", methods=["POST"])
def pin():
    security = settings().security
    new = request.form.get("pin", "").strip()
    try:
        _same_twice(new, request.form.get("pin_again", "").strip(),
                    "两次输入的授权码不一致", "the two PINs differ")
        with db().transaction() as s:
            user = staff_store.change_own_pin(
                session=s, user_id=current_user.id, password=request.form.get("password", ""), new_pin=new,
                address=client_address(), max_failures=security.login_max_failures,
                window_minutes=security.login_window_minutes)
            if user is not None:
                audit(tx=s, action="pin_changed", actor=current_user, canteen_id=current_user.canteen_id,
                      address=client_address())
        if user is None:
            raise staff_store.wrong_password()
    except Refusal as e:
        return _page(pin_error=e)
    flash(_("主管授权码已修改。"), "notice")
    return redirect(url_for("account.password"))


def register(app: Flask) -> None:
    app.register_blueprint(bp)
