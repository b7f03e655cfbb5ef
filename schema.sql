-- The canteen till and subsidy database.
--
-- This file is the source of truth: `canteen init` runs it unchanged on SQLite and on
-- PostgreSQL, and tests/foundation/test_schema.py proves the SQLModel classes in pos/models.py agree.
--
-- Conventions
--   * Ids are TEXT, made by the application (pos/ids.py): time-ordered, so a tablet can
--     name a sale before the server has seen it, and the same DDL works on both engines.
--   * Money is INTEGER fen (分) with CHECK (... >= 0).  Never floating point.
--   * Times are UTC TIMESTAMPs; business_date is the canteen's local DATE (Asia/Shanghai).
--   * What must hold under concurrency is a constraint here, not a hope in Python:
--     one live subsidy grant per diner per business date/period, the daily free-meal cap,
--     one open shift per cashier, idempotency keys.
--   * Sales, sale lines, subsidy grants, voids and corrections are hash-chained per
--     canteen (chain_seq, prev_hash, row_hash); `canteen verify` recomputes the chain.
--     Rows in the chain are never updated, except the status flags sales.status and
--     subsidy_grants.voided, which are not part of the hashed content and which verify
--     checks against the void rows.

CREATE TABLE schema_version (
    version     INTEGER   NOT NULL PRIMARY KEY,
    applied_at  TIMESTAMP NOT NULL,
    description TEXT      NOT NULL
);

CREATE TABLE canteens (
    id          TEXT    NOT NULL PRIMARY KEY,          -- the canteen code from config.toml
    name        TEXT    NOT NULL,
    community   TEXT    NOT NULL,
    timezone    TEXT    NOT NULL,
    chain_seq   INTEGER NOT NULL DEFAULT 0 CHECK (chain_seq >= 0),
    chain_head  TEXT    NOT NULL DEFAULT ''            -- row_hash of the newest chained row
);

CREATE TABLE staff_users (
    id            TEXT      NOT NULL PRIMARY KEY,
    username      TEXT      NOT NULL UNIQUE,
    display_name  TEXT      NOT NULL,
    password_hash TEXT      NOT NULL,
    pin_hash      TEXT,                                -- supervisor PIN for approving voids
    role          TEXT      NOT NULL CHECK (role IN ('cashier', 'supervisor', 'accountant',
                                                                 'registrar', 'admin', 'approver', 'platform')),
    canteen_id    TEXT      REFERENCES canteens (id),  -- NULL: not tied to one canteen
    community     TEXT,                                -- accountants and registrars: their community
    active        BOOLEAN   NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE  -- set by an admin: a new password at the next sign-in
);

CREATE TABLE api_tokens (
    id           TEXT      NOT NULL PRIMARY KEY,
    user_id      TEXT      NOT NULL REFERENCES staff_users (id),
    token_hash   TEXT      NOT NULL UNIQUE,            -- SHA-256 of the bearer token; the token itself is never stored
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP
);

CREATE TABLE login_attempts (
    id        TEXT      NOT NULL PRIMARY KEY,
    kind      TEXT      NOT NULL CHECK (kind IN ('password', 'pin')),
    username  TEXT      NOT NULL,
    address   TEXT      NOT NULL,
    succeeded BOOLEAN   NOT NULL,
    at        TIMESTAMP NOT NULL
);
CREATE INDEX login_attempts_by_user ON login_attempts (kind, username, at);

CREATE TABLE menu_items (
    id           TEXT      NOT NULL PRIMARY KEY,
    canteen_id   TEXT      NOT NULL REFERENCES canteens (id),
    name         TEXT      NOT NULL,
    name_en      TEXT      NOT NULL DEFAULT '',
    category     TEXT      NOT NULL,
    price_fen    INTEGER   NOT NULL CHECK (price_fen >= 0),
    welfare_meal BOOLEAN   NOT NULL DEFAULT FALSE,     -- a 公益套餐 that a free meal can cover
    available    BOOLEAN   NOT NULL DEFAULT TRUE,
    sort_order   INTEGER   NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    labels       TEXT      NOT NULL DEFAULT '',        -- a cook's labels: codes of pos.store.dish_labels
    energy_kcal  INTEGER   CHECK (energy_kcal IS NULL OR (energy_kcal >= 0 AND energy_kcal <= 5000))
);
CREATE INDEX menu_items_by_canteen ON menu_items (canteen_id, category, sort_order);

-- Diners.  The resident ID number is never stored: only its HMAC (the pseudonymous key
-- used for "one subsidised meal a day") and a masked form for people to recognise.
CREATE TABLE diners (
    id                 TEXT      NOT NULL PRIMARY KEY,
    name               TEXT      NOT NULL,
    id_hmac            TEXT      NOT NULL UNIQUE,
    id_masked          TEXT      NOT NULL,
    birth_date         DATE      NOT NULL,
    resident           BOOLEAN   NOT NULL DEFAULT FALSE,
    community          TEXT      NOT NULL,
    worker_category    TEXT      CHECK (worker_category IN ('cleaner', 'sanitation_worker', 'delivery_rider')),
    worker_proof       TEXT      NOT NULL DEFAULT '',  -- a note of the employer proof seen
    worker_verified_by TEXT      REFERENCES staff_users (id),
    worker_verified_at TIMESTAMP,
    phone              TEXT,
    suspended          BOOLEAN   NOT NULL DEFAULT FALSE,
    created_by         TEXT      NOT NULL REFERENCES staff_users (id),
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    -- Schema 5.  A verification is dated, names who verified it and the kind of proof seen
    -- (subsidies/vocabulary.py WORKER_PROOFS, RESIDENCY_PROOFS); it expires
    -- registry.worker_proof_months / residency_proof_months after that date (derived, not
    -- stored; 0 months: never).  A diner deceased or moved away has no benefit from left_on.
    worker_proof_type     TEXT,
    worker_verified_on    DATE,
    residency_proof_type  TEXT,
    residency_verified_by TEXT      REFERENCES staff_users (id),
    residency_verified_on DATE,
    left_kind             TEXT      CHECK (left_kind IN ('deceased', 'moved_away')),
    left_on               DATE,
    left_by               TEXT      REFERENCES staff_users (id),
    left_recorded_at      TIMESTAMP,
    left_note             TEXT      NOT NULL DEFAULT ''
);
CREATE INDEX diners_by_name ON diners (name);
CREATE INDEX diners_by_masked_id ON diners (id_masked);

CREATE TABLE diner_changes (
    id         TEXT      NOT NULL PRIMARY KEY,
    diner_id   TEXT      NOT NULL REFERENCES diners (id),
    staff_id   TEXT      NOT NULL REFERENCES staff_users (id),
    at         TIMESTAMP NOT NULL,
    field      TEXT      NOT NULL,
    old_value  TEXT      NOT NULL,                     -- never a plain resident ID number
    new_value  TEXT      NOT NULL
);
CREATE INDEX diner_changes_by_diner ON diner_changes (diner_id, at);

-- A diner's erasure (schema 6): their name, phone, masked ID and notes are removed from
-- the diner row (a neutral placeholder stays, the columns being NOT NULL) and their
-- vouchers revoked; who erased them, when and why is kept here.  Their pseudonymous grants
-- stay for the claims until registry.retention_years is over; `canteen diners purge` then
-- removes their pseudonym (diners.id_hmac) as well and notes when.
CREATE TABLE diner_erasures (
    diner_id   TEXT      NOT NULL PRIMARY KEY REFERENCES diners (id),
    erased_at  TIMESTAMP NOT NULL,
    erased_by  TEXT      NOT NULL REFERENCES staff_users (id),
    reason     TEXT      NOT NULL,
    purged_at  TIMESTAMP
);

CREATE TABLE vouchers (
    id          TEXT      NOT NULL PRIMARY KEY,
    diner_id    TEXT      NOT NULL REFERENCES diners (id),
    version     INTEGER   NOT NULL CHECK (version >= 1),
    code        TEXT      NOT NULL UNIQUE,             -- short code printed under the QR
    status      TEXT      NOT NULL CHECK (status IN ('active', 'revoked', 'superseded')),
    valid_until DATE      NOT NULL,
    issued_by   TEXT      NOT NULL REFERENCES staff_users (id),
    issued_at   TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP,
    UNIQUE (diner_id, version)
);
CREATE UNIQUE INDEX vouchers_one_active_per_diner ON vouchers (diner_id) WHERE status = 'active';

-- One-time free-meal tickets for one business date, for canteens that hand out paper.
CREATE TABLE tickets (
    id            TEXT      NOT NULL PRIMARY KEY,
    canteen_id    TEXT      NOT NULL REFERENCES canteens (id),
    business_date DATE      NOT NULL,
    code          TEXT      NOT NULL UNIQUE,
    issued_by     TEXT      NOT NULL REFERENCES staff_users (id),
    issued_at     TIMESTAMP NOT NULL
);
CREATE INDEX tickets_by_date ON tickets (canteen_id, business_date);

CREATE TABLE shifts (
    id                TEXT      NOT NULL PRIMARY KEY,
    canteen_id        TEXT      NOT NULL REFERENCES canteens (id),
    cashier_id        TEXT      NOT NULL REFERENCES staff_users (id),
    business_date     DATE      NOT NULL,
    opened_at         TIMESTAMP NOT NULL,
    opening_float_fen INTEGER   NOT NULL CHECK (opening_float_fen >= 0),
    closed_at         TIMESTAMP,
    counted_cash_fen  INTEGER   CHECK (counted_cash_fen >= 0),
    expected_cash_fen INTEGER   CHECK (expected_cash_fen >= 0)
);
CREATE UNIQUE INDEX shifts_one_open_per_cashier ON shifts (cashier_id) WHERE closed_at IS NULL;
CREATE INDEX shifts_by_day ON shifts (canteen_id, business_date);

CREATE TABLE sales (
    id               TEXT      NOT NULL PRIMARY KEY,
    canteen_id       TEXT      NOT NULL REFERENCES canteens (id),
    business_date    DATE      NOT NULL,
    sold_at          TIMESTAMP NOT NULL,
    local_hour       INTEGER   NOT NULL CHECK (local_hour BETWEEN 0 AND 23),
    receipt_no       INTEGER   NOT NULL CHECK (receipt_no >= 1),
    shift_id         TEXT      NOT NULL REFERENCES shifts (id),
    cashier_id       TEXT      NOT NULL REFERENCES staff_users (id),
    credential_kind  TEXT      NOT NULL CHECK (credential_kind IN ('none', 'voucher', 'resident_id', 'ticket')),
    diner_id         TEXT      REFERENCES diners (id),
    ticket_id        TEXT      REFERENCES tickets (id),
    gross_fen        INTEGER   NOT NULL CHECK (gross_fen >= 0),
    subsidy_fen      INTEGER   NOT NULL CHECK (subsidy_fen >= 0),
    due_fen          INTEGER   NOT NULL CHECK (due_fen >= 0),
    tender_method    TEXT      NOT NULL CHECK (tender_method IN ('cash', 'wechat', 'alipay', 'free')),
    tendered_fen     INTEGER   NOT NULL CHECK (tendered_fen >= 0),
    change_fen       INTEGER   NOT NULL CHECK (change_fen >= 0),
    tender_reference TEXT      NOT NULL DEFAULT '',
    status           TEXT      NOT NULL DEFAULT 'completed' CHECK (status IN ('completed', 'voided')),
    chain_seq        INTEGER   NOT NULL,
    prev_hash        TEXT      NOT NULL,
    row_hash         TEXT      NOT NULL,
    CHECK (gross_fen = subsidy_fen + due_fen),
    CHECK (tendered_fen = due_fen + change_fen),
    UNIQUE (canteen_id, receipt_no),
    UNIQUE (canteen_id, chain_seq)
);
CREATE INDEX sales_by_day ON sales (canteen_id, business_date);
CREATE INDEX sales_by_shift ON sales (shift_id);

CREATE TABLE sale_lines (
    id             TEXT    NOT NULL PRIMARY KEY,
    sale_id        TEXT    NOT NULL REFERENCES sales (id),
    canteen_id     TEXT    NOT NULL REFERENCES canteens (id),
    line_no        INTEGER NOT NULL CHECK (line_no >= 1),
    item_id        TEXT    NOT NULL REFERENCES menu_items (id),
    name           TEXT    NOT NULL,                   -- the name and price at the time of sale
    unit_price_fen INTEGER NOT NULL CHECK (unit_price_fen >= 0),
    qty            INTEGER NOT NULL CHECK (qty >= 1),
    welfare_meal   BOOLEAN NOT NULL DEFAULT FALSE,
    line_total_fen INTEGER NOT NULL CHECK (line_total_fen >= 0),
    chain_seq      INTEGER NOT NULL,
    prev_hash      TEXT    NOT NULL,
    row_hash       TEXT    NOT NULL,
    CHECK (line_total_fen = unit_price_fen * qty),
    UNIQUE (sale_id, line_no),
    UNIQUE (canteen_id, chain_seq)
);

-- The subsidy granted by a sale, as decided at sale time: reports read these rows and
-- never recompute a subsidy.  diner_key is the pseudonymous key of the diner (the HMAC of
-- the resident ID, for registered and walk-in diners alike) or 'ticket:<id>'.
CREATE TABLE subsidy_grants (
    id             TEXT      NOT NULL PRIMARY KEY,
    sale_id        TEXT      NOT NULL UNIQUE REFERENCES sales (id),
    canteen_id     TEXT      NOT NULL REFERENCES canteens (id),
    business_date  DATE      NOT NULL,
    period         TEXT      NOT NULL DEFAULT '',      -- '' when the limit is per day
    diner_key      TEXT      NOT NULL,
    diner_id       TEXT      REFERENCES diners (id),
    ticket_id      TEXT      REFERENCES tickets (id),
    kind           TEXT      NOT NULL CHECK (kind IN ('age_tier', 'free_meal')),
    amount_fen     INTEGER   NOT NULL CHECK (amount_fen >= 0),
    rule_id        TEXT      NOT NULL,
    policy_version TEXT      NOT NULL,
    reason_zh      TEXT      NOT NULL,
    reason_en      TEXT      NOT NULL,
    line_no        INTEGER,                            -- the welfare set meal line a free meal covers
    granted_at     TIMESTAMP NOT NULL,
    voided         BOOLEAN   NOT NULL DEFAULT FALSE,
    chain_seq      INTEGER   NOT NULL,
    prev_hash      TEXT      NOT NULL,
    row_hash       TEXT      NOT NULL,
    UNIQUE (canteen_id, chain_seq)
);
-- One live subsidised meal per diner per business date (or meal period), across every
-- canteen of the district.  A void sets voided = TRUE and frees the slot.
CREATE UNIQUE INDEX subsidy_grants_one_live_per_diner
    ON subsidy_grants (diner_key, business_date, period) WHERE voided = FALSE;
CREATE INDEX subsidy_grants_by_day ON subsidy_grants (canteen_id, business_date);

-- Why a sale was not subsidised: the policy version, the decision's code and its reason in
-- both languages (a subsidised sale's grant keeps its own).  Written with the sale; never
-- changed.
CREATE TABLE sale_decisions (
    sale_id        TEXT NOT NULL PRIMARY KEY REFERENCES sales (id),
    policy_version TEXT NOT NULL,
    code           TEXT NOT NULL,
    reason_zh      TEXT NOT NULL,
    reason_en      TEXT NOT NULL
);

-- The daily free welfare meal cap, claimed with
--   UPDATE free_meal_counters SET used = used + 1 WHERE ... AND used < cap
-- in the same transaction as the sale.  A till's lease (free_meal_leases) takes several at
-- once the same way, so used counts granted meals and outstanding leases.
CREATE TABLE free_meal_counters (
    canteen_id    TEXT    NOT NULL REFERENCES canteens (id),
    business_date DATE    NOT NULL,
    cap           INTEGER NOT NULL CHECK (cap >= 0),
    used          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (canteen_id, business_date),
    CHECK (used >= 0 AND used <= cap)
);

-- The weekly limit on subsidised meals (a policy's per_week), one row per diner and week
-- (week_start is the Monday of the business date's week), across every canteen of the
-- district.  The first subsidised meal of the week under a weekly limit makes the row,
-- counting the diner's live grants of that week so far; each grant then claims one with
--   UPDATE weekly_subsidy_counters SET used = used + 1, cap = :cap WHERE ... AND used < :cap
-- in the same transaction as the sale, and a void gives one back.  The CHECK holds the cap
-- whatever a statement tries.
CREATE TABLE weekly_subsidy_counters (
    diner_key  TEXT    NOT NULL,
    week_start DATE    NOT NULL,
    cap        INTEGER NOT NULL CHECK (cap >= 1),
    used       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (diner_key, week_start),
    CHECK (used >= 0 AND used <= cap)
);

CREATE TABLE voids (
    id                   TEXT      NOT NULL PRIMARY KEY,
    sale_id              TEXT      NOT NULL UNIQUE REFERENCES sales (id),
    canteen_id           TEXT      NOT NULL REFERENCES canteens (id),
    business_date        DATE      NOT NULL,           -- the sale's business date
    voided_at            TIMESTAMP NOT NULL,
    reason               TEXT      NOT NULL,
    requested_by         TEXT      NOT NULL REFERENCES staff_users (id),
    approved_by          TEXT      NOT NULL REFERENCES staff_users (id),
    refund_fen           INTEGER   NOT NULL CHECK (refund_fen >= 0),
    reversed_subsidy_fen INTEGER   NOT NULL CHECK (reversed_subsidy_fen >= 0),
    chain_seq            INTEGER   NOT NULL,
    prev_hash            TEXT      NOT NULL,
    row_hash             TEXT      NOT NULL,
    UNIQUE (canteen_id, chain_seq)
);

-- After day close nothing is edited: a correction is a new entry, dated the day it is
-- made, pointing at the original sale.
CREATE TABLE corrections (
    id                   TEXT      NOT NULL PRIMARY KEY,
    canteen_id           TEXT      NOT NULL REFERENCES canteens (id),
    business_date        DATE      NOT NULL,           -- the (open) date the correction is booked on
    original_sale_id     TEXT      NOT NULL REFERENCES sales (id),
    created_at           TIMESTAMP NOT NULL,
    created_by           TEXT      NOT NULL REFERENCES staff_users (id),
    reason               TEXT      NOT NULL,
    refund_fen           INTEGER   NOT NULL CHECK (refund_fen >= 0),
    reversed_subsidy_fen INTEGER   NOT NULL CHECK (reversed_subsidy_fen >= 0),
    chain_seq            INTEGER   NOT NULL,
    prev_hash            TEXT      NOT NULL,
    row_hash             TEXT      NOT NULL,
    -- The second person who approved it (schema 3; hashed only when set, so the rows
    -- booked before it keep their hashes).
    approved_by          TEXT      REFERENCES staff_users (id),
    UNIQUE (canteen_id, chain_seq)
);

CREATE TABLE day_closes (
    canteen_id      TEXT      NOT NULL REFERENCES canteens (id),
    business_date   DATE      NOT NULL,
    closed_at       TIMESTAMP NOT NULL,
    closed_by       TEXT      NOT NULL REFERENCES staff_users (id),
    chain_seq       INTEGER   NOT NULL,               -- the ledger position at close
    chain_head      TEXT      NOT NULL,
    report_json     TEXT      NOT NULL,               -- the daily report's data, as rendered
    report_sha256   TEXT      NOT NULL,
    PRIMARY KEY (canteen_id, business_date)
);

CREATE TABLE idempotency_keys (
    user_id        TEXT      NOT NULL REFERENCES staff_users (id),
    key            TEXT      NOT NULL,
    request_sha256 TEXT      NOT NULL,
    status_code    INTEGER   NOT NULL,
    response_json  TEXT      NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- The monthly subsidy claim as a record (schema 3).  A claim covers one canteen or every
-- canteen of a community for one month; a canteen's month is in at most one claim
-- (claim_canteens).  Each submission freezes the claim's whole content as canonical JSON
-- with its SHA-256 (claim_revisions); nothing frozen is ever updated.  The state moves
-- submitted → returned → submitted (a new revision) → approved → paid, enforced by
-- pos/store/claims.py; every move is a claim_events row and an audit_log row.
CREATE TABLE claims (
    id             TEXT      NOT NULL PRIMARY KEY,
    month          DATE      NOT NULL,                 -- the first day of the month claimed
    scope_kind     TEXT      NOT NULL CHECK (scope_kind IN ('canteen', 'community')),
    scope          TEXT      NOT NULL,                 -- the canteen code or the community's name
    state          TEXT      NOT NULL CHECK (state IN ('submitted', 'returned', 'approved', 'paid')),
    revision       INTEGER   NOT NULL CHECK (revision >= 1),   -- the revision now in force
    net_fen        INTEGER   NOT NULL,                 -- what the frozen revision claims, after adjustments
    paid_fen       INTEGER   NOT NULL DEFAULT 0 CHECK (paid_fen >= 0),
    submitted_by   TEXT      NOT NULL REFERENCES staff_users (id),
    updated_at     TIMESTAMP NOT NULL,
    UNIQUE (scope_kind, scope, month)
);

CREATE TABLE claim_revisions (
    claim_id       TEXT      NOT NULL REFERENCES claims (id),
    revision       INTEGER   NOT NULL CHECK (revision >= 1),
    submitted_at   TIMESTAMP NOT NULL,
    submitted_by   TEXT      NOT NULL REFERENCES staff_users (id),
    content_json   TEXT      NOT NULL,                 -- the frozen claim document
    content_sha256 TEXT      NOT NULL,
    PRIMARY KEY (claim_id, revision)
);

CREATE TABLE claim_canteens (
    canteen_id TEXT NOT NULL REFERENCES canteens (id),
    month      DATE NOT NULL,
    claim_id   TEXT NOT NULL REFERENCES claims (id),
    PRIMARY KEY (canteen_id, month)
);

CREATE TABLE claim_events (
    id          TEXT      NOT NULL PRIMARY KEY,
    claim_id    TEXT      NOT NULL REFERENCES claims (id),
    at          TIMESTAMP NOT NULL,
    actor_id    TEXT      NOT NULL REFERENCES staff_users (id),
    action      TEXT      NOT NULL CHECK (action IN ('submitted', 'returned', 'approved', 'paid')),
    revision    INTEGER   NOT NULL,
    note        TEXT      NOT NULL DEFAULT '',         -- the reason of a return, a payment's reference
    amount_fen  INTEGER   CHECK (amount_fen > 0),      -- a payment's amount
    paid_on     DATE                                   -- a payment's date
);
CREATE INDEX claim_events_by_claim ON claim_events (claim_id, at);

-- A diner's erasure reaches the frozen documents (day close reports, claim revisions):
-- the masked ID is replaced there too; the digest recorded at freezing stays, and each
-- redaction records the digest of the text it left (see pos/store/redactions.py).
CREATE TABLE document_redactions (
    id           TEXT      NOT NULL PRIMARY KEY,
    document     TEXT      NOT NULL CHECK (document IN ('day_close', 'claim_revision')),
    document_key TEXT      NOT NULL,
    diner_id     TEXT      NOT NULL REFERENCES diners (id),
    redacted_at  TIMESTAMP NOT NULL,
    fields       INTEGER   NOT NULL CHECK (fields >= 1),
    sha256_after TEXT      NOT NULL
);
CREATE INDEX document_redactions_by_document ON document_redactions (document, document_key, redacted_at);

-- The canteen's public side: notices on the "today" page and in the riders' corner, and
-- neighbourhood reports (议事厅) that community staff follow up; where a report came from
-- is kept only as keyed digests (for the hourly limit), its photo only re-encoded.
CREATE TABLE notices (
    id           TEXT      NOT NULL PRIMARY KEY,
    canteen_id   TEXT      NOT NULL REFERENCES canteens (id),
    place        TEXT      NOT NULL CHECK (place IN ('today', 'riders')),
    topic        TEXT      NOT NULL CHECK (topic IN ('general', 'health', 'rest_point', 'safe_riding')),
    title        TEXT      NOT NULL,
    body         TEXT      NOT NULL DEFAULT '',
    starts_on    DATE      NOT NULL,
    ends_on      DATE      NOT NULL,
    created_by   TEXT      NOT NULL REFERENCES staff_users (id),
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    withdrawn_at TIMESTAMP,
    CHECK (ends_on >= starts_on)
);
CREATE INDEX notices_by_canteen ON notices (canteen_id, ends_on);

CREATE TABLE neighbourhood_reports (
    id          TEXT      NOT NULL PRIMARY KEY,
    number      TEXT      NOT NULL UNIQUE,
    canteen_id  TEXT      NOT NULL REFERENCES canteens (id),
    category    TEXT      NOT NULL CHECK (category IN ('road_damage', 'blocked_drain', 'street_light', 'safety_hazard', 'other')),
    description TEXT      NOT NULL,
    phone       TEXT,
    has_photo   BOOLEAN   NOT NULL DEFAULT FALSE,
    status      TEXT      NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'passed_on', 'solved')),
    passed_to   TEXT      NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    source_hmac TEXT      NOT NULL,
    device_hmac TEXT      NOT NULL
);
CREATE INDEX neighbourhood_reports_queue ON neighbourhood_reports (canteen_id, status, created_at);
CREATE INDEX neighbourhood_reports_by_source ON neighbourhood_reports (source_hmac, created_at);
CREATE INDEX neighbourhood_reports_by_device ON neighbourhood_reports (device_hmac, created_at);

CREATE TABLE neighbourhood_report_photos (
    report_id TEXT    NOT NULL PRIMARY KEY REFERENCES neighbourhood_reports (id),
    width     INTEGER NOT NULL,
    height    INTEGER NOT NULL,
    jpeg_b64  TEXT    NOT NULL
);

CREATE TABLE neighbourhood_report_updates (
    id        TEXT      NOT NULL PRIMARY KEY,
    report_id TEXT      NOT NULL REFERENCES neighbourhood_reports (id),
    at        TIMESTAMP NOT NULL,
    staff_id  TEXT      NOT NULL REFERENCES staff_users (id),
    status    TEXT      NOT NULL CHECK (status IN ('received', 'passed_on', 'solved')),
    passed_to TEXT      NOT NULL DEFAULT '',
    note      TEXT      NOT NULL DEFAULT ''
);
CREATE INDEX neighbourhood_report_updates_by_report ON neighbourhood_report_updates (report_id, at);

-- Till devices and their free-meal leases (the till keeps selling when the network goes):
-- a lease takes meals from free_meal_counters like a sale does, so the counter's used is
-- granted + outstanding leases; unused meals go back on return, revocation and day close.
CREATE TABLE till_devices (
    id            TEXT      NOT NULL PRIMARY KEY,
    canteen_id    TEXT      NOT NULL REFERENCES canteens (id),
    name          TEXT      NOT NULL,
    token_hash    TEXT      NOT NULL UNIQUE,
    registered_by TEXT      NOT NULL REFERENCES staff_users (id),
    registered_at TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP,
    revoked_by    TEXT      REFERENCES staff_users (id),
    last_seen_at  TIMESTAMP,
    last_sync_at  TIMESTAMP,
    queued        INTEGER   NOT NULL DEFAULT 0 CHECK (queued >= 0)
);
-- Two live tills of a canteen never share a name (the supervisor tells them apart by it).
CREATE UNIQUE INDEX till_devices_one_live_name ON till_devices (canteen_id, name) WHERE revoked_at IS NULL;

CREATE TABLE free_meal_leases (
    id            TEXT      NOT NULL PRIMARY KEY,
    device_id     TEXT      NOT NULL REFERENCES till_devices (id),
    canteen_id    TEXT      NOT NULL REFERENCES canteens (id),
    business_date DATE      NOT NULL,
    size          INTEGER   NOT NULL DEFAULT 0,        -- meals ever leased (top-ups add to it)
    used          INTEGER   NOT NULL DEFAULT 0,        -- meals granted from it (offline sales)
    returned      INTEGER   NOT NULL DEFAULT 0,        -- unused meals given back to the counter
    taken_at      TIMESTAMP NOT NULL,
    returned_at   TIMESTAMP,
    ended_at      TIMESTAMP,                           -- day close or revocation: no more top-ups
    UNIQUE (device_id, business_date),
    CHECK (used >= 0 AND returned >= 0 AND used + returned <= size)
);
CREATE INDEX free_meal_leases_by_day ON free_meal_leases (canteen_id, business_date);

-- Offline sales (schema 11).  A sale a till made while offline is recorded when it
-- syncs, through the same path as any sale, at the tablet's time; offline_sales keeps what
-- only an offline sale has: the device, the till's own number for it, the tablet's time,
-- when it arrived and the tablet clock's difference from the server's then.
CREATE TABLE offline_sales (
    sale_id         TEXT      NOT NULL PRIMARY KEY REFERENCES sales (id),
    device_id       TEXT      NOT NULL REFERENCES till_devices (id),
    offline_no      INTEGER   NOT NULL CHECK (offline_no >= 1),
    sold_at_tablet  TIMESTAMP NOT NULL,                -- UTC, by the tablet's clock
    received_at     TIMESTAMP NOT NULL,                -- UTC, by the server's clock
    clock_offset_ms BIGINT    NOT NULL,                -- server clock minus tablet clock when it was sent
    lease_id        TEXT      REFERENCES free_meal_leases (id)
);
CREATE INDEX offline_sales_by_device ON offline_sales (device_id);

-- A subsidy a till gave offline that the server would not grant (the diner was subsidised
-- at another till first, the lease was used up, the voucher was revoked meanwhile): the
-- sale keeps the money the diner paid, it has no subsidy_grants row (nothing to claim),
-- and this row says what was given and why it cannot be claimed, until a supervisor
-- resolves it.
CREATE TABLE serving_exceptions (
    id            TEXT      NOT NULL PRIMARY KEY,
    sale_id       TEXT      NOT NULL UNIQUE REFERENCES sales (id),
    canteen_id    TEXT      NOT NULL REFERENCES canteens (id),
    business_date DATE      NOT NULL,
    kind          TEXT      NOT NULL CHECK (kind IN ('age_tier', 'free_meal')),
    amount_fen    INTEGER   NOT NULL CHECK (amount_fen > 0),
    code          TEXT      NOT NULL,
    reason_zh     TEXT      NOT NULL,
    reason_en     TEXT      NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    resolved_at   TIMESTAMP,
    resolved_by   TEXT      REFERENCES staff_users (id),
    note          TEXT      NOT NULL DEFAULT ''
);
CREATE INDEX serving_exceptions_by_day ON serving_exceptions (canteen_id, business_date);

-- An offline sale that arrived after its business date was closed: never lost, kept as the
-- till sent it (a resident ID number only as its pseudonym) for a correction.
CREATE TABLE late_offline_sales (
    id              TEXT      NOT NULL PRIMARY KEY,
    device_id       TEXT      NOT NULL REFERENCES till_devices (id),
    canteen_id      TEXT      NOT NULL REFERENCES canteens (id),
    business_date   DATE      NOT NULL,
    idempotency_key TEXT      NOT NULL,
    payload_json    TEXT      NOT NULL,
    received_at     TIMESTAMP NOT NULL,
    resolved_at     TIMESTAMP,
    resolved_by     TEXT      REFERENCES staff_users (id),
    correction_id   TEXT      REFERENCES corrections (id),
    note            TEXT      NOT NULL DEFAULT '',
    UNIQUE (device_id, idempotency_key)
);
CREATE INDEX late_offline_sales_by_canteen ON late_offline_sales (canteen_id, business_date);

-- Append-only: who did what and when.  No plain personal data in any column.
CREATE TABLE audit_log (
    id         TEXT      NOT NULL PRIMARY KEY,
    at         TIMESTAMP NOT NULL,
    actor_id   TEXT      REFERENCES staff_users (id),
    actor      TEXT      NOT NULL,                     -- username, or 'system' / 'anonymous'
    canteen_id TEXT      REFERENCES canteens (id),
    action     TEXT      NOT NULL,
    target     TEXT      NOT NULL DEFAULT '',
    detail     TEXT      NOT NULL DEFAULT '{}',        -- JSON
    address    TEXT      NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_by_time ON audit_log (at);

-- The versions this schema stands for: a new database is created at the latest; an older
-- one is brought up to it by the files in pos/migrations (`canteen upgrade`).
INSERT INTO schema_version (version, applied_at, description)
VALUES (1, CURRENT_TIMESTAMP, 'initial schema');
INSERT INTO schema_version (version, applied_at, description)
VALUES (2, CURRENT_TIMESTAMP, 'sale decisions');
INSERT INTO schema_version (version, applied_at, description)
VALUES (3, CURRENT_TIMESTAMP, 'claims and approved corrections');
INSERT INTO schema_version (version, applied_at, description)
VALUES (4, CURRENT_TIMESTAMP, 'password change');
INSERT INTO schema_version (version, applied_at, description)
VALUES (5, CURRENT_TIMESTAMP, 'eligibility');
INSERT INTO schema_version (version, applied_at, description)
VALUES (6, CURRENT_TIMESTAMP, 'erasure');
INSERT INTO schema_version (version, applied_at, description)
VALUES (7, CURRENT_TIMESTAMP, 'weekly limit');
INSERT INTO schema_version (version, applied_at, description)
VALUES (8, CURRENT_TIMESTAMP, 'public corner');
INSERT INTO schema_version (version, applied_at, description)
VALUES (9, CURRENT_TIMESTAMP, 'document redactions');
INSERT INTO schema_version (version, applied_at, description)
VALUES (10, CURRENT_TIMESTAMP, 'till devices and leases');
INSERT INTO schema_version (version, applied_at, description)
VALUES (11, CURRENT_TIMESTAMP, 'offline sales');
