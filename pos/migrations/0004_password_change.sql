-- Schema version 4: an admin can require a member of staff to choose a new password at
-- their next sign-in; until they do, they can use nothing but the change-password page.
ALTER TABLE staff_users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
