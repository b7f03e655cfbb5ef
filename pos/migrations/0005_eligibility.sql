-- Schema version 5: verification with an expiry, and life events.
-- A worker category is verified on a date (worker_verified_on) by a named member of staff
-- (worker_verified_by, already there) who saw a kind of proof (worker_proof_type, a code of
-- subsidies/vocabulary.py WORKER_PROOFS; worker_proof stays the free note); it counts for
-- registry.worker_proof_months from that date.  Residency likewise (residency_*), counted
-- for registry.residency_proof_months (0: never expires).  The expiry date is derived from
-- the date and the configuration, never stored.
-- A diner marked deceased or moved away (left_kind, left_on, by whom, when, a note) has no
-- benefit from left_on; their past grants stay as they are.
ALTER TABLE diners ADD COLUMN worker_proof_type TEXT;
ALTER TABLE diners ADD COLUMN worker_verified_on DATE;
ALTER TABLE diners ADD COLUMN residency_proof_type TEXT;
ALTER TABLE diners ADD COLUMN residency_verified_by TEXT REFERENCES staff_users (id);
ALTER TABLE diners ADD COLUMN residency_verified_on DATE;
ALTER TABLE diners ADD COLUMN left_kind TEXT CHECK (left_kind IN ('deceased', 'moved_away'));
ALTER TABLE diners ADD COLUMN left_on DATE;
ALTER TABLE diners ADD COLUMN left_by TEXT REFERENCES staff_users (id);
ALTER TABLE diners ADD COLUMN left_recorded_at TIMESTAMP;
ALTER TABLE diners ADD COLUMN left_note TEXT NOT NULL DEFAULT '';
