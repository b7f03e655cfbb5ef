"""SQLModel classes mapped onto schema.sql (the source of truth).

tests/foundation/test_schema.py builds the database from schema.sql and checks these classes agree
with it table by table and column by column.  Never call ``create_all`` in the app.
"""
from __future__ import annotations

from datetime import date

from pydantic import NaiveDatetime as datetime  # UTC, stored without offset in TIMESTAMP columns
from typing import Optional

from sqlalchemy import BigInteger, Column, Text
from sqlmodel import Field, SQLModel

from pos.ids import new_id


def _id() -> str:
    return Field(default_factory=new_id, primary_key=True)


class SchemaVersion(SQLModel, table=True):
    __tablename__ = "schema_version"
    version: int = Field(primary_key=True)
    applied_at: datetime
    description: str


class Canteen(SQLModel, table=True):
    __tablename__ = "canteens"
    id: str = Field(primary_key=True)
    name: str
    community: str
    timezone: str
    chain_seq: int = 0
    chain_head: str = ""


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_users"
    id: str = _id()
    username: str = Field(unique=True)
    display_name: str
    password_hash: str
    pin_hash: Optional[str] = None
    role: str
    canteen_id: Optional[str] = Field(default=None, foreign_key="canteens.id")
    community: Optional[str] = None
    active: bool = True
    created_at: datetime
    updated_at: datetime
    must_change_password: bool = False


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"
    id: str = _id()
    user_id: str = Field(foreign_key="staff_users.id")
    token_hash: str = Field(unique=True)
    created_at: datetime
    expires_at: datetime
    revoked_at: Optional[datetime] = None


class LoginAttempt(SQLModel, table=True):
    __tablename__ = "login_attempts"
    id: str = _id()
    kind: str
    username: str
    address: str
    succeeded: bool
    at: datetime


class MenuItem(SQLModel, table=True):
    __tablename__ = "menu_items"
    id: str = _id()
    canteen_id: str = Field(foreign_key="canteens.id")
    name: str
    name_en: str = ""
    category: str
    price_fen: int
    welfare_meal: bool = False
    available: bool = True
    sort_order: int = 0
    created_at: datetime
    updated_at: datetime
    labels: str = ""  # space-separated codes of pos.store.dish_labels
    energy_kcal: Optional[int] = None


class Diner(SQLModel, table=True):
    __tablename__ = "diners"
    id: str = _id()
    name: str
    id_hmac: str = Field(unique=True)
    id_masked: str
    birth_date: date
    resident: bool = False
    community: str
    worker_category: Optional[str] = None
    worker_proof: str = ""
    worker_verified_by: Optional[str] = Field(default=None, foreign_key="staff_users.id")
    worker_verified_at: Optional[datetime] = None
    phone: Optional[str] = None
    suspended: bool = False
    created_by: str = Field(foreign_key="staff_users.id")
    created_at: datetime
    updated_at: datetime
    worker_proof_type: Optional[str] = None
    worker_verified_on: Optional[date] = None
    residency_proof_type: Optional[str] = None
    residency_verified_by: Optional[str] = Field(default=None, foreign_key="staff_users.id")
    residency_verified_on: Optional[date] = None
    left_kind: Optional[str] = None
    left_on: Optional[date] = None
    left_by: Optional[str] = Field(default=None, foreign_key="staff_users.id")
    left_recorded_at: Optional[datetime] = None
    left_note: str = ""


class DinerChange(SQLModel, table=True):
    __tablename__ = "diner_changes"
    id: str = _id()
    diner_id: str = Field(foreign_key="diners.id")
    staff_id: str = Field(foreign_key="staff_users.id")
    at: datetime
    field: str
    old_value: str
    new_value: str


class DinerErasure(SQLModel, table=True):
    __tablename__ = "diner_erasures"
    diner_id: str = Field(primary_key=True, foreign_key="diners.id")
    erased_at: datetime
    erased_by: str = Field(foreign_key="staff_users.id")
    reason: str
    purged_at: Optional[datetime] = None


class Voucher(SQLModel, table=True):
    __tablename__ = "vouchers"
    id: str = _id()
    diner_id: str = Field(foreign_key="diners.id")
    version: int
    code: str = Field(unique=True)
    status: str
    valid_until: date
    issued_by: str = Field(foreign_key="staff_users.id")
    issued_at: datetime
    revoked_at: Optional[datetime] = None


class Ticket(SQLModel, table=True):
    __tablename__ = "tickets"
    id: str = _id()
    canteen_id: str = Field(foreign_key="canteens.id")
    business_date: date
    code: str = Field(unique=True)
    issued_by: str = Field(foreign_key="staff_users.id")
    issued_at: datetime


class Shift(SQLModel, table=True):
    __tablename__ = "shifts"
    id: str = _id()
    canteen_id: str = Field(foreign_key="canteens.id")
    cashier_id: str = Field(foreign_key="staff_users.id")
    business_date: date
    opened_at: datetime
    opening_float_fen: int
    closed_at: Optional[datetime] = None
    counted_cash_fen: Optional[int] = None
    expected_cash_fen: Optional[int] = None


class _Chained(SQLModel):
    """Columns of a row in the per-canteen hash chain (see pos/store/ledger.py)."""

    chain_seq: int
    prev_hash: str
    row_hash: str


class Sale(_Chained, table=True):
    __tablename__ = "sales"
    id: str = _id()
    canteen_id: str = Field(foreign_key="canteens.id")
    business_date: date
    sold_at: datetime
    local_hour: int
    receipt_no: int
    shift_id: str = Field(foreign_key="shifts.id")
    cashier_id: str = Field(foreign_key="staff_users.id")
    credential_kind: str
    diner_id: Optional[str] = Field(default=None, foreign_key="diners.id")
    ticket_id: Optional[str] = Field(default=None, foreign_key="tickets.id")
    gross_fen: int
    subsidy_fen: int
    due_fen: int
    tender_method: str
    tendered_fen: int
    change_fen: int
    tender_reference: str = ""
    status: str = "completed"


class SaleLine(_Chained, table=True):
    __tablename__ = "sale_lines"
    id: str = _id()
    sale_id: str = Field(foreign_key="sales.id")
    canteen_id: str = Field(foreign_key="canteens.id")
    line_no: int
    item_id: str = Field(foreign_key="menu_items.id")
    name: str
    unit_price_fen: int
    qty: int
    welfare_meal: bool = False
    line_total_fen: int


class SubsidyGrant(_Chained, table=True):
    __tablename__ = "subsidy_grants"
    id: str = _id()
    sale_id: str = Field(foreign_key="sales.id", unique=True)
    canteen_id: str = Field(foreign_key="canteens.id")
    business_date: date
    period: str = ""
    diner_key: str
    diner_id: Optional[str] = Field(default=None, foreign_key="diners.id")
    ticket_id: Optional[str] = Field(default=None, foreign_key="tickets.id")
    kind: str
    amount_fen: int
    rule_id: str
    policy_version: str
    reason_zh: str
    reason_en: str
    line_no: Optional[int] = None
    granted_at: datetime
    voided: bool = False


class SaleDecision(SQLModel, table=True):
    __tablename__ = "sale_decisions"
    sale_id: str = Field(primary_key=True, foreign_key="sales.id")
    policy_version: str
    code: str
    reason_zh: str
    reason_en: str


class FreeMealCounter(SQLModel, table=True):
    __tablename__ = "free_meal_counters"
    canteen_id: str = Field(primary_key=True, foreign_key="canteens.id")
    business_date: date = Field(primary_key=True)
    cap: int
    used: int = 0


class WeeklySubsidyCounter(SQLModel, table=True):
    __tablename__ = "weekly_subsidy_counters"
    diner_key: str = Field(primary_key=True)
    week_start: date = Field(primary_key=True)
    cap: int
    used: int = 0


class Void(_Chained, table=True):
    __tablename__ = "voids"
    id: str = _id()
    sale_id: str = Field(foreign_key="sales.id", unique=True)
    canteen_id: str = Field(foreign_key="canteens.id")
    business_date: date
    voided_at: datetime
    reason: str
    requested_by: str = Field(foreign_key="staff_users.id")
    approved_by: str = Field(foreign_key="staff_users.id")
    refund_fen: int
    reversed_subsidy_fen: int


class Correction(_Chained, table=True):
    __tablename__ = "corrections"
    id: str = _id()
    canteen_id: str = Field(foreign_key="canteens.id")
    business_date: date
    original_sale_id: str = Field(foreign_key="sales.id")
    created_at: datetime
    created_by: str = Field(foreign_key="staff_users.id")
    reason: str
    refund_fen: int
    reversed_subsidy_fen: int
    approved_by: Optional[str] = Field(default=None, foreign_key="staff_users.id")


class DayClose(SQLModel, table=True):
    __tablename__ = "day_closes"
    canteen_id: str = Field(primary_key=True, foreign_key="canteens.id")
    business_date: date = Field(primary_key=True)
    closed_at: datetime
    closed_by: str = Field(foreign_key="staff_users.id")
    chain_seq: int
    chain_head: str
    report_json: str = Field(sa_column=Column(Text, nullable=False))
    report_sha256: str


class Claim(SQLModel, table=True):
    __tablename__ = "claims"
    id: str = _id()
    month: date
    scope_kind: str
    scope: str
    state: str
    revision: int
    net_fen: int
    paid_fen: int = 0
    submitted_by: str = Field(foreign_key="staff_users.id")
    updated_at: datetime


class ClaimRevision(SQLModel, table=True):
    __tablename__ = "claim_revisions"
    claim_id: str = Field(primary_key=True, foreign_key="claims.id")
    revision: int = Field(primary_key=True)
    submitted_at: datetime
    submitted_by: str = Field(foreign_key="staff_users.id")
    content_json: str = Field(sa_column=Column(Text, nullable=False))
    content_sha256: str


class ClaimCanteen(SQLModel, table=True):
    __tablename__ = "claim_canteens"
    canteen_id: str = Field(primary_key=True, foreign_key="canteens.id")
    month: date = Field(primary_key=True)
    claim_id: str = Field(foreign_key="claims.id")


class ClaimEvent(SQLModel, table=True):
    __tablename__ = "claim_events"
    id: str = _id()
    claim_id: str = Field(foreign_key="claims.id")
    at: datetime
    actor_id: str = Field(foreign_key="staff_users.id")
    action: str
    revision: int
    note: str = ""
    amount_fen: Optional[int] = None
    paid_on: Optional[date] = None


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_keys"
    user_id: str = Field(primary_key=True, foreign_key="staff_users.id")
    key: str = Field(primary_key=True)
    request_sha256: str
    status_code: int
    response_json: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"
    id: str = _id()
    at: datetime
    actor_id: Optional[str] = Field(default=None, foreign_key="staff_users.id")
    actor: str
    canteen_id: Optional[str] = Field(default=None, foreign_key="canteens.id")
    action: str
    target: str = ""
    detail: str = "{}"
    address: str = ""


class DocumentRedaction(SQLModel, table=True):
    """The masked ID of an erased diner replaced in a frozen document (see pos/store/redactions.py)."""
    __tablename__ = "document_redactions"
    id: str = _id()
    document: str  # 'day_close' | 'claim_revision'
    document_key: str  # 'CANTEEN YYYY-MM-DD' or 'CLAIM_ID REVISION'
    diner_id: str = Field(foreign_key="diners.id")
    redacted_at: datetime
    fields: int
    sha256_after: str


class Notice(SQLModel, table=True):
    """A notice staff post on the public "today" page or in the riders' corner."""
    __tablename__ = "notices"
    id: str = _id()
    canteen_id: str = Field(foreign_key="canteens.id")
    place: str  # 'today' | 'riders'
    topic: str = "general"
    title: str
    body: str = ""
    starts_on: date
    ends_on: date
    created_by: str = Field(foreign_key="staff_users.id")
    created_at: datetime
    updated_at: datetime
    withdrawn_at: Optional[datetime] = None


class NeighbourhoodReport(SQLModel, table=True):
    """A problem in the neighbourhood reported from the public page (议事厅)."""
    __tablename__ = "neighbourhood_reports"
    id: str = _id()
    number: str = Field(unique=True)
    canteen_id: str = Field(foreign_key="canteens.id")
    category: str
    description: str
    phone: Optional[str] = None
    has_photo: bool = False
    status: str = "received"
    passed_to: str = ""
    created_at: datetime
    updated_at: datetime
    source_hmac: str
    device_hmac: str


class NeighbourhoodReportPhoto(SQLModel, table=True):
    __tablename__ = "neighbourhood_report_photos"
    report_id: str = Field(primary_key=True, foreign_key="neighbourhood_reports.id")
    width: int
    height: int
    jpeg_b64: str = Field(sa_column=Column(Text, nullable=False))


class NeighbourhoodReportUpdate(SQLModel, table=True):
    __tablename__ = "neighbourhood_report_updates"
    id: str = _id()
    report_id: str = Field(foreign_key="neighbourhood_reports.id")
    at: datetime
    staff_id: str = Field(foreign_key="staff_users.id")
    status: str
    passed_to: str = ""
    note: str = ""


class TillDevice(SQLModel, table=True):
    """A till registered to sell for a canteen, offline too (see pos/store/devices.py)."""
    __tablename__ = "till_devices"
    id: str = _id()
    canteen_id: str = Field(foreign_key="canteens.id")
    name: str
    token_hash: str = Field(unique=True)  # SHA-256 of the device's secret
    registered_by: str = Field(foreign_key="staff_users.id")
    registered_at: datetime
    revoked_at: Optional[datetime] = None
    revoked_by: Optional[str] = Field(default=None, foreign_key="staff_users.id")
    last_seen_at: Optional[datetime] = None
    last_sync_at: Optional[datetime] = None
    queued: int = 0  # offline sales the device last said it holds


class FreeMealLease(SQLModel, table=True):
    """A device's share of a date's free meals for selling offline (see pos/store/leases.py)."""
    __tablename__ = "free_meal_leases"
    id: str = _id()
    device_id: str = Field(foreign_key="till_devices.id")
    canteen_id: str = Field(foreign_key="canteens.id")
    business_date: date
    size: int = 0
    used: int = 0
    returned: int = 0
    taken_at: datetime
    returned_at: Optional[datetime] = None
    ended_at: Optional[datetime] = None


class OfflineSale(SQLModel, table=True):
    """What only a sale made offline has: its device, the till's number for it, the tablet's
    time and the clock difference (see pos/store/offline_sales.py)."""
    __tablename__ = "offline_sales"
    sale_id: str = Field(primary_key=True, foreign_key="sales.id")
    device_id: str = Field(foreign_key="till_devices.id")
    offline_no: int
    sold_at_tablet: datetime
    received_at: datetime
    # A tablet clock a year wrong is still a number to show, so not a 32-bit one.
    clock_offset_ms: int = Field(sa_type=BigInteger)
    lease_id: Optional[str] = Field(default=None, foreign_key="free_meal_leases.id")


class ServingException(SQLModel, table=True):
    """A subsidy given offline that the server would not grant: not claimable, with why."""
    __tablename__ = "serving_exceptions"
    id: str = _id()
    sale_id: str = Field(unique=True, foreign_key="sales.id")
    canteen_id: str = Field(foreign_key="canteens.id")
    business_date: date
    kind: str  # a SUBSIDY_KINDS code
    amount_fen: int
    code: str
    reason_zh: str
    reason_en: str
    created_at: datetime
    resolved_at: Optional[datetime] = None
    resolved_by: Optional[str] = Field(default=None, foreign_key="staff_users.id")
    note: str = ""


class LateOfflineSale(SQLModel, table=True):
    """An offline sale that arrived after its business date was closed, kept for a correction."""
    __tablename__ = "late_offline_sales"
    id: str = _id()
    device_id: str = Field(foreign_key="till_devices.id")
    canteen_id: str = Field(foreign_key="canteens.id")
    business_date: date
    idempotency_key: str
    payload_json: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime
    resolved_at: Optional[datetime] = None
    resolved_by: Optional[str] = Field(default=None, foreign_key="staff_users.id")
    correction_id: Optional[str] = Field(default=None, foreign_key="corrections.id")
    note: str = ""
