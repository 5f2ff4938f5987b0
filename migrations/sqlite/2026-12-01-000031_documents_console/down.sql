DROP INDEX installations_by_reader;
ALTER TABLE installations DROP COLUMN reader_committee;
ALTER TABLE documents DROP COLUMN search_title;
ALTER TABLE coverage_counts DROP COLUMN devices;
