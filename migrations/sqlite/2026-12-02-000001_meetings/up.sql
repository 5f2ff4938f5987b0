-- Cell meetings (sinh hoạt chi bộ): secretaries and deputies (members with a position in their own cell), officers
-- and admins schedule them; the cell's members are invited, answer through the push route and have attendance
-- recorded after the meeting starts.

-- A member's position in its own cell: NULL, 'secretary' or 'deputy_secretary'; set by the member import.
ALTER TABLE members ADD COLUMN position TEXT CHECK (position IN ('secretary', 'deputy_secretary'));

-- One meeting of one cell. invited, answered and present are counters of meeting_invitees, moved in the transaction
-- that moves them, so the statistics sum meeting rows instead of scanning invitees.
CREATE TABLE meetings (
    id             TEXT PRIMARY KEY,
    committee_code TEXT NOT NULL REFERENCES committees (code),
    unit           TEXT NOT NULL,
    cell           TEXT NOT NULL,
    title          TEXT NOT NULL,
    starts_at      TIMESTAMP NOT NULL,
    ends_at        TIMESTAMP,
    location       TEXT NOT NULL,
    agenda         TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('scheduled', 'cancelled')),
    created_by     TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    invited        BIGINT NOT NULL DEFAULT 0,
    answered       BIGINT NOT NULL DEFAULT 0,
    present        BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX meetings_by_cell ON meetings (committee_code, unit, cell, starts_at);
CREATE INDEX meetings_by_time ON meetings (starts_at, committee_code);

-- Published documents to read before the meeting, in the order given.
CREATE TABLE meeting_documents (
    meeting_id  TEXT NOT NULL REFERENCES meetings (id),
    document_id TEXT NOT NULL REFERENCES documents (id),
    ord         INTEGER NOT NULL,
    PRIMARY KEY (meeting_id, document_id)
);

-- Files uploaded for this meeting only: downloadable by its invitees and managers.
CREATE TABLE meeting_materials (
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    sha256     TEXT NOT NULL REFERENCES attachments (sha256),
    name       TEXT NOT NULL,
    ord        INTEGER NOT NULL,
    PRIMARY KEY (meeting_id, sha256)
);
CREATE INDEX meeting_materials_by_file ON meeting_materials (sha256, meeting_id);

-- Who is invited, what each answered (rsvp: 'attend' | 'absent') and what the secretary recorded afterwards
-- (attendance: 'present' | 'excused' | 'absent').
CREATE TABLE meeting_invitees (
    meeting_id    TEXT NOT NULL REFERENCES meetings (id),
    member_id     BIGINT NOT NULL REFERENCES members (id),
    invited_at    TIMESTAMP NOT NULL,
    rsvp          TEXT CHECK (rsvp IN ('attend', 'absent')),
    rsvp_reason   TEXT,
    rsvp_at       TIMESTAMP,
    attendance    TEXT CHECK (attendance IN ('present', 'excused', 'absent')),
    attendance_at TIMESTAMP,
    PRIMARY KEY (meeting_id, member_id)
);
CREATE INDEX meeting_invitees_by_member ON meeting_invitees (member_id, meeting_id);

-- Meetings and RSVPs reach the member's devices through the member's state log. SQLite cannot change a CHECK in
-- place: the log is copied into a table with the wider one.
CREATE TABLE member_state_log_new (
    member_id BIGINT NOT NULL REFERENCES members (id),
    seq       BIGINT NOT NULL,
    entity    TEXT NOT NULL CHECK (entity IN ('bookmark', 'note', 'progress', 'read', 'meeting', 'rsvp')),
    key       TEXT NOT NULL,
    PRIMARY KEY (member_id, seq)
);
INSERT INTO member_state_log_new (member_id, seq, entity, key) SELECT member_id, seq, entity, key FROM member_state_log;
DROP TABLE member_state_log;
ALTER TABLE member_state_log_new RENAME TO member_state_log;
CREATE UNIQUE INDEX member_state_log_by_key ON member_state_log (member_id, entity, key);
