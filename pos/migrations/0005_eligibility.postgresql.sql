-- The verifications made before schema 5 count from the day they were recorded (a
-- resident's from their registration).
UPDATE diners SET worker_verified_on = CAST(worker_verified_at AS DATE) WHERE worker_verified_at IS NOT NULL;
UPDATE diners SET residency_verified_on = CAST(created_at AS DATE), residency_verified_by = created_by WHERE resident;
