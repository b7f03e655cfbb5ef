-- Schema version 8: the canteen's public side.  Dishes get the labels a cook sets (low
-- salt, soft, light, allergens; space-separated codes from pos.store.dish_labels) and an
-- approximate energy; staff post notices on the public "today" page and in the riders'
-- corner, each for a date range; anyone may file a neighbourhood report (议事厅), which
-- community staff move through received → passed on → solved, the reporter following it
-- by its number.  Where a report came from is kept only as keyed digests (for the hourly
-- limit), its photo only re-encoded without metadata.
ALTER TABLE menu_items ADD COLUMN labels TEXT NOT NULL DEFAULT '';
ALTER TABLE menu_items ADD COLUMN energy_kcal INTEGER CHECK (energy_kcal IS NULL OR (energy_kcal >= 0 AND energy_kcal <= 5000));

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
