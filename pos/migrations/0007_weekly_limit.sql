-- Schema version 7: the weekly limit on subsidised meals (a policy's limit.per_week), one
-- counter row per diner and week (the Monday of the business date's week).  Installed
-- databases start with no rows: the first subsidised meal of a week under a weekly limit
-- makes its row from the diner's live grants of that week, so grants recorded before the
-- upgrade count.
CREATE TABLE weekly_subsidy_counters (
    diner_key  TEXT    NOT NULL,
    week_start DATE    NOT NULL,
    cap        INTEGER NOT NULL CHECK (cap >= 1),
    used       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (diner_key, week_start),
    CHECK (used >= 0 AND used <= cap)
);
