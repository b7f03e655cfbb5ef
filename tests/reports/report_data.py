"""Test data for the report tests: shifts, sales, grants and voids inserted straight into
the tables (chain columns hold placeholder values: reports never verify the chain).

Sums are kept consistent the way the till keeps them: gross = subsidy + due, a voided
sale has one void row and its grant is flagged voided, the free-meal counter counts the
live free meals.
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select, text, update

from pos.ids import new_id
from pos.models import Canteen, FreeMealCounter, MenuItem, Sale, SaleLine, Shift, StaffUser, SubsidyGrant, Void

TZ = ZoneInfo("Asia/Shanghai")
S, G, V, SH, FM, C = (Sale.__table__, SubsidyGrant.__table__, Void.__table__, Shift.__table__,
                      FreeMealCounter.__table__, Canteen.__table__)
SL, MI = SaleLine.__table__, MenuItem.__table__


def diner_key(n: int) -> str:
    """A stand-in pseudonymous key (64 hex) for diner number n."""
    return hashlib.sha256(f"diner-{n}".encode()).hexdigest()


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    """Naive UTC of a local (Asia/Shanghai) clock time on a business date."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).astimezone(timezone.utc).replace(tzinfo=None)


class Book:
    """Writes one canteen's test sales inside the caller's transaction."""

    def __init__(self, session, canteen_id: str = "YLW01"):
        self.s, self.conn, self.canteen = session, session.connection(), canteen_id
        self.users = dict(self.conn.execute(select(StaffUser.__table__.c.username, StaffUser.__table__.c.id)).all())
        self.seq = self.conn.execute(select(C.c.chain_seq).where(C.c.id == canteen_id)).scalar()
        self.receipt = self.conn.execute(text("SELECT COALESCE(MAX(receipt_no), 0) FROM sales WHERE canteen_id = :c"),
                                         {"c": canteen_id}).scalar()
        # Each sale gets one line of this dish, priced at the sale's gross (menu revenue).
        self.item = self.conn.execute(select(MI.c.id).where(MI.c.canteen_id == canteen_id)
                                      .order_by(MI.c.sort_order, MI.c.id)).scalar()
        if self.item is None:  # a canteen made by the test itself has no menu yet
            self.item, now = new_id(), datetime(2026, 1, 1)
            self.conn.execute(MI.insert(), {"id": self.item, "canteen_id": canteen_id, "name": "测试菜品",
                                            "category": "主食", "price_fen": 1500, "created_at": now,
                                            "updated_at": now})

    def _chain(self) -> dict:
        self.seq += 1
        return {"chain_seq": self.seq, "prev_hash": "p" * 64, "row_hash": f"{self.seq:064x}"}

    def shift(self, day: date, cashier: str = "cashier", opening_float_fen: int = 20000) -> str:
        sid = new_id()
        self.conn.execute(SH.insert(), {"id": sid, "canteen_id": self.canteen, "cashier_id": self.users[cashier],
                                        "business_date": day, "opened_at": utc(day, 6), "opening_float_fen": opening_float_fen})
        return sid

    def close_shift(self, shift_id: str, day: date, over_short_fen: int = 0) -> int:
        from pos.store.shifts import expected_cash

        shift = self.s.get(Shift, shift_id)
        expected = expected_cash(session=self.s, shift=shift).expected_cash_fen
        self.conn.execute(update(SH).where(SH.c.id == shift_id).values(
            closed_at=utc(day, 20), counted_cash_fen=expected + over_short_fen, expected_cash_fen=expected))
        self.s.expire_all()
        return expected

    def sale(self, shift_id: str, day: date, *, gross_fen: int, kind: str | None = None, amount_fen: int = 0,
             diner: int | None = None, tender: str = "cash", hour: int = 11, minute: int = 0,
             policy_version: str = "2026-01", cashier: str = "cashier", lines_fen: int | None = None) -> str:
        """A completed sale with one line priced ``lines_fen`` (default: the gross) and,
        with ``kind``, its grant."""
        subsidy = amount_fen if kind else 0
        due = gross_fen - subsidy
        tendered = due if tender != "cash" else ((due + 999) // 1000) * 1000
        if tender == "free":
            tendered = 0
        sale_id = new_id()
        self.receipt += 1
        at = utc(day, hour, minute)
        self.conn.execute(S.insert(), {
            "id": sale_id, "canteen_id": self.canteen, "business_date": day, "sold_at": at, "local_hour": hour,
            "receipt_no": self.receipt, "shift_id": shift_id, "cashier_id": self.users[cashier],
            "credential_kind": "resident_id" if kind else "none", "gross_fen": gross_fen, "subsidy_fen": subsidy,
            "due_fen": due, "tender_method": tender, "tendered_fen": tendered, "change_fen": tendered - due,
            "tender_reference": "", "status": "completed", **self._chain()})
        price = gross_fen if lines_fen is None else lines_fen
        self.conn.execute(SL.insert(), {
            "id": new_id(), "sale_id": sale_id, "canteen_id": self.canteen, "line_no": 1, "item_id": self.item,
            "name": "测试菜品", "unit_price_fen": price, "qty": 1, "welfare_meal": kind == "free_meal",
            "line_total_fen": price, **self._chain()})
        if kind:
            self.conn.execute(G.insert(), {
                "id": new_id(), "sale_id": sale_id, "canteen_id": self.canteen, "business_date": day, "period": "",
                "diner_key": diner_key(diner if diner is not None else self.receipt), "diner_id": None,
                "kind": kind, "amount_fen": amount_fen, "rule_id": "age_tier:60" if kind == "age_tier" else "free_meal",
                "policy_version": policy_version, "reason_zh": "测试", "reason_en": "test", "granted_at": at,
                "voided": False, **self._chain()})
            if kind == "free_meal":
                self.conn.execute(text("INSERT INTO free_meal_counters (canteen_id, business_date, cap, used) "
                                       "VALUES (:c, :d, 40, 0) ON CONFLICT (canteen_id, business_date) DO NOTHING"),
                                  {"c": self.canteen, "d": day})
                self.conn.execute(update(FM).where(FM.c.canteen_id == self.canteen, FM.c.business_date == day)
                                  .values(used=FM.c.used + 1))
        return sale_id

    def void(self, sale_id: str, reason: str = "顾客退餐", requested_by: str = "cashier",
             approved_by: str = "supervisor") -> None:
        sale = self.conn.execute(select(S).where(S.c.id == sale_id)).mappings().one()
        self.conn.execute(V.insert(), {
            "id": new_id(), "sale_id": sale_id, "canteen_id": self.canteen, "business_date": sale["business_date"],
            "voided_at": sale["sold_at"] + timedelta(minutes=5), "reason": reason,
            "requested_by": self.users[requested_by], "approved_by": self.users[approved_by],
            "refund_fen": sale["due_fen"], "reversed_subsidy_fen": sale["subsidy_fen"], **self._chain()})
        self.conn.execute(update(S).where(S.c.id == sale_id).values(status="voided"))
        grant = self.conn.execute(select(G.c.id, G.c.kind).where(G.c.sale_id == sale_id)).first()
        if grant is not None:
            self.conn.execute(update(G).where(G.c.id == grant.id).values(voided=True))
            if grant.kind == "free_meal":
                self.conn.execute(update(FM).where(FM.c.canteen_id == self.canteen,
                                                   FM.c.business_date == sale["business_date"])
                                  .values(used=FM.c.used - 1))

    def finish(self) -> None:
        """Record the placeholder chain head on the canteen row."""
        self.conn.execute(update(C).where(C.c.id == self.canteen).values(chain_seq=self.seq, chain_head=f"{self.seq:064x}"))


def sample_day(session, day: date, canteen_id: str = "YLW01", *, close_shifts: bool = True) -> dict:
    """A small, varied day: cash and WeChat sales, age discounts, free meals, one voided
    sale of each kind; returns the totals the database should hold."""
    book = Book(session, canteen_id)
    base = 0 if canteen_id == "YLW01" else 100  # diners are district-wide: one subsidy a day anywhere
    cashier = "cashier" if canteen_id == "YLW01" else "jm-cashier"
    approver = "supervisor" if canteen_id == "YLW01" else "jm-supervisor"
    sh = book.shift(day, cashier)
    book.sale(sh, day, gross_fen=1600, hour=7, cashier=cashier)
    book.sale(sh, day, gross_fen=1500, kind="age_tier", amount_fen=300, diner=base + 1, hour=11, cashier=cashier)
    book.sale(sh, day, gross_fen=1700, kind="age_tier", amount_fen=700, diner=base + 2, hour=11, minute=20, tender="wechat",
              cashier=cashier)
    book.sale(sh, day, gross_fen=1500, kind="free_meal", amount_fen=1500, diner=base + 3, hour=12, tender="free",
              cashier=cashier)
    v1 = book.sale(sh, day, gross_fen=1500, kind="free_meal", amount_fen=1500, diner=base + 4, hour=12, tender="free",
                   cashier=cashier)
    v2 = book.sale(sh, day, gross_fen=2000, kind="age_tier", amount_fen=300, diner=base + 5, hour=17, cashier=cashier)
    book.sale(sh, day, gross_fen=900, hour=17, tender="alipay", cashier=cashier)
    book.void(v1, "误扫餐券", requested_by=cashier, approved_by=approver)
    book.void(v2, "顾客退餐", requested_by=cashier, approved_by=approver)
    if close_shifts:
        book.close_shift(sh, day)
    book.finish()
    return {"sales": 5, "gross_fen": 1600 + 1500 + 1700 + 1500 + 900, "subsidy_fen": 300 + 700 + 1500,
            "due_fen": 1600 + 1200 + 1000 + 0 + 900, "age_fen": 1000, "free_fen": 1500, "voided": 2}
