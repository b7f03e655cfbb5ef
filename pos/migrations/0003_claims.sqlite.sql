-- SQLite cannot alter a CHECK constraint: staff_users is rebuilt with the wider role list.
-- Foreign keys stay on; they are deferred to the commit, by when every row is back.
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE staff_users_copy AS SELECT * FROM staff_users;
DROP TABLE staff_users;
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
    updated_at    TIMESTAMP NOT NULL
);
INSERT INTO staff_users SELECT * FROM temp.staff_users_copy;
DROP TABLE temp.staff_users_copy;
