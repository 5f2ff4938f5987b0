-- The staff console. When each staff account last signed in (the staff page shows it; set by every password sign-in).
ALTER TABLE staff ADD COLUMN last_sign_in_at TIMESTAMP;

-- The audit log is read newest first (by `at`, then `id`), filtered by committee (an officer's view), by who, by
-- action, by target and by date. Each filter, and each pair of them that can be common on its own and rare together,
-- has an index in the order of the list (the date is a range on `at` inside any of them), so a page reads about as
-- many index entries as it shows, whatever the size of the log. A target is rare on its own: its index serves every
-- combination with it. The log is written once per management action, so the indexes cost nothing that matters.
DROP INDEX audit_log_by_committee;
CREATE INDEX audit_log_by_time ON audit_log (at, id);
CREATE INDEX audit_log_by_committee ON audit_log (committee_code, at, id);
CREATE INDEX audit_log_by_actor ON audit_log (actor, at, id);
CREATE INDEX audit_log_by_action ON audit_log (action, at, id);
CREATE INDEX audit_log_by_target ON audit_log (target, at, id);
CREATE INDEX audit_log_by_actor_action ON audit_log (actor, action, at, id);
CREATE INDEX audit_log_by_committee_actor ON audit_log (committee_code, actor, at, id);
CREATE INDEX audit_log_by_committee_action ON audit_log (committee_code, action, at, id);
