-- Schema version 6: a diner's erasure.  The person's name, phone, masked ID and notes are
-- removed from the diner row (kept as a neutral placeholder: those columns are NOT NULL)
-- and their vouchers revoked; this row records who erased them, when and why.  Their
-- pseudonymous grants stay for the claims (retention, registry.retention_years); after it,
-- `canteen diners purge` removes their pseudonym too and notes when (purged_at).
CREATE TABLE diner_erasures (
    diner_id   TEXT      NOT NULL PRIMARY KEY REFERENCES diners (id),
    erased_at  TIMESTAMP NOT NULL,
    erased_by  TEXT      NOT NULL REFERENCES staff_users (id),
    reason     TEXT      NOT NULL,
    purged_at  TIMESTAMP
);
