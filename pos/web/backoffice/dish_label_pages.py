"""Dish labels and energy (少盐, 软烂, 含花生…, "约 520 千卡"), which the public page shows.

The supervisor on shift — the cook's boss — sets them for the canteen's dishes on one page,
without the admin's power over names and prices; an admin sets them there too or on the
menu item page, whose form carries the same fields (:func:`label_values`).
"""
from __future__ import annotations

from flask import redirect, render_template, request, url_for

from pos.store import menu as mstore
from pos.store.dish_labels import DISH_LABEL_NAMES, MAX_ENERGY_KCAL, check_energy, parse_labels
from pos.web.backoffice.common import audit_here, bp, canteen_named, chosen_canteen, done, form_text, visible_canteens
from pos.web.signin import db


def label_values() -> dict:
    """The labels ticked and the energy typed in a menu form, checked: ``labels`` (codes,
    refused by the store when unknown) and ``energy_kcal`` (whole kcal, or None when blank)."""
    text = form_text("energy_kcal")
    try:
        energy = int(text) if text else None
    except ValueError:
        energy = text  # not a whole number: check_energy refuses it with the reason
    return {"labels": request.form.getlist("labels"), "energy_kcal": check_energy(energy)}


@bp.app_context_processor
def _label_globals():
    return {"DISH_LABEL_NAMES": DISH_LABEL_NAMES, "parse_labels": parse_labels, "MAX_ENERGY_KCAL": MAX_ENERGY_KCAL}


@bp.route("/menu/labels")
def menu_labels():
    """The canteen's dishes with their labels and energy, one small form each."""
    canteen = chosen_canteen()
    with db().session() as s:
        rows = mstore.items(session=s, canteen_id=canteen.code)
    return render_template("backoffice/dish_labels.html", canteen=canteen, canteens=visible_canteens(), items=rows)


@bp.route("/menu/labels/<item_id>", methods=["POST"])
def menu_labels_save(item_id: str):
    with db().session() as s:
        item = mstore.get_item(session=s, item_id=item_id)
    canteen_named(item.canteen_id)  # a supervisor labels their own canteen's dishes only
    with db().transaction() as s:
        item, changed = mstore.update_item(session=s, item_id=item_id, changes=label_values(),
                                           canteen_id=item.canteen_id)
        if changed:
            audit_here(s, "menu_item_updated", target=item.id, canteen_id=item.canteen_id,
                       detail={"fields": sorted(changed)})
    done("已保存 {name} 的标签和热量", name=item.name)
    return redirect(url_for("backoffice.menu_labels", canteen=item.canteen_id))
