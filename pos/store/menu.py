"""The menu: dishes, prices in fen, the welfare set meal flag and what is available today.

A price change edits only the menu row: each sale line copies the name and unit price it
was sold at, so past sales, receipts and claims never move.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from pos.clock import naive_utc
from pos.models import MenuItem
from pos.refusal import Refusal
from pos.store.dish_labels import check_energy, parse_labels, stored_labels
from pos.tx import Tx

MAX_PRICE_FEN = 100_000  # ¥1,000 for one dish is a typo, not a price
EDITABLE = ("name", "name_en", "category", "price_fen", "welfare_meal", "available", "sort_order", "labels",
            "energy_kcal")


@dataclass(frozen=True)
class MenuEntry:
    """A dish as the till offers it, with the cook's labels (in the list's order) and energy."""

    id: str
    name: str
    name_en: str
    price_fen: int
    category: str
    welfare_meal: bool
    labels: tuple[str, ...]
    energy_kcal: int | None


def for_till(tx: Tx, *, canteen_id: str) -> list[MenuEntry]:
    """The canteen's available dishes in menu order (categories in the order of their first dish)."""
    rows = tx.all("SELECT id, name, name_en, price_fen, category, welfare_meal, labels, energy_kcal FROM menu_items "
                  "WHERE canteen_id = :c AND available = :yes ORDER BY sort_order, name", {"c": canteen_id, "yes": True})
    return [MenuEntry(id=item_id, name=name, name_en=name_en, price_fen=price_fen, category=category,
                      welfare_meal=bool(welfare_meal), labels=parse_labels(labels), energy_kcal=energy_kcal)
            for item_id, name, name_en, price_fen, category, welfare_meal, labels, energy_kcal in rows]


def items(*, session: Session, canteen_id: str, available_only: bool = False) -> list[MenuItem]:
    """The canteen's menu, by category and sort order."""
    q = select(MenuItem).where(MenuItem.canteen_id == canteen_id)
    if available_only:
        q = q.where(MenuItem.available == True)  # noqa: E712
    return list(session.exec(q.order_by(MenuItem.category, MenuItem.sort_order, MenuItem.name)))


def _check(field: str, value):
    if field in ("name", "category"):
        text = (value or "").strip() if isinstance(value, str) else ""
        if not text or len(text) > 60:
            zh = "菜名" if field == "name" else "分类"
            raise Refusal(f"invalid_{field}", f"请填写{zh}（60 字以内）", f"{field} is required (at most 60 characters)")
        return text
    if field == "name_en":
        text = (value or "").strip() if isinstance(value, str) else ""
        if len(text) > 80:
            raise Refusal("invalid_name_en", "英文名请在 80 字以内", "name_en: at most 80 characters")
        return text
    if field == "price_fen":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PRICE_FEN:
            raise Refusal("invalid_price", f"价格须在 ¥0.00–¥{MAX_PRICE_FEN // 100:,}.00 之间（以分计的整数）",
                          f"price_fen must be whole fen from 0 to {MAX_PRICE_FEN}")
        return value
    if field in ("welfare_meal", "available"):
        if not isinstance(value, bool):
            raise Refusal(f"invalid_{field}", "须为是或否", f"{field} must be true or false")
        return value
    if field == "sort_order":
        if isinstance(value, bool) or not isinstance(value, int) or not -10_000 <= value <= 10_000:
            raise Refusal("invalid_sort_order", "排序须为整数", "sort_order must be a whole number")
        return value
    if field == "labels":  # a list of codes in, the stored space-separated text out
        return stored_labels(value)
    if field == "energy_kcal":
        return check_energy(value)
    raise Refusal("unknown_field", "不能修改这个字段", f"unknown field {field!r}")


def create_item(*, session: Session, canteen_id: str, name: str, category: str, price_fen: int,
                welfare_meal: bool = False, available: bool = True, name_en: str = "",
                sort_order: int | None = None, labels: tuple[str, ...] | str = (),
                energy_kcal: int | None = None) -> MenuItem:
    """Add a dish to the canteen's menu (at the end of its category unless ``sort_order`` is given)."""
    name, category = _check("name", name), _check("category", category)
    price_fen, welfare_meal = _check("price_fen", price_fen), _check("welfare_meal", welfare_meal)
    available, name_en = _check("available", available), _check("name_en", name_en)
    if session.exec(select(MenuItem.id).where(MenuItem.canteen_id == canteen_id, MenuItem.name == name)).first():
        raise Refusal("item_exists", "菜单里已有同名菜品", f"the menu already has an item named {name!r}")
    if sort_order is None:
        sort_order = len(items(session=session, canteen_id=canteen_id))
    now = naive_utc()
    item = MenuItem(canteen_id=canteen_id, name=name, name_en=name_en, category=category, price_fen=price_fen,
                    welfare_meal=welfare_meal, available=available, sort_order=_check("sort_order", sort_order),
                    labels=_check("labels", labels), energy_kcal=_check("energy_kcal", energy_kcal),
                    created_at=now, updated_at=now)
    session.add(item)
    session.flush()
    return item


def get_item(*, session: Session, item_id: str, canteen_id: str | None = None) -> MenuItem:
    """The dish, or a refusal (``item_not_found``), also for a dish of another canteen."""
    item = session.get(MenuItem, item_id)
    if item is None or (canteen_id is not None and item.canteen_id != canteen_id):
        raise Refusal("item_not_found", "没有这个菜品", "no such menu item")
    return item


def update_item(*, session: Session, item_id: str, changes: dict, canteen_id: str | None = None) -> tuple[MenuItem, dict]:
    """Change a dish; returns it and ``{field: [old, new]}`` for what changed.

    Past sales keep the name and price they were sold at (sale lines copy them)."""
    item = get_item(session=session, item_id=item_id, canteen_id=canteen_id)
    changed: dict = {}
    for field, value in changes.items():
        if field not in EDITABLE:
            raise Refusal("unknown_field", "不能修改这个字段", f"unknown field {field!r}")
        value = _check(field, value)
        if field == "name" and value != item.name and session.exec(select(MenuItem.id).where(
                MenuItem.canteen_id == item.canteen_id, MenuItem.name == value, MenuItem.id != item.id)).first():
            raise Refusal("item_exists", "菜单里已有同名菜品", f"the menu already has an item named {value!r}")
        if getattr(item, field) != value:
            changed[field] = [getattr(item, field), value]
            setattr(item, field, value)
    if changed:
        item.updated_at = naive_utc()
        session.add(item)
        session.flush()
    return item, changed
