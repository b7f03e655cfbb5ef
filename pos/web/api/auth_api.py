"""POST /api/v1/auth/token: a bearer token for scripted clients; revoking it; changing one's
own password (POST /api/v1/auth/password)."""
from __future__ import annotations

from flask import g, jsonify, request, session as flask_session
from flask_login import current_user
from pydantic import BaseModel, Field

from pos.store import staff as staff_store
from pos.store.audit import audit
from pos.refusal import Refusal
from pos.web.api.blueprint import THROTTLED, api
from pos.web.api.schemas import Strict
from pos.web.signin import client_address, db, settings


class TokenIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(Strict):
    token: str
    expires_at: str
    role: str
    canteen: str | None
    must_change_password: bool = Field(
        description="an admin asked for a new password: until POST /auth/password, other calls answer 403 "
                    "password_change_required")


# security=[{}]: no credentials needed (the blueprint's bearer/session schemes are added as
# alternatives to it; an empty list would leave them as the only ones).
@api.post("/auth/token", security=[{}], responses={200: TokenOut, **THROTTLED})
def auth_token(body: TokenIn):
    """Exchange a username and password for a bearer token (Authorization: Bearer …)."""
    security = settings().security
    with db().transaction() as s:
        user = staff_store.authenticate(session=s, username=body.username, password=body.password,
                                        address=client_address(), max_failures=security.login_max_failures,
                                        window_minutes=security.login_window_minutes)
        if user is not None:
            token, row = staff_store.issue_token(session=s, user=user, hours=security.token_hours)
            audit(tx=s, action="token_issued", actor=user, canteen_id=user.canteen_id, address=client_address())
            out = {"token": token, "expires_at": row.expires_at.isoformat() + "Z", "role": user.role,
                   "canteen": user.canteen_id, "must_change_password": user.must_change_password}
    if user is None:
        raise staff_store.bad_credentials()
    return jsonify(out)


class RevokedOut(BaseModel):
    revoked: bool


@api.post("/auth/token/revoke", responses={200: RevokedOut})
def auth_token_revoke():
    """Revoke the bearer token this request carries (sign out a scripted client)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Refusal("no_bearer_token", "请求未携带令牌", "this request carries no bearer token")
    with db().transaction() as s:
        staff_store.revoke_token(session=s, token=header[7:].strip())
        audit(tx=s, action="token_revoked", actor=current_user.username, canteen_id=current_user.canteen_id,
              address=client_address())
    return jsonify({"revoked": True})


class PasswordIn(Strict):
    old_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class PasswordChangedOut(BaseModel):
    changed: bool
    other_sessions_ended: int = Field(description="sessions and tokens of the account that were signed out")


def current_credential() -> str | None:
    """The bearer token or browser session id this request was signed in with."""
    if g.get("auth_via_token"):
        return request.headers.get("Authorization", "")[7:].strip()
    sid = flask_session.get("sid")
    return sid if isinstance(sid, str) else None


@api.post("/auth/password", responses={200: PasswordChangedOut, **THROTTLED})
def auth_password(body: PasswordIn):
    """Change your own password.  The current password is checked like a sign-in (wrong:
    403 ``wrong_password``; too many wrong: 429).  The new one needs 8 characters and must
    differ from it (422).  Every other session and token of the account is signed out; the
    one this request carries goes on working."""
    security = settings().security
    with db().transaction() as s:
        ended = staff_store.change_own_password(
            session=s, user_id=current_user.id, old_password=body.old_password, new_password=body.new_password,
            address=client_address(), max_failures=security.login_max_failures,
            window_minutes=security.login_window_minutes, keep=current_credential())
        if ended is not None:
            audit(tx=s, action="password_changed", actor=current_user, canteen_id=current_user.canteen_id,
                  address=client_address(), detail={"sessions_ended": ended})
    if ended is None:
        raise staff_store.wrong_password()
    return jsonify({"changed": True, "other_sessions_ended": ended})
