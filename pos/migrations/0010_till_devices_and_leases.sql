-- Schema version 10: till devices and free-meal leases, so a till keeps selling when the
-- canteen's Wi-Fi drops.  Each till registers as a device (revocable; only the SHA-256 of
-- its secret is kept) and reports when it last synced and how many offline sales it holds.
-- While online a till holds a lease of a few of today's free meals, taken from the day's
-- free_meal_counters row the way a sale takes one
--   UPDATE free_meal_counters SET used = used + :n WHERE ... AND used + :n <= cap
-- so the counter's used is granted + outstanding leases at every moment and its CHECK
-- holds the cap.  A device has one lease a date, topped up while online; what it did not
-- use goes back to the counter on return, on revocation and at day close.
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
