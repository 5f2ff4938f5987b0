DROP TABLE attachment_access;
