DROP INDEX member_reads_by_document;
DROP TABLE reading_counts;
DROP TABLE document_requirements;
ALTER TABLE documents DROP COLUMN required_due_at;
ALTER TABLE documents DROP COLUMN draft_required_due_at;
