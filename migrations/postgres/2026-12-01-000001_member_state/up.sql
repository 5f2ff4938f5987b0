-- Member state: what a member does in the app (bookmarks, notes, reading progress, read confirmations), pushed by
-- its devices as mutations with ids the devices make (POST /api/v1/sync/push) and applied exactly once.

-- The ids of the applied mutations: a push inserts the id before applying it, so a re-sent id is a duplicate.
-- Kept HANDBOOK_REFRESH_MAX_DAYS + 30 days (pruned by `applied_at`); rejected mutations leave no row.
CREATE TABLE applied_mutations (
    id              TEXT PRIMARY KEY,
    member_id       BIGINT NOT NULL REFERENCES members (id),
    installation_id TEXT NOT NULL,
    kind            TEXT NOT NULL,
    applied_at      TIMESTAMP NOT NULL
);
CREATE INDEX applied_mutations_by_time ON applied_mutations (applied_at);

-- The state itself, one table per kind, each private to its member.
CREATE TABLE member_bookmarks (
    member_id   BIGINT NOT NULL REFERENCES members (id),
    document_id TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (member_id, document_id)
);

CREATE TABLE member_notes (
    note_id     TEXT PRIMARY KEY,
    member_id   BIGINT NOT NULL REFERENCES members (id),
    document_id TEXT NOT NULL,
    anchor      TEXT NOT NULL,
    text        TEXT NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX member_notes_by_member ON member_notes (member_id, note_id);

-- Reading progress: only ever grows.
CREATE TABLE member_progress (
    member_id   BIGINT NOT NULL REFERENCES members (id),
    document_id TEXT NOT NULL,
    position    DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (member_id, document_id)
);

-- Read confirmations: the highest revision read, and when it was first confirmed.
CREATE TABLE member_reads (
    member_id   BIGINT NOT NULL REFERENCES members (id),
    document_id TEXT NOT NULL,
    revision    BIGINT NOT NULL,
    read_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (member_id, document_id)
);

-- The member's own change log, which the sync feed follows after the documents. A push holds the member row's lock
-- (it moves state_seq) until it commits, so one member's pushes commit one after another and their log positions
-- become visible in order, never skipped. Each (entity, key) keeps only its newest row: the feed sends the entity's
-- current value for it anyway.
ALTER TABLE members ADD COLUMN state_seq BIGINT NOT NULL DEFAULT 0;

CREATE TABLE member_state_log (
    member_id BIGINT NOT NULL REFERENCES members (id),
    seq       BIGINT NOT NULL,
    entity    TEXT NOT NULL CHECK (entity IN ('bookmark', 'note', 'progress', 'read')),
    key       TEXT NOT NULL,
    PRIMARY KEY (member_id, seq)
);
CREATE UNIQUE INDEX member_state_log_by_key ON member_state_log (member_id, entity, key);
