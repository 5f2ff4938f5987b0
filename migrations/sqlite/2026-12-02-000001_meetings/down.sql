DELETE FROM member_state_log WHERE entity IN ('meeting', 'rsvp');
CREATE TABLE member_state_log_old (
    member_id BIGINT NOT NULL REFERENCES members (id),
    seq       BIGINT NOT NULL,
    entity    TEXT NOT NULL CHECK (entity IN ('bookmark', 'note', 'progress', 'read')),
    key       TEXT NOT NULL,
    PRIMARY KEY (member_id, seq)
);
INSERT INTO member_state_log_old (member_id, seq, entity, key) SELECT member_id, seq, entity, key FROM member_state_log;
DROP TABLE member_state_log;
ALTER TABLE member_state_log_old RENAME TO member_state_log;
CREATE UNIQUE INDEX member_state_log_by_key ON member_state_log (member_id, entity, key);
DROP TABLE meeting_invitees;
DROP TABLE meeting_materials;
DROP TABLE meeting_documents;
DROP TABLE meetings;
ALTER TABLE members DROP COLUMN position;
