DROP INDEX reading_counts_totals;
DROP INDEX documents_required;
