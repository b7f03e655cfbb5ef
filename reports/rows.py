"""The daily reconciliation's data: plain frozen dataclasses, money in integer fen.

:mod:`reports.queries` fills them from the database; the renderers only read them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class CanteenInfo:
    """A canteen as the reports name it."""

    code: str
    name: str
    community: str
    timezone: str


@dataclass(frozen=True)
class KindTotal:
    """Live subsidy grants of one benefit kind: how many and how much (fen)."""

    kind: str
    count: int
    amount_fen: int


@dataclass(frozen=True)
class TenderTotal:
    """Completed sales paid one way: count, amount due (fen), cash handed over and change."""

    method: str
    count: int
    due_fen: int
    tendered_fen: int
    change_fen: int


@dataclass(frozen=True)
class DaySummary:
    """A business date's sales.  ``gross/subsidy/due`` count completed sales only; voided
    sales are counted apart and claim nothing."""

    sales: int
    gross_fen: int
    subsidy_fen: int
    due_fen: int
    voided_sales: int
    voided_gross_fen: int
    by_kind: tuple[KindTotal, ...]
    by_tender: tuple[TenderTotal, ...]

    @property
    def granted_fen(self) -> int:
        """Σ of the live grants (equals ``subsidy_fen`` when the books agree)."""
        return sum(k.amount_fen for k in self.by_kind)


@dataclass(frozen=True)
class FreeMeals:
    """The free welfare meal counter of the day: ``used`` of ``cap``, and the live
    free-meal grants (which should equal ``used``)."""

    cap: int
    used: int
    granted: int


@dataclass(frozen=True)
class ShiftCash:
    """One shift's drawer: opening float + cash taken − change − voided cash = expected,
    against the cash counted at handover (None while the shift is open)."""

    shift_id: str
    cashier: str
    opened_at: datetime
    closed_at: datetime | None
    opening_float_fen: int
    cash_taken_fen: int
    change_fen: int
    voided_cash_fen: int
    counted_fen: int | None
    expected_at_close_fen: int | None  # what the till computed when the shift was closed

    @property
    def expected_fen(self) -> int:
        """The cash the drawer should hold, from the recorded sales and voids."""
        return self.opening_float_fen + self.cash_taken_fen - self.change_fen - self.voided_cash_fen

    @property
    def over_short_fen(self) -> int | None:
        """Counted minus expected: positive is over, negative is short; None while open."""
        return None if self.counted_fen is None else self.counted_fen - self.expected_fen


@dataclass(frozen=True)
class VoidLine:
    """A void of the day, with who asked, who approved and what it reversed."""

    voided_at: datetime
    receipt_no: int
    reason: str
    requested_by: str
    approved_by: str
    tender_method: str
    refund_fen: int
    reversed_subsidy_fen: int


@dataclass(frozen=True)
class GrantLine:
    """One subsidy grant as recorded at sale time: pseudonymous diner, masked ID where
    registered, kind, amount, policy version; ``voided`` grants are listed but not claimed."""

    granted_at: datetime
    receipt_no: int
    diner: str
    masked_id: str
    kind: str
    amount_fen: int
    policy_version: str
    voided: bool


@dataclass(frozen=True)
class HourTotal:
    """Completed sales in one local clock hour."""

    hour: int
    sales: int
    gross_fen: int
    subsidy_fen: int


@dataclass(frozen=True)
class CorrectionLine:
    """A correction booked on this date, pointing at a sale of an earlier (closed) date."""

    created_at: datetime
    original_date: date
    original_receipt_no: int
    reason: str
    refund_fen: int
    reversed_subsidy_fen: int


@dataclass(frozen=True)
class ExceptionLine:
    """A serving exception of the day: a subsidy a till gave offline that the server would
    not grant (pos.store.offline_sales) — the diner paid without it, nothing is claimed."""

    sold_at: datetime
    receipt_no: int
    kind: str
    amount_fen: int
    code: str
    reason_zh: str
    reason_en: str
    resolved: bool
    sale_completed: bool


@dataclass(frozen=True)
class Check:
    """One edit check: ``ok`` or not, what was checked and the figures behind it, each in
    Chinese and English.  A zh page or PDF shows only ``label_zh``/``detail_zh`` (figures
    and canteen codes may appear in them, English words may not); ``code`` is for machines."""

    code: str
    ok: bool
    label_zh: str
    label_en: str
    detail_zh: str
    detail_en: str

    def label_in(self, language: str) -> str:
        """What was checked, in ``language`` (``en``; anything else is Chinese)."""
        return self.label_en if language == "en" else self.label_zh

    def detail_in(self, language: str) -> str:
        """The figures behind the check, in ``language`` (``en``; anything else is Chinese)."""
        return self.detail_en if language == "en" else self.detail_zh


@dataclass(frozen=True)
class CloseInfo:
    """The day close: when, by whom, and the ledger position and head at that moment."""

    closed_at: datetime
    closed_by: str
    chain_seq: int
    chain_head: str
    report_sha256: str


@dataclass(frozen=True)
class DailyData:
    """Everything the daily reconciliation shows.  :func:`daily_json` is its canonical
    form; its SHA-256 is printed in the footer and stored by the day close."""

    canteen: CanteenInfo
    business_date: date
    summary: DaySummary
    free_meals: FreeMeals
    shifts: tuple[ShiftCash, ...]
    voids: tuple[VoidLine, ...]
    grants: tuple[GrantLine, ...]
    hours: tuple[HourTotal, ...]
    corrections: tuple[CorrectionLine, ...]
    checks: tuple[Check, ...]
    # Schema 11; a day frozen before it thaws with none.
    exceptions: tuple[ExceptionLine, ...] = ()


@dataclass(frozen=True)
class DailyReport:
    """The daily data with what is known about it: the close (None while the date is
    open), the current ledger head, when it was generated and the data's SHA-256."""

    data: DailyData
    sha256: str
    generated_at: datetime
    close: CloseInfo | None
    chain_seq: int
    chain_head: str
    extra_checks: tuple[Check, ...] = field(default=())

    @property
    def checks(self) -> tuple[Check, ...]:
        """The data's edit checks, each replaced by an extra check of the same code (a
        closed day's check as the books answer it now), then the other extra checks."""
        extra = {c.code: c for c in self.extra_checks}
        return tuple(extra.pop(c.code, c) for c in self.data.checks) + tuple(extra.values())

    @property
    def all_ok(self) -> bool:
        """True when every edit check passes."""
        return all(c.ok for c in self.checks)
