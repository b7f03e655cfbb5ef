-- Schema version 11: offline sales.  A sale a till made while offline is recorded when it
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
