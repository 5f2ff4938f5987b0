DROP TABLE member_state_log;
ALTER TABLE members DROP COLUMN state_seq;
DROP TABLE member_reads;
DROP TABLE member_progress;
DROP TABLE member_notes;
DROP TABLE member_bookmarks;
DROP TABLE applied_mutations;
