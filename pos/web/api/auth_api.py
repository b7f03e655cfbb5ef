"""POST /api/v1/auth/token: a bearer token for scripted clients."""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user
from pydantic import BaseModel, Field

from pos.store import staff as staff_store
from pos.store.audit import audit
from pos.refusal import Refusal
from pos.web.api.blueprint import api
from pos.web.api.schemas import ErrorOut, Strict
from pos.web.signin import client_address, db, settings


class TokenIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(Strict):
    token: str
    expires_at: str
    role: str
    canteen: str | None


@api.post("/auth/token", security=[], responses={200: TokenOut, 401: ErrorOut, 429: ErrorOut})
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
                   "canteen": user.canteen_id}
    if user is None:
        raise staff_store.bad_credentials()
    return jsonify(out)


class RevokedOut(BaseModel):
    revoked: bool


@api.post("/auth/token/revoke", responses={200: RevokedOut, 400: ErrorOut, 401: ErrorOut})
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
