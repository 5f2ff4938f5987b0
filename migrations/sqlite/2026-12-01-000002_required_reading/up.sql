-- Required reading. On the document row (diesel's tables stop at 32 columns, which these two reach):
-- draft_required_due_at, what the draft asks (applied at publish), and required_due_at, the live due date members
-- see. Both NULL: not required.
ALTER TABLE documents ADD COLUMN draft_required_due_at TIMESTAMP;
ALTER TABLE documents ADD COLUMN required_due_at TIMESTAMP;

-- The rest, one row per document that was ever made required: revision, the live revision that made it required (a
-- read counts when it is of this revision or a later one; NULL: not required), and reread, the draft's request that
-- the next publish's revision become the one to read again.
CREATE TABLE document_requirements (
    document_id TEXT PRIMARY KEY NOT NULL REFERENCES documents (id),
    revision    BIGINT,
    reread      BOOLEAN NOT NULL DEFAULT 0
);

-- Read counters of each required document per committee, unit (cell = '') and cell, over the eligible members of its
-- audience, moved in the same transaction as every read, publish and import that moves them. The eligible side is
-- coverage_counts' (never stored twice).
CREATE TABLE reading_counts (
    document_id    TEXT NOT NULL REFERENCES documents (id),
    committee_code TEXT NOT NULL REFERENCES committees (code),
    unit           TEXT NOT NULL,
    cell           TEXT NOT NULL,
    read           BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (document_id, committee_code, unit, cell)
);

-- A publish recounts one document from its reads; the not-read list looks reads up by document and member.
CREATE INDEX member_reads_by_document ON member_reads (document_id, member_id, revision);
