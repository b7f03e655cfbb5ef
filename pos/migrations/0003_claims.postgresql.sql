-- The community approver and machine clients join the staff roles.
ALTER TABLE staff_users DROP CONSTRAINT staff_users_role_check;
ALTER TABLE staff_users ADD CONSTRAINT staff_users_role_check
    CHECK (role IN ('cashier', 'supervisor', 'accountant', 'registrar', 'admin', 'approver', 'platform'));
