-- The documents console.
--
-- Devices per committee, unit and cell: the live installations of members who may read documents (status eligible
-- or exempt), moved with the other coverage counters (`coverage::counters`), so that the editor can say how many
-- devices an audience reaches without counting installations.
ALTER TABLE coverage_counts ADD COLUMN devices BIGINT NOT NULL DEFAULT 0;
UPDATE coverage_counts SET devices = (
    SELECT COUNT(*) FROM installations i JOIN members m ON m.id = i.member_id
    WHERE i.deleted_at IS NULL AND m.status <> 'left'
      AND m.committee_code = coverage_counts.committee_code
      AND (coverage_counts.unit = '' OR m.unit = coverage_counts.unit)
      AND (coverage_counts.cell = '' OR m.cell = coverage_counts.cell)
);

-- The draft's title folded for search (lower case, no diacritics), written with every draft. Rows from before get
-- the published title's folded copy where there is one; the next save of the draft writes the exact one.
ALTER TABLE documents ADD COLUMN search_title TEXT NOT NULL DEFAULT '';
UPDATE documents SET search_title = COALESCE(live_search_title, LOWER(title));

-- Delivery of a document (`sync::delivery`): live devices that acknowledged at least a feed position, by index.
CREATE INDEX installations_by_ack ON installations (acked_seq) WHERE deleted_at IS NULL;
