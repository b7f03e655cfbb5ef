"""One shape of a sale: :class:`SaleView`, as recorded.

The answer to a new sale, a sale looked up again and the day's list of sales are all
built here, from the rows the store wrote, by :func:`sale_view` — so they cannot
disagree.  The web layer turns a SaleView into JSON; nothing here knows it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Mapping, Sequence

from pos.tx import Tx


@dataclass(frozen=True)
class SaleLineView:
    """A line as sold: the name and unit price it was sold at, and what the subsidy took off it."""

    line_no: int
    item_id: str
    name: str
    name_en: str
    unit_price_fen: int
    qty: int
    line_total_fen: int
    welfare_meal: bool
    subsidy_fen: int


@dataclass(frozen=True)
class SubsidyView:
    """The subsidy of a sale: the benefit granted (``kind`` None when none was) and the
    decision's code and reason — why this benefit, or why none.  The reason names the
    benefit, never the diner's worker category (no overt identification)."""

    kind: str | None
    amount_fen: int
    rule: str | None
    policy_version: str | None
    code: str | None
    reason_zh: str | None
    reason_en: str | None
    voided: bool = False


@dataclass(frozen=True)
class VoidView:
    """The void of a sale: when, why, who asked and who approved, and what it gave back."""

    id: str
    voided_at: datetime
    reason: str
    requested_by: str
    approved_by: str
    refund_fen: int
    reversed_subsidy_fen: int


@dataclass(frozen=True)
class SaleView:
    """A recorded sale with its lines, subsidy and void (money in fen, times naive UTC)."""

    id: str
    receipt_no: int
    canteen: str
    business_date: date
    sold_at: datetime
    status: str
    credential_kind: str
    cashier_id: str
    shift_id: str
    gross_fen: int
    subsidy_fen: int
    due_fen: int
    tender_method: str
    tendered_fen: int
    change_fen: int
    tender_reference: str
    subsidy: SubsidyView
    lines: tuple[SaleLineView, ...]
    void: VoidView | None


Row = Mapping[str, Any]


def _when(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def sale_view(sale: Row, lines: Sequence[Row], grant: Row | None, decision: Row | None, void: Row | None,
              names_en: Mapping[str, str]) -> SaleView:
    """The one way a sale becomes a :class:`SaleView`: from its rows (``sales``,
    ``sale_lines``, ``subsidy_grants``, ``sale_decisions``, ``voids``) and the dishes'
    English names.  A subsidised sale's grant is its decision (the benefit is the code); a
    sale without a grant has a decision row saying why, unless it was recorded before
    those were kept (schema version 1)."""
    if grant is not None:
        subsidy = SubsidyView(kind=grant["kind"], amount_fen=grant["amount_fen"], rule=grant["rule_id"],
                              policy_version=grant["policy_version"], code=grant["kind"], reason_zh=grant["reason_zh"],
                              reason_en=grant["reason_en"], voided=bool(grant["voided"]))
    elif decision is not None:
        subsidy = SubsidyView(kind=None, amount_fen=0, rule=None, policy_version=decision["policy_version"],
                              code=decision["code"], reason_zh=decision["reason_zh"], reason_en=decision["reason_en"])
    else:
        subsidy = SubsidyView(kind=None, amount_fen=0, rule=None, policy_version=None, code=None, reason_zh=None,
                              reason_en=None)
    free_line = grant["line_no"] if grant is not None and grant["kind"] == "free_meal" else None
    line_views = tuple(SaleLineView(
        line_no=ln["line_no"], item_id=ln["item_id"], name=ln["name"], name_en=names_en.get(ln["item_id"], ""),
        unit_price_fen=ln["unit_price_fen"], qty=ln["qty"], line_total_fen=ln["line_total_fen"],
        welfare_meal=bool(ln["welfare_meal"]), subsidy_fen=grant["amount_fen"] if ln["line_no"] == free_line else 0)
        for ln in sorted(lines, key=lambda ln: ln["line_no"]))
    void_view = None if void is None else VoidView(
        id=void["id"], voided_at=_when(void["voided_at"]), reason=void["reason"], requested_by=void["requested_by"],
        approved_by=void["approved_by"], refund_fen=void["refund_fen"], reversed_subsidy_fen=void["reversed_subsidy_fen"])
    business_date = sale["business_date"]
    return SaleView(
        id=sale["id"], receipt_no=sale["receipt_no"], canteen=sale["canteen_id"],
        business_date=date.fromisoformat(business_date) if isinstance(business_date, str) else business_date,
        sold_at=_when(sale["sold_at"]), status=sale["status"], credential_kind=sale["credential_kind"],
        cashier_id=sale["cashier_id"], shift_id=sale["shift_id"], gross_fen=sale["gross_fen"],
        subsidy_fen=sale["subsidy_fen"], due_fen=sale["due_fen"], tender_method=sale["tender_method"],
        tendered_fen=sale["tendered_fen"], change_fen=sale["change_fen"], tender_reference=sale["tender_reference"],
        subsidy=subsidy, lines=line_views, void=void_view)


def _dicts(tx: Tx, sql: str, params: dict) -> list[dict]:
    cursor = tx.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _marks(ids: Sequence[str]) -> tuple[str, dict]:
    return ", ".join(f":s{i}" for i in range(len(ids))), {f"s{i}": v for i, v in enumerate(ids)}


def _views(tx: Tx, sales: list[dict]) -> list[SaleView]:
    """Views of ``sales`` (rows of ``sales``), with their other rows read in one statement per table."""
    if not sales:
        return []
    marks, params = _marks([s["id"] for s in sales])
    lines: dict[str, list[dict]] = {}
    for row in _dicts(tx, f"SELECT * FROM sale_lines WHERE sale_id IN ({marks})", params):
        lines.setdefault(row["sale_id"], []).append(row)
    grants = {r["sale_id"]: r for r in _dicts(tx, f"SELECT * FROM subsidy_grants WHERE sale_id IN ({marks})", params)}
    decisions = {r["sale_id"]: r for r in _dicts(tx, f"SELECT * FROM sale_decisions WHERE sale_id IN ({marks})",
                                                 params)}
    voids = {r["sale_id"]: r for r in _dicts(tx, f"SELECT * FROM voids WHERE sale_id IN ({marks})", params)}
    item_ids = sorted({ln["item_id"] for rows in lines.values() for ln in rows})
    item_marks, item_params = _marks(item_ids)
    names_en = dict(tx.all(f"SELECT id, name_en FROM menu_items WHERE id IN ({item_marks})", item_params)) \
        if item_ids else {}
    return [sale_view(s, lines.get(s["id"], []), grants.get(s["id"]), decisions.get(s["id"]), voids.get(s["id"]),
                      names_en) for s in sales]


def get_sale(tx: Tx, *, sale_id: str) -> SaleView | None:
    """The sale with its lines, subsidy and void; None if unknown."""
    found = _dicts(tx, "SELECT * FROM sales WHERE id = :i", {"i": sale_id})
    return _views(tx, found)[0] if found else None


def sales_of_day(tx: Tx, *, canteen_id: str, business_date: date, limit: int = 20) -> list[SaleView]:
    """The canteen's sales of one business date, newest first."""
    return _views(tx, _dicts(tx, "SELECT * FROM sales WHERE canteen_id = :c AND business_date = :d "
                                 "ORDER BY receipt_no DESC LIMIT :n", {"c": canteen_id, "d": business_date, "n": limit}))


def sale_canteen(tx: Tx, *, sale_id: str) -> str | None:
    """The canteen a sale belongs to (never changes), or None for an unknown sale."""
    return tx.scalar("SELECT canteen_id FROM sales WHERE id = :i", {"i": sale_id})
