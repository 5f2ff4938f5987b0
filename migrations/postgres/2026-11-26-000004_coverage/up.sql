-- Install coverage counters: one row per cell, per unit (cell = '') and per committee (unit = cell = ''), moved in
-- the same transaction as every change that moves them, so that reports never scan members or installations.
-- active_30d and up_to_date move with time and with the feed: a periodic job refreshes them.
CREATE TABLE coverage_counts (
    committee_code TEXT NOT NULL REFERENCES committees (code),
    unit           TEXT NOT NULL,
    cell           TEXT NOT NULL,
    eligible       BIGINT NOT NULL DEFAULT 0,
    activated      BIGINT NOT NULL DEFAULT 0,
    installed      BIGINT NOT NULL DEFAULT 0,
    active_30d     BIGINT NOT NULL DEFAULT 0,
    up_to_date     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (committee_code, unit, cell)
);

CREATE TABLE coverage_history (
    day            DATE NOT NULL,
    committee_code TEXT NOT NULL REFERENCES committees (code),
    eligible       BIGINT NOT NULL,
    activated      BIGINT NOT NULL,
    installed      BIGINT NOT NULL,
    active_30d     BIGINT NOT NULL,
    PRIMARY KEY (day, committee_code)
);

INSERT INTO coverage_counts (committee_code, unit, cell) SELECT code, '', '' FROM committees;
ALTER TABLE committees DROP COLUMN eligible_count;
