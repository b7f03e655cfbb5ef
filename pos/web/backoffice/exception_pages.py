"""What a supervisor follows up after tills sold offline (/backoffice/exceptions): the
canteen's serving exceptions (subsidies given offline that cannot be claimed) and the
offline sales that arrived after their day was closed, each marked resolved with a note
(:mod:`pos.store.serving_exceptions`)."""
from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_login import current_user

from pos.clock import now_utc
from pos.refusal import Refusal
from pos.store import serving_exceptions
from pos.web.backoffice.common import bp, chosen_canteen, client_address, done, form_text, today, visible_canteens
from pos.web.signin import canteen_named, db
from subsidies.money import yuan
from subsidies.vocabulary import SUBSIDY_KIND_NAMES, name_of

_TABLES = {"exception": "serving_exceptions", "late": "late_offline_sales"}


@bp.route("/exceptions")
def exceptions_page():
    """The chosen canteen's serving exceptions and late offline sales, unresolved ones kept."""
    canteen = chosen_canteen()
    day = today(canteen)
    with db().tx() as tx:
        found = serving_exceptions.exceptions_of(tx, canteen_id=canteen.code, today=day)
        late = serving_exceptions.late_sales_of(tx, canteen_id=canteen.code, today=day)
    return render_template("backoffice/exceptions.html", canteen=canteen, canteens=visible_canteens(),
                           exceptions=found, late=late, yuan=yuan,
                           kind_name=lambda kind, language: name_of(SUBSIDY_KIND_NAMES, kind, language))


@bp.route("/exceptions/<what>/<row_id>/resolve", methods=["POST"])
def exception_resolve(what: str, row_id: str):
    table = _TABLES.get(what)
    if table is None:
        raise Refusal("serving_exception_not_found", "没有这条记录", "no such record")
    with db().tx() as tx:
        canteen = serving_exceptions.canteen_of(tx, table=table, row_id=row_id)
    if canteen is None:
        raise Refusal(f"{table[:-1]}_not_found", "没有这条记录", "no such record")
    canteen_named(canteen)  # the supervisor's own canteen only
    with db().tx(write=True) as tx:
        serving_exceptions.resolve(tx, table=table, row_id=row_id, note=form_text("note"), actor=current_user,
                                   now=now_utc(), address=client_address())
    done("已标记为已处理")
    return redirect(url_for("backoffice.exceptions_page", canteen=canteen))
