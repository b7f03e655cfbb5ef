"""Staff accounts, passwords, supervisor PINs, API tokens and sign-in throttling; a member of
staff changing their own password or PIN, and the admin's "new password at next sign-in"."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from pos.access import ROLES, SUPERVISE
from pos.clock import naive_utc
from pos.models import ApiToken, Canteen, LoginAttempt, StaffUser
from pos.store.passwords import check_secret, hash_secret
from pos.refusal import Refusal
from pos.tx import Tx

MIN_PASSWORD = 8
MIN_PIN, MAX_PIN = 4, 8


def check_password_strength(password: str) -> None:
    """Refuse (``weak_password``) a password shorter than :data:`MIN_PASSWORD`."""
    if len(password or "") < MIN_PASSWORD:
        raise Refusal("weak_password", f"密码至少 {MIN_PASSWORD} 位", f"password must have at least {MIN_PASSWORD} characters")


def check_pin_shape(pin: str) -> None:
    """Refuse (``invalid_pin``) a void-approval PIN that is not 4-8 digits."""
    if not (pin.isascii() and pin.isdigit() and MIN_PIN <= len(pin) <= MAX_PIN):
        raise Refusal("invalid_pin", f"主管授权码须为 {MIN_PIN}–{MAX_PIN} 位数字",
                      f"the void-approval PIN must be {MIN_PIN}-{MAX_PIN} digits")


def create_user(*, session: Session, username: str, password: str, role: str, display_name: str = "",
                canteen_id: str | None = None, community: str | None = None, pin: str | None = None) -> StaffUser:
    """Add a staff account (password and PIN stored as scrypt hashes).  Refuses a bad
    username, role, password or PIN, an unknown canteen and a username taken."""
    username = username.strip()
    if not username or len(username) > 64 or not username.isprintable() or " " in username:
        raise Refusal("invalid_username", "用户名无效", "username must be 1-64 characters without spaces")
    if role not in ROLES:
        raise Refusal("invalid_role", "角色无效", f"role must be one of {', '.join(ROLES)}")
    check_password_strength(password)
    if pin is not None:
        check_pin_shape(pin)
    if canteen_id is not None and session.get(Canteen, canteen_id) is None:
        raise Refusal("unknown_canteen", "没有这个食堂", f"unknown canteen {canteen_id!r}")
    if session.exec(select(StaffUser).where(StaffUser.username == username)).first():
        raise Refusal("username_taken", "用户名已存在", f"username {username!r} is taken")
    now = naive_utc()
    if community is None and canteen_id is not None:
        community = session.get(Canteen, canteen_id).community
    user = StaffUser(username=username, display_name=display_name or username, password_hash=hash_secret(password),
                     pin_hash=hash_secret(pin) if pin else None, role=role, canteen_id=canteen_id,
                     community=community, created_at=now, updated_at=now)
    session.add(user)
    session.flush()
    return user


def failures_within(*, session: Session, kind: str, username: str, address: str, minutes: int) -> int:
    """Failed attempts of this kind for the account from this address within the window,
    counted since the last success (a cashier who gets in is not locked out by typos
    made earlier in the shift)."""
    since = naive_utc() - timedelta(minutes=minutes)
    same = (LoginAttempt.kind == kind, LoginAttempt.username == username, LoginAttempt.address == address)
    last_ok = session.exec(select(func.max(LoginAttempt.at)).where(
        *same, LoginAttempt.succeeded == True, LoginAttempt.at >= since)).one()  # noqa: E712
    if last_ok is not None:
        since = last_ok
    q = select(func.count()).select_from(LoginAttempt).where(
        *same, LoginAttempt.succeeded == False, LoginAttempt.at >= since)  # noqa: E712
    return session.exec(q).one()


_dummy_hash: list[str] = []


def _check_secret(stored_hash: str | None, secret: str) -> bool:
    """check_secret, also for a missing account, so that the answer takes as long
    whether or not the username exists."""
    if not stored_hash:
        if not _dummy_hash:
            _dummy_hash.append(hash_secret(secrets.token_hex(16)))
        check_secret(_dummy_hash[0], secret)
        return False
    return check_secret(stored_hash, secret)


def record_attempt(*, session: Session, kind: str, username: str, address: str, succeeded: bool) -> None:
    """Note a sign-in or PIN attempt, for the throttle."""
    session.add(LoginAttempt(kind=kind, username=username, address=address, succeeded=succeeded, at=naive_utc()))


def _refuse_when_throttled(session: Session, username: str, address: str, *, max_failures: int,
                           window_minutes: int) -> None:
    """The sign-in throttle: refuse (``too_many_attempts``) after too many wrong passwords
    for the account from this address.  Signing in and confirming one's own password (to
    change it or one's PIN) share it, so neither can be used to guess the password."""
    if failures_within(session=session, kind="password", username=username, address=address,
                       minutes=window_minutes) >= max_failures:
        raise Refusal("too_many_attempts", f"登录失败次数过多，请 {window_minutes} 分钟后再试",
                      f"too many failed sign-ins; try again in {window_minutes} minutes")


def authenticate(*, session: Session, username: str, password: str, address: str,
                 max_failures: int, window_minutes: int) -> StaffUser | None:
    """The active user with this password, or None (the failure is recorded: commit it).

    Refuses (``too_many_attempts``) when throttled.  Throttling counts failures per account and
    address within the window, so one attacker cannot lock a cashier out from another tablet.
    """
    username = (username or "").strip()
    _refuse_when_throttled(session, username, address, max_failures=max_failures, window_minutes=window_minutes)
    user = session.exec(select(StaffUser).where(StaffUser.username == username)).first()
    ok = _check_secret(user.password_hash if user else None, password or "") and bool(user and user.active)
    record_attempt(session=session, kind="password", username=username, address=address, succeeded=ok)
    return user if ok else None


def bad_credentials() -> Refusal:
    """The one answer to a wrong username or a wrong password (which of the two is not said)."""
    return Refusal("bad_credentials", "用户名或密码错误", "wrong username or password")


def check_pin(*, session: Session, supervisor_username: str, pin: str, address: str,
              max_failures: int, window_minutes: int) -> StaffUser | None:
    """The supervisor whose PIN this is, or None (the failure is recorded: commit it before
    refusing).  Refuses (``too_many_pin_attempts``) when throttled; PINs have their own throttle."""
    name = (supervisor_username or "").strip()
    if failures_within(session=session, kind="pin", username=name, address=address,
                       minutes=window_minutes) >= max_failures:
        raise Refusal("too_many_pin_attempts", f"授权码错误次数过多，请 {window_minutes} 分钟后再试",
                      f"too many wrong PINs; try again in {window_minutes} minutes")
    user = session.exec(select(StaffUser).where(StaffUser.username == name)).first()
    ok = (_check_secret(user.pin_hash if user else None, pin or "")
          and bool(user and user.active and user.role in SUPERVISE))
    record_attempt(session=session, kind="pin", username=name, address=address, succeeded=ok)
    return user if ok else None


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(*, session: Session, user: StaffUser, hours: int) -> tuple[str, ApiToken]:
    """A new bearer token; only its SHA-256 is stored."""
    token = secrets.token_urlsafe(32)
    now = naive_utc()
    row = ApiToken(user_id=user.id, token_hash=_token_digest(token), created_at=now, expires_at=now + timedelta(hours=hours))
    session.add(row)
    return token, row


# The live token's active user: it runs on every request (bearer tokens and browser sessions).
_TOKEN_USER_SQL = ("SELECT u.id, u.username, u.display_name, u.role, u.canteen_id, u.community, "
                   "u.must_change_password "
                   "FROM staff_users u JOIN api_tokens t ON t.user_id = u.id "
                   "WHERE t.token_hash = :h AND t.revoked_at IS NULL AND t.expires_at > :now AND u.active = :yes")
TOKEN_USER_COLUMNS = ("id", "username", "display_name", "role", "canteen_id", "community", "must_change_password")


def user_fields_for_token(tx: Tx, *, token: str) -> tuple | None:
    """The live (unrevoked, unexpired) token's active user as a tuple in
    :data:`TOKEN_USER_COLUMNS` order, or None.  One indexed SELECT, read from the database
    on each call: a revoked token or a disabled account stops working at the next request."""
    row = tx.one(_TOKEN_USER_SQL, {"h": _token_digest(token), "now": naive_utc(), "yes": True})
    return tuple(row) if row is not None else None


def revoke_token(*, session: Session, token: str) -> bool:
    """End a bearer token or a browser session (both are rows of api_tokens)."""
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == _token_digest(token))).first()
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = naive_utc()
    session.add(row)
    return True


def _revoke_all_tokens(session: Session, user_id: str, *, keep: str | None = None) -> int:
    """End every live session and token of the account but ``keep`` (a token or session id
    that goes on working); returns how many ended."""
    now = naive_utc()
    kept = _token_digest(keep) if keep else None
    ended = 0
    for row in session.exec(select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at == None)):  # noqa: E711
        if row.token_hash == kept:
            continue
        row.revoked_at = now
        session.add(row)
        ended += 1
    return ended


def _user(session: Session, user_id: str) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise Refusal("user_not_found", "没有这个账号", "no such staff account")
    return user


def reset_password(*, session: Session, user_id: str, password: str, must_change: bool = True) -> StaffUser:
    """Set a new password (back office); the user's sessions and API tokens stop working.
    By default the user must choose their own password at the next sign-in (the admin
    who typed this one knows it)."""
    user = _user(session, user_id)
    check_password_strength(password)
    user.password_hash = hash_secret(password)
    user.must_change_password = must_change
    user.updated_at = naive_utc()
    session.add(user)
    _revoke_all_tokens(session, user.id)
    return user


def require_password_change(*, session: Session, user_id: str, required: bool = True) -> StaffUser:
    """Set (or clear) "a new password at the next sign-in".  While it is set, the user's
    sessions and tokens reach nothing but the change of their own password."""
    user = _user(session, user_id)
    user.must_change_password = required
    user.updated_at = naive_utc()
    session.add(user)
    return user


def wrong_password() -> Refusal:
    """The answer to a wrong current password when changing one's own password or PIN."""
    return Refusal("wrong_password", "当前密码不正确", "the current password is wrong")


def _password_confirmed(session: Session, user: StaffUser, password: str, *, address: str, max_failures: int,
                        window_minutes: int) -> bool:
    """Check a signed-in user's current password under the sign-in throttle, and record
    the attempt (a failure must be committed before refusing)."""
    _refuse_when_throttled(session, user.username, address, max_failures=max_failures, window_minutes=window_minutes)
    ok = check_secret(user.password_hash, password or "")
    record_attempt(session=session, kind="password", username=user.username, address=address, succeeded=ok)
    return ok


def change_own_password(*, session: Session, user_id: str, old_password: str, new_password: str, address: str,
                        max_failures: int, window_minutes: int, keep: str | None = None) -> int | None:
    """A member of staff sets their own password.

    The new password is checked first (``weak_password``; ``same_password`` when it is the
    current one), then the current password, under the sign-in throttle
    (``too_many_attempts``).  A wrong current password is recorded and None returned:
    commit, then refuse with :func:`wrong_password`.  On success "new password at next
    sign-in" clears and every other session and token of the account ends; ``keep`` (the
    session or token the change was made with) goes on working.  Returns how many ended.
    """
    user = _user(session, user_id)
    if not old_password:
        raise Refusal("password_required", "请输入当前密码", "enter your current password")
    check_password_strength(new_password)
    if new_password == old_password:
        raise Refusal("same_password", "新密码不能与当前密码相同", "the new password must differ from the current one")
    if not _password_confirmed(session, user, old_password, address=address, max_failures=max_failures,
                               window_minutes=window_minutes):
        return None
    user.password_hash = hash_secret(new_password)
    user.must_change_password = False
    user.updated_at = naive_utc()
    session.add(user)
    return _revoke_all_tokens(session, user.id, keep=keep)


def change_own_pin(*, session: Session, user_id: str, password: str, new_pin: str, address: str,
                   max_failures: int, window_minutes: int) -> StaffUser | None:
    """A supervisor (or admin) sets their own void-approval PIN, confirmed with their
    current password (checked as in :func:`change_own_password`: None when wrong, the
    failure recorded).  Refuses ``pin_not_for_role`` for a role that approves no voids and
    ``invalid_pin`` for anything but 4-8 digits."""
    user = _user(session, user_id)
    if user.role not in SUPERVISE:
        raise Refusal("pin_not_for_role", "只有主管和管理员可以设置主管授权码",
                      "only supervisors and admins have a void-approval PIN")
    if not password:
        raise Refusal("password_required", "请输入当前密码", "enter your current password")
    check_pin_shape(new_pin or "")
    if not _password_confirmed(session, user, password, address=address, max_failures=max_failures,
                               window_minutes=window_minutes):
        return None
    user.pin_hash = hash_secret(new_pin)
    user.updated_at = naive_utc()
    session.add(user)
    return user


def set_active(*, session: Session, user_id: str, active: bool) -> StaffUser:
    """Disable (or re-enable) an account: a disabled user cannot sign in and their
    sessions and tokens stop working at the next request."""
    user = _user(session, user_id)
    user.active = active
    user.updated_at = naive_utc()
    session.add(user)
    if not active:
        _revoke_all_tokens(session, user.id)
    return user


def all_users(*, session: Session) -> list[StaffUser]:
    """Every staff account, by role and username."""
    return list(session.exec(select(StaffUser).order_by(StaffUser.role, StaffUser.username)))
