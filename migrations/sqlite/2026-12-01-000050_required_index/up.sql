-- The report of required reading starts from the few required documents, not a scan of every document's row.
CREATE INDEX documents_required ON documents (required_due_at) WHERE required_due_at IS NOT NULL;
