"""The menu API: a canteen's dishes with prices in fen, the welfare set meal flag, what is
available today, and what the cook says about each dish — its labels (少盐, 软烂, 含花生…)
and approximate energy, the same the back office sets and the public page shows.

Staff and the district platform read the menu of the canteens in their scope; admins add
and change dishes.  Labels and energy are checked by :mod:`pos.store.dish_labels`, the
same checks as the back-office pages.
"""
from __future__ import annotations

from typing import Optional

from flask import jsonify
from pydantic import BaseModel, Field

from pos.refusal import Refusal
from pos.store import menu as mstore
from pos.store.dish_labels import MAX_ENERGY_KCAL, parse_labels
from pos.web.api.blueprint import ERRORS, api, refusal
from pos.web.api.registry_api import _audit
from pos.web.api.schemas import ENERGY_IN, LABELS_IN, EnergyOut, LabelCodeIn, LabelsOut, Parameters, Strict
from pos.web.signin import canteen_named, db


class MenuItemIn(Strict):
    name: str = Field(min_length=1, max_length=60)
    price_fen: int = Field(ge=0, le=mstore.MAX_PRICE_FEN)
    category: str = Field(min_length=1, max_length=60)
    welfare_meal: bool = False
    available: bool = True
    name_en: str = Field(default="", max_length=80)
    sort_order: Optional[int] = Field(default=None, ge=-10_000, le=10_000)
    labels: list[LabelCodeIn] = Field(default_factory=list, max_length=20, description=LABELS_IN)
    energy_kcal: Optional[int] = Field(default=None, ge=0, le=MAX_ENERGY_KCAL, description=ENERGY_IN)
    canteen: Optional[str] = Field(default=None, max_length=40, description="default: your canteen")


class MenuItemPatch(Strict):
    """The fields to change; those left out stay as they are.  Only ``energy_kcal`` may be
    null (not known); ``labels`` are cleared with an empty list."""

    name: Optional[str] = Field(default=None, min_length=1, max_length=60)
    price_fen: Optional[int] = Field(default=None, ge=0, le=mstore.MAX_PRICE_FEN)
    category: Optional[str] = Field(default=None, min_length=1, max_length=60)
    welfare_meal: Optional[bool] = None
    available: Optional[bool] = None
    name_en: Optional[str] = Field(default=None, max_length=80)
    sort_order: Optional[int] = Field(default=None, ge=-10_000, le=10_000)
    labels: Optional[list[LabelCodeIn]] = Field(default=None, max_length=20, description=LABELS_IN)
    energy_kcal: Optional[int] = Field(default=None, ge=0, le=MAX_ENERGY_KCAL, description=ENERGY_IN)


#: What PATCH may set to null: an energy nobody knows any more.
NULLABLE = frozenset({"energy_kcal"})


class MenuItemOut(BaseModel):
    id: str
    canteen: str
    name: str
    name_en: str
    category: str
    price_fen: int
    welfare_meal: bool
    available: bool
    sort_order: int
    labels: LabelsOut
    energy_kcal: EnergyOut


class MenuItemsOut(BaseModel):
    canteen: str
    items: list[MenuItemOut]


class MenuQuery(Parameters):
    canteen: Optional[str] = Field(default=None, max_length=40, description="default: your canteen")


class ItemPath(BaseModel):
    item_id: str = Field(max_length=40)


#: The 422 of a dish's fields: the one any operation may give, said for the menu.
MENU_REFUSALS = {422: refusal(
    "What was sent cannot be accepted: invalid_request (with `problems`, one line per field: a price, an energy "
    f"outside 0 to {MAX_ENERGY_KCAL} kcal, a null other than energy_kcal, ...) or invalid_labels (a label code "
    "not on the list, named in the message).")}


def _item_out(item) -> dict:
    return {"id": item.id, "canteen": item.canteen_id, "name": item.name, "name_en": item.name_en,
            "category": item.category, "price_fen": item.price_fen, "welfare_meal": item.welfare_meal,
            "available": item.available, "sort_order": item.sort_order, "labels": list(parse_labels(item.labels)),
            "energy_kcal": item.energy_kcal}


@api.get("/menu/items", responses={200: MenuItemsOut, **ERRORS})
def menu_items_list(query: MenuQuery):
    """The canteen's dishes, available today or not, by category and sort order, with their
    labels and energy."""
    canteen = canteen_named(query.canteen).code
    with db().session() as s:
        items = [_item_out(item) for item in mstore.items(session=s, canteen_id=canteen)]
    return jsonify({"canteen": canteen, "items": items})


@api.get("/menu/items/<item_id>", responses={200: MenuItemOut, **ERRORS})
def menu_item_get(path: ItemPath):
    """One dish, with its labels and energy."""
    with db().session() as s:
        item = mstore.get_item(session=s, item_id=path.item_id)
        canteen_named(item.canteen_id)
        out = _item_out(item)
    return jsonify(out)


@api.post("/menu/items", responses={201: MenuItemOut, **ERRORS, **MENU_REFUSALS})
def menu_item_create(body: MenuItemIn):
    """Add a dish (admin).  Prices are integer fen; labels and energy are optional."""
    canteen = canteen_named(body.canteen).code
    values = body.model_dump(exclude={"canteen"})
    with db().transaction() as s:
        item = mstore.create_item(session=s, canteen_id=canteen, **values)
        _audit(s, "menu_item_created", target=item.id, canteen_id=canteen,
               detail={"price_fen": item.price_fen, "welfare_meal": item.welfare_meal})
        out = _item_out(item)
    return jsonify(out), 201


@api.patch("/menu/items/<item_id>", responses={200: MenuItemOut, **ERRORS, **MENU_REFUSALS})
def menu_item_update(path: ItemPath, body: MenuItemPatch):
    """Change a dish (admin).  Past sales keep the name and price they were sold at."""
    changes = body.model_dump(exclude_unset=True)
    if any(v is None for k, v in changes.items() if k not in NULLABLE):
        raise Refusal("invalid_request", "字段不能留空", "fields cannot be null (except energy_kcal)")
    with db().transaction() as s:
        item = mstore.get_item(session=s, item_id=path.item_id)
        canteen_named(item.canteen_id)
        item, changed = mstore.update_item(session=s, item_id=path.item_id, changes=changes)
        if changed:
            _audit(s, "menu_item_updated", target=item.id, canteen_id=item.canteen_id,
                   detail={"fields": sorted(changed),
                           **({"price_fen": changed["price_fen"]} if "price_fen" in changed else {})})
        out = _item_out(item)
    return jsonify(out)
