-- The verifications made before schema 5 count from the day they were recorded (a
-- resident's from their registration).
UPDATE diners SET worker_verified_on = date(worker_verified_at) WHERE worker_verified_at IS NOT NULL;
UPDATE diners SET residency_verified_on = date(created_at), residency_verified_by = created_by WHERE resident;
