DELETE FROM member_state_log WHERE entity IN ('meeting', 'rsvp');
ALTER TABLE member_state_log DROP CONSTRAINT member_state_log_entity_check;
ALTER TABLE member_state_log ADD CONSTRAINT member_state_log_entity_check
    CHECK (entity IN ('bookmark', 'note', 'progress', 'read'));
DROP TABLE meeting_invitees;
DROP TABLE meeting_materials;
DROP TABLE meeting_documents;
DROP TABLE meetings;
ALTER TABLE members DROP COLUMN position;
