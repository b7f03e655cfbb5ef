-- Schema version 2: why a sale was not subsidised (a subsidised sale's grant keeps its own
-- reason), so a sale read back says why.  Sales recorded before have no row.
CREATE TABLE sale_decisions (
    sale_id        TEXT NOT NULL PRIMARY KEY REFERENCES sales (id),
    policy_version TEXT NOT NULL,
    code           TEXT NOT NULL,
    reason_zh      TEXT NOT NULL,
    reason_en      TEXT NOT NULL
);
