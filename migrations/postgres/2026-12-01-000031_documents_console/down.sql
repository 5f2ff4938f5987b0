DROP INDEX installations_by_ack;
ALTER TABLE documents DROP COLUMN search_title;
ALTER TABLE coverage_counts DROP COLUMN devices;
