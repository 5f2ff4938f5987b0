DROP INDEX documents_required;
