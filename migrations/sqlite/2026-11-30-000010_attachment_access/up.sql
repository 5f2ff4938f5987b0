-- Committees whose staff may see an attachment whatever is published: one of their officers uploaded it, or one
-- of their documents references it (which its author could only do if they could see it). Checked by exact key.
CREATE TABLE attachment_access (
    sha256         TEXT NOT NULL REFERENCES attachments (sha256),
    committee_code TEXT NOT NULL,
    PRIMARY KEY (sha256, committee_code)
);

-- What officers uploaded so far: the first upload of the bytes, and every later one of the same bytes (audit log).
INSERT INTO attachment_access (sha256, committee_code)
SELECT a.sha256, s.committee_code
FROM attachments a JOIN staff s ON a.created_by = 'staff:' || CAST(s.id AS TEXT)
WHERE s.committee_code IS NOT NULL
UNION
SELECT l.target, l.committee_code
FROM audit_log l JOIN attachments a ON a.sha256 = l.target
WHERE l.action = 'attachment.upload' AND l.actor_role = 'officer' AND l.committee_code IS NOT NULL;
