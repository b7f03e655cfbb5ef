"""The till's answers as pydantic models: each made from the store's domain objects by one
function here, and declared in the OpenAPI document by the routes that give them.

Money is integer fen; times are ISO 8601 UTC with a ``Z``; dates are ``YYYY-MM-DD``.
One shape of a sale (:class:`SaleOut`) answers a new sale, a sale looked up and the day's
list of sales alike.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from pydantic import BaseModel, ConfigDict

from pos.store.credentials import Credential
from pos.store.menu import MenuEntry
from pos.store.pricing import FreeMeals, PricedLine, Quote
from pos.store.sale_views import SaleView, SubsidyView
from pos.store.shifts import ShiftState
from pos.web.api.schemas import EnergyOut, LabelsOut
from subsidies.engine import Decision


class Out(BaseModel):
    """An answer: every field declared, none left out."""

    model_config = ConfigDict(extra="forbid")


def _utc(moment: datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment is not None else None


# -- the menu and today's free meals ------------------------------------------------------------

class DishOut(Out):
    id: str
    name: str
    name_en: str
    price_fen: int
    category: str
    welfare_meal: bool
    labels: LabelsOut
    energy_kcal: EnergyOut


class MenuOut(Out):
    canteen: str
    items: list[DishOut]


def menu_out(canteen: str, dishes: list[MenuEntry]) -> MenuOut:
    return MenuOut(canteen=canteen, items=[DishOut(id=d.id, name=d.name, name_en=d.name_en, price_fen=d.price_fen,
                                                   category=d.category, welfare_meal=d.welfare_meal,
                                                   labels=list(d.labels), energy_kcal=d.energy_kcal) for d in dishes])


class FreeMealsOut(Out):
    cap: int
    used: int
    left: int


def free_meals_out(free: FreeMeals) -> FreeMealsOut:
    return FreeMealsOut(cap=free.cap, used=free.used, left=free.left)


class QuotaOut(Out):
    canteen: str
    business_date: str
    free_meals: FreeMealsOut


# -- quotes and credentials -----------------------------------------------------------------------

class SubsidyOut(Out):
    """The benefit granted (``kind`` null when none) and the decision's code and reason:
    why this benefit, or why none.  The reason never names the diner's worker category."""

    kind: Optional[str]
    amount_fen: int
    rule: Optional[str]
    policy_version: Optional[str]
    code: Optional[str]
    reason: Optional[str]
    reason_en: Optional[str]
    voided: bool = False


def decision_out(d: Decision) -> SubsidyOut:
    granted = d.granted
    return SubsidyOut(kind=d.kind if granted else None, amount_fen=d.amount_fen if granted else 0,
                      rule=d.rule_id if granted else None, policy_version=d.policy_version, code=d.code,
                      reason=d.reason_zh, reason_en=d.reason_en)


class LineOut(Out):
    line_no: int
    item_id: str
    name: str
    name_en: str
    unit_price_fen: int
    qty: int
    line_total_fen: int
    welfare_meal: bool
    subsidy_fen: int


class CredentialOut(Out):
    """Who the till is serving, as the cashier may see it: never the ID number, the
    pseudonym or the date of birth."""

    kind: str
    diner_kind: str
    diner_id: Optional[str]
    ticket_id: Optional[str]
    voucher_id: Optional[str]
    masked_name: str
    band_zh: str
    band_en: str
    suspended: bool
    resident: bool
    worker_category: Optional[str]
    worker_verified: bool
    ticket_date: Optional[str]


def credential_out(c: Credential) -> CredentialOut:
    f = c.facts
    return CredentialOut(kind=c.kind, diner_kind=f.kind, diner_id=c.diner_id, ticket_id=c.ticket_id,
                         voucher_id=c.voucher_id, masked_name=c.masked_name, band_zh=c.band_zh, band_en=c.band_en,
                         suspended=f.suspended, resident=f.resident, worker_category=f.worker_category,
                         worker_verified=f.worker_verified,
                         ticket_date=f.ticket_date.isoformat() if f.ticket_date else None)


class QuoteOut(Out):
    canteen: str
    business_date: str
    gross_fen: int
    subsidy_fen: int
    due_fen: int
    subsidy: SubsidyOut
    lines: list[LineOut]
    credential: Optional[CredentialOut]
    free_meals: FreeMealsOut


def _priced_line_out(q: Quote, line: PricedLine) -> LineOut:
    return LineOut(line_no=line.line_no, item_id=line.item_id, name=line.name, name_en=line.name_en,
                   unit_price_fen=line.unit_price_fen, qty=line.qty, line_total_fen=line.line_total_fen,
                   welfare_meal=line.welfare_meal, subsidy_fen=q.line_subsidy(line))


def quote_out(q: Quote) -> QuoteOut:
    return QuoteOut(canteen=q.canteen_id, business_date=q.moment.business_date.isoformat(), gross_fen=q.gross_fen,
                    subsidy_fen=q.subsidy_fen, due_fen=q.due_fen, subsidy=decision_out(q.decision),
                    lines=[_priced_line_out(q, line) for line in q.lines],
                    credential=credential_out(q.credential) if q.credential is not None else None,
                    free_meals=free_meals_out(q.free_meals))


class LookupOut(Out):
    credential: Optional[CredentialOut]
    benefit: SubsidyOut
    quote: QuoteOut


# -- sales --------------------------------------------------------------------------------------

class TenderOut(Out):
    method: str
    tendered_fen: int
    change_fen: int
    reference: str


class VoidOut(Out):
    id: str
    voided_at: str
    reason: str
    requested_by: str
    approved_by: str
    refund_fen: int
    reversed_subsidy_fen: int


class SaleOut(Out):
    """A recorded sale: the answer to POST /sales, GET /sales/{id} and each entry of GET /sales."""

    id: str
    receipt_no: int
    canteen: str
    business_date: str
    sold_at: str
    status: str
    credential_kind: str
    cashier_id: str
    shift_id: str
    gross_fen: int
    subsidy_fen: int
    due_fen: int
    tender: TenderOut
    tendered_fen: int
    change_fen: int
    subsidy: SubsidyOut
    lines: list[LineOut]
    void: Optional[VoidOut]


class SalesOut(Out):
    canteen: str
    business_date: str
    sales: list[SaleOut]


def _subsidy_out(s: SubsidyView) -> SubsidyOut:
    return SubsidyOut(kind=s.kind, amount_fen=s.amount_fen, rule=s.rule, policy_version=s.policy_version,
                      code=s.code, reason=s.reason_zh, reason_en=s.reason_en, voided=s.voided)


def sale_out(s: SaleView) -> SaleOut:
    v = s.void
    return SaleOut(
        id=s.id, receipt_no=s.receipt_no, canteen=s.canteen, business_date=s.business_date.isoformat(),
        sold_at=_utc(s.sold_at), status=s.status, credential_kind=s.credential_kind, cashier_id=s.cashier_id,
        shift_id=s.shift_id, gross_fen=s.gross_fen, subsidy_fen=s.subsidy_fen, due_fen=s.due_fen,
        tender=TenderOut(method=s.tender_method, tendered_fen=s.tendered_fen, change_fen=s.change_fen,
                         reference=s.tender_reference),
        tendered_fen=s.tendered_fen, change_fen=s.change_fen, subsidy=_subsidy_out(s.subsidy),
        lines=[LineOut(line_no=ln.line_no, item_id=ln.item_id, name=ln.name, name_en=ln.name_en,
                       unit_price_fen=ln.unit_price_fen, qty=ln.qty, line_total_fen=ln.line_total_fen,
                       welfare_meal=ln.welfare_meal, subsidy_fen=ln.subsidy_fen) for ln in s.lines],
        void=None if v is None else VoidOut(id=v.id, voided_at=_utc(v.voided_at), reason=v.reason,
                                            requested_by=v.requested_by, approved_by=v.approved_by,
                                            refund_fen=v.refund_fen, reversed_subsidy_fen=v.reversed_subsidy_fen))


# -- shifts -------------------------------------------------------------------------------------

class CashCountOut(Out):
    opening_float_fen: int
    cash_taken_fen: int
    change_given_fen: int
    cash_refunds_fen: int
    cash_sales: int
    sales: int
    expected_cash_fen: int


class ShiftOut(Out):
    id: str
    canteen: str
    cashier_id: str
    business_date: str
    opened_at: str
    opening_float_fen: int
    closed_at: Optional[str]
    counted_cash_fen: Optional[int]
    expected_cash_fen: Optional[int]
    difference_fen: Optional[int]
    status: str
    summary: Optional[CashCountOut] = None


class CurrentShiftOut(Out):
    shift: Optional[ShiftOut]


def shift_out(state: ShiftState) -> ShiftOut:
    s, cash = state, state.cash
    return ShiftOut(id=s.id, canteen=s.canteen_id, cashier_id=s.cashier_id, business_date=s.business_date.isoformat(),
                    opened_at=_utc(s.opened_at), opening_float_fen=s.opening_float_fen, closed_at=_utc(s.closed_at),
                    counted_cash_fen=s.counted_cash_fen, expected_cash_fen=s.expected_cash_fen,
                    difference_fen=state.difference_fen, status="closed" if s.closed_at else "open",
                    summary=CashCountOut(**vars(cash)) if cash is not None else None)


#: The domain data that refusals carry, as it appears in an error answer (by its type).
REFUSAL_EXTRAS = {
    Quote: lambda q: quote_out(q).model_dump(),
    ShiftState: lambda s: shift_out(s).model_dump(),
}
