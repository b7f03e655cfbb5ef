"""What the back office's pages share: the blueprint, the user's canteen and community,
the business date, form parsing and one-line confirmations."""
from __future__ import annotations

from datetime import date, timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, request
from flask_login import current_user

from pos.clock import business_date
from pos.config import CanteenConfig
from pos.store.audit import audit
from pos.refusal import Refusal
from pos.web.i18n import current_language, gettext as _, named
from pos.web.signin import canteen_named, client_address, scope, settings, user_canteen, visible_canteens  # noqa: F401
from subsidies.money import MoneyError, parse_yuan, yuan
from subsidies.vocabulary import WORKER_CATEGORY_NAMES

bp = Blueprint("backoffice", __name__, url_prefix="/backoffice")


def diner_scope() -> str | None:
    """The community whose diners the user may see: None for a district-wide admin."""
    return scope().diner_community(settings().default_canteen.community)


def chosen_canteen() -> CanteenConfig:
    """The canteen a page works on: ``?canteen=`` (checked against the user's scope) or the user's own."""
    return canteen_named(request.values.get("canteen"))


def today(canteen: CanteenConfig | None = None) -> date:
    return business_date((canteen or settings().default_canteen).timezone)


def message(e: Refusal) -> str:
    return e.message(current_language())


def done(zh: str, **params) -> None:
    """A one-line confirmation on the next page."""
    flash(_(zh, **params), "notice")


def form_text(name: str, default: str = "") -> str:
    return (request.form.get(name) or default).strip()


def form_yuan(name: str, label_zh: str, label_en: str) -> int:
    """A yuan amount typed in a form, as fen; a clear refusal when it is not one."""
    text = form_text(name)
    try:
        fen = parse_yuan(text)
    except MoneyError:
        raise Refusal(f"invalid_{name}", f"{label_zh}须为金额（元，最多两位小数），例如 12.50",
                      f"{label_en} must be an amount in yuan with at most two decimals, e.g. 12.50") from None
    if fen < 0:
        raise Refusal(f"invalid_{name}", f"{label_zh}不能为负数", f"{label_en} cannot be negative")
    return fen


def audit_here(session, action: str, *, target: str = "", detail: dict | None = None, canteen_id: str | None = None):
    audit(tx=session, action=action, actor=current_user, canteen_id=canteen_id or current_user.canteen_id,
          target=target, detail=detail, address=client_address())


def worker_label(category: str | None) -> str:
    return named(WORKER_CATEGORY_NAMES, category)


@bp.app_template_filter("yuan")
def _yuan_filter(fen: int) -> str:
    return yuan(fen)


@bp.app_template_filter("local_minute")
def _local_minute(moment) -> str:
    """A stored naive-UTC time as the canteen's local time, to the minute."""
    tz = ZoneInfo(settings().default_canteen.timezone)
    return moment.replace(tzinfo=timezone.utc).astimezone(tz).strftime("%Y-%m-%d %H:%M")


@bp.app_context_processor
def _backoffice_globals():
    return {"worker_label": worker_label}
