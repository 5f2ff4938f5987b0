-- The reports of required reading start from the few required documents, not a scan of every document's row.
CREATE INDEX documents_required ON documents (required_due_at) WHERE required_due_at IS NOT NULL;
-- A document's committee totals (unit and cell blank) by a search, not a walk over all its cell rows (20,000 at
-- 418,000 members) through the primary key's document prefix.
CREATE INDEX reading_counts_totals ON reading_counts (document_id, unit, cell, committee_code);
