-- Schema version 2: what the rules decided for each sale, granted or not, so a sale read
-- back says why it was (or was not) subsidised.  Sales recorded before have no row.
CREATE TABLE sale_decisions (
    sale_id        TEXT NOT NULL PRIMARY KEY REFERENCES sales (id),
    policy_version TEXT NOT NULL,
    code           TEXT NOT NULL,
    reason_zh      TEXT NOT NULL,
    reason_en      TEXT NOT NULL
);
