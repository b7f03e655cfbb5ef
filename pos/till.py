"""The touch till: server-rendered pages for a 10-inch landscape tablet.

The page carries the menu and the words the script needs; pos/static/till.js does the
rest through the JSON API (/api/v1), with the login session and the CSRF token.
"""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, render_template
from flask_login import current_user

from pos.auth import db, require_canteen, user_canteen
from pos.clock import now_utc
from pos.errors import ApiError
from pos.i18n import current_language
from pos.store import sales as sales_store
from pos.store import shifts as shift_store
from subsidies.money import yuan

bp = Blueprint("till", __name__, url_prefix="/till")


@bp.route("")
def index():
    """The sale screen: menu grid, cart, scan field, benefit banner, pay and receipt."""
    settings = current_app.config["CANTEEN"]
    canteen = settings.canteen(user_canteen())
    with db().session() as s:
        items = sales_store.menu(session=s, canteen_id=canteen.code)
        quota = sales_store.quota_today(session=s, settings=settings, canteen_id=canteen.code, instant=now_utc())
        shift = shift_store.current_shift(session=s, cashier_id=current_user.id, canteen_id=canteen.code)
    english = current_language() == "en"
    categories: dict[str, list[dict]] = {}
    for item in items:
        item["label"] = (item["name_en"] or item["name"]) if english else item["name"]
        item["price"] = yuan(item["price_fen"])
        categories.setdefault(item["category"], []).append(item)
    return render_template("till/index.html", canteen=canteen, categories=categories, quota=quota,
                           shift=shift_store.shift_dict(shift) if shift else None)


@bp.route("/receipt/<sale_id>")
def receipt(sale_id: str):
    """A printable receipt (58/80 mm).  Shows the subsidy amount only, never who the diner is."""
    settings = current_app.config["CANTEEN"]
    with db().session() as s:
        sale = sales_store.get_sale(session=s, sale_id=sale_id)
    if sale is None:
        raise ApiError(404, "unknown_sale", "没有这笔销售", "no such sale")
    require_canteen(sale["canteen"])
    return render_template("till/receipt.html", sale=sale, canteen=settings.canteen(sale["canteen"]), yuan=yuan)


def register(app: Flask) -> None:
    app.register_blueprint(bp)
