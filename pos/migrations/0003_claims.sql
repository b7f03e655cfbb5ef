-- Schema version 3: the claim as a record, corrections approved by a second person, and
-- the roles of the community approver and of machine clients (the role CHECK is widened
-- per engine: 0003_claims.sqlite.sql / 0003_claims.postgresql.sql).
ALTER TABLE corrections ADD COLUMN approved_by TEXT REFERENCES staff_users (id);

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
