-- The position of the sync feed: one row, bumped by every transaction that changes what members may see.
-- Its row lock serialises those transactions, so feed positions commit in order and a reader never skips one.
CREATE TABLE feed_state (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO feed_state (id, seq) VALUES (1, 0);

CREATE TABLE documents (
    id                 TEXT PRIMARY KEY,
    owner_committee    TEXT REFERENCES committees (code),
    -- the draft, edited until the next publish
    title              TEXT NOT NULL,
    kind               TEXT NOT NULL,
    section            TEXT NOT NULL,
    body               TEXT NOT NULL,
    audience_all       BOOLEAN NOT NULL,
    audience           TEXT NOT NULL,
    attachments        TEXT NOT NULL,
    publish_at         TIMESTAMP,
    expires_at         TIMESTAMP,
    draft_changed      BOOLEAN NOT NULL,
    -- what members see: the live revision, denormalised so that reading and syncing touch one table
    live_revision      INTEGER,
    live_state         TEXT NOT NULL CHECK (live_state IN ('none', 'scheduled', 'visible', 'expired', 'withdrawn')),
    live_title         TEXT,
    live_kind          TEXT,
    live_section       TEXT,
    live_body          TEXT,
    live_audience_all  BOOLEAN NOT NULL,
    live_attachments   TEXT,
    live_publish_at    TIMESTAMP,
    live_expires_at    TIMESTAMP,
    live_published_at  TIMESTAMP,
    live_search_title  TEXT,
    live_search_text   TEXT,
    feed_seq           BIGINT NOT NULL,
    created_by         TEXT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
CREATE INDEX documents_by_feed ON documents (feed_seq);
CREATE INDEX documents_by_owner ON documents (owner_committee, updated_at);
CREATE INDEX documents_by_state ON documents (live_state, live_published_at);

CREATE TABLE document_revisions (
    document_id  TEXT NOT NULL REFERENCES documents (id),
    revision     INTEGER NOT NULL,
    title        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    section      TEXT NOT NULL,
    body         TEXT NOT NULL,
    audience_all BOOLEAN NOT NULL,
    audience     TEXT NOT NULL,
    attachments  TEXT NOT NULL,
    publish_at   TIMESTAMP,
    expires_at   TIMESTAMP,
    published_at TIMESTAMP NOT NULL,
    published_by TEXT NOT NULL,
    PRIMARY KEY (document_id, revision)
);

-- The live revision's audience (when not everyone) and attachments, for access checks by index.
CREATE TABLE document_audience (
    document_id    TEXT NOT NULL REFERENCES documents (id),
    committee_code TEXT NOT NULL,
    PRIMARY KEY (document_id, committee_code)
);
CREATE INDEX document_audience_by_committee ON document_audience (committee_code);

-- Every committee any revision ever reached ('*' = everyone): who may be told that a document went away.
CREATE TABLE document_reach (
    document_id    TEXT NOT NULL REFERENCES documents (id),
    committee_code TEXT NOT NULL,
    PRIMARY KEY (document_id, committee_code)
);

CREATE TABLE document_attachments (
    document_id TEXT NOT NULL REFERENCES documents (id),
    sha256      TEXT NOT NULL,
    PRIMARY KEY (document_id, sha256)
);
CREATE INDEX document_attachments_by_sha ON document_attachments (sha256);

CREATE TABLE attachments (
    sha256       TEXT PRIMARY KEY,
    size         BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    name         TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL
);

CREATE TABLE audit_log (
    id             BIGSERIAL PRIMARY KEY,
    at             TIMESTAMP NOT NULL,
    actor          TEXT NOT NULL,
    actor_role     TEXT NOT NULL,
    committee_code TEXT,
    action         TEXT NOT NULL,
    target         TEXT NOT NULL,
    detail         TEXT NOT NULL
);
CREATE INDEX audit_log_by_committee ON audit_log (committee_code, id);

CREATE TABLE installations (
    installation_id TEXT PRIMARY KEY,
    subject         TEXT NOT NULL,
    member_id       BIGINT REFERENCES members (id),
    platform        TEXT NOT NULL,
    app_version     TEXT NOT NULL,
    os_version      TEXT,
    device_model    TEXT,
    first_seen_at   TIMESTAMP NOT NULL,
    last_seen_at    TIMESTAMP NOT NULL,
    deleted_at      TIMESTAMP,
    acked_seq       BIGINT,
    acked_at        TIMESTAMP
);
CREATE INDEX installations_by_member ON installations (member_id);
CREATE INDEX installations_by_subject ON installations (subject);
