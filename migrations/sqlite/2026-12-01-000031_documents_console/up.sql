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

-- The committee whose documents a device receives: its member's committee while the installation is live and the
-- member may read documents (status eligible or exempt); NULL otherwise (staff devices, removed devices, members who
-- left). Kept by registration, removal and the member import (`sync::installations::follow_member`). With the
-- acknowledged position beside it, the delivery of a document (`sync::delivery`) is a range count in this index.
ALTER TABLE installations ADD COLUMN reader_committee TEXT;
UPDATE installations SET reader_committee = (
    SELECT m.committee_code FROM members m WHERE m.id = installations.member_id AND m.status <> 'left'
) WHERE deleted_at IS NULL AND member_id IS NOT NULL;
CREATE INDEX installations_by_reader ON installations (reader_committee, acked_seq);
