"""The back office: community staff register diners and issue vouchers and tickets;
admins keep the menu and the staff accounts; every staff member can read the policy in
force and today's free meals left.

Pages are server-rendered forms (CSRF-protected); each write is one store call in one
transaction with an audit entry.  A registrar tied to a community sees and changes only
that community's diners.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Flask, current_app, flash, render_template, request
from flask_login import current_user

from pos.auth import client_address, db, require_canteen, user_canteen
from pos.clock import business_date
from pos.config import CanteenConfig, Settings
from pos.errors import ApiError
from pos.i18n import current_language, gettext as _
from pos.models import FreeMealCounter
from subsidies.money import parse_yuan, yuan
from subsidies.policy import WORKER_CATEGORY_NAMES, PolicyError

bp = Blueprint("backoffice", __name__, url_prefix="/backoffice")


def settings() -> Settings:
    return current_app.config["CANTEEN"]


def scope() -> str | None:
    """The community whose diners the user may see: None for a district-wide admin."""
    if current_user.role == "admin" and current_user.canteen_id is None:
        return None
    return current_user.community or settings().default_canteen.community


def chosen_canteen() -> CanteenConfig:
    """The canteen a page works on: ``?canteen=`` (checked against the user's scope) or the user's own."""
    code = request.values.get("canteen") or user_canteen()
    try:
        canteen = settings().canteen(code)
    except KeyError:
        raise ApiError(404, "unknown_canteen", "没有这个食堂", "unknown canteen") from None
    require_canteen(canteen.code)
    return canteen


def visible_canteens() -> list[CanteenConfig]:
    out = []
    for c in settings().canteens:
        try:
            require_canteen(c.code)
        except ApiError:
            continue
        out.append(c)
    return out


def today(canteen: CanteenConfig | None = None) -> date:
    return business_date((canteen or settings().default_canteen).timezone)


def message(e: ApiError) -> str:
    return e.zh if current_language() == "zh" else e.en


def done(zh: str, **params) -> None:
    """A one-line confirmation on the next page."""
    flash(_(zh, **params), "notice")


def form_text(name: str, default: str = "") -> str:
    return (request.form.get(name) or default).strip()


def form_yuan(name: str, label_zh: str, label_en: str) -> int:
    """A yuan amount typed in a form, as fen; a clear 422 when it is not one."""
    from subsidies.money import MoneyError

    text = form_text(name)
    try:
        fen = parse_yuan(text)
    except MoneyError:
        raise ApiError(422, f"invalid_{name}", f"{label_zh}须为金额（元，最多两位小数），例如 12.50",
                       f"{label_en} must be an amount in yuan with at most two decimals, e.g. 12.50") from None
    if fen < 0:
        raise ApiError(422, f"invalid_{name}", f"{label_zh}不能为负数", f"{label_en} cannot be negative")
    return fen


def free_meals_today(session, canteen: CanteenConfig) -> dict:
    """Today's free welfare meals at the canteen: cap, used, left (cap from the policy
    until the first free meal creates the day's counter row)."""
    day = today(canteen)
    row = session.get(FreeMealCounter, (canteen.code, day))
    if row is not None:
        cap, used = row.cap, row.used
    else:
        try:
            cap = settings().policy.in_force(day).free_meals_per_day
        except PolicyError:
            cap = 0
        used = 0
    return {"canteen": canteen.code, "business_date": day, "cap": cap, "used": used, "left": max(cap - used, 0)}


def audit_here(session, action: str, *, target: str = "", detail: dict | None = None, canteen_id: str | None = None):
    from pos.models import StaffUser
    from pos.store.audit import audit

    actor = session.get(StaffUser, current_user.id)
    audit(session=session, action=action, actor=actor, canteen_id=canteen_id or current_user.canteen_id,
          target=target, detail=detail, address=client_address())


def worker_label(category: str | None) -> str:
    if not category:
        return ""
    zh, en = WORKER_CATEGORY_NAMES.get(category, (category, category))
    return zh if current_language() == "zh" else en


@bp.app_template_filter("yuan")
def _yuan_filter(fen: int) -> str:
    return yuan(fen)


@bp.app_template_filter("local_minute")
def _local_minute(moment) -> str:
    """A stored naive-UTC time as the canteen's local time, to the minute."""
    from datetime import timezone
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(settings().default_canteen.timezone)
    return moment.replace(tzinfo=timezone.utc).astimezone(tz).strftime("%Y-%m-%d %H:%M")


@bp.app_context_processor
def _backoffice_globals():
    return {"worker_label": worker_label}


@bp.route("/")
def index():
    """Everyone on the staff: the policy in force and today's free meals left."""
    canteen = chosen_canteen()
    day = today(canteen)
    try:
        policy = settings().policy.in_force(day)
    except PolicyError:
        policy = None
    with db().session() as s:
        meals = free_meals_today(s, canteen)
    return render_template("backoffice/index.html", canteen=canteen, canteens=visible_canteens(), policy=policy,
                           versions=settings().policy.versions, meals=meals, day=day,
                           categories=WORKER_CATEGORY_NAMES)


def register(app: Flask) -> None:
    from pos.backoffice import admin, diners, printing  # noqa: F401  (routes on bp)

    app.register_blueprint(bp)
