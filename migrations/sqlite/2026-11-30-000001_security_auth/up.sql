-- Throttling: one password verification in flight per account at a time (cleared when it ends, or expired).
ALTER TABLE login_throttle ADD COLUMN in_flight_until TIMESTAMP;

-- Refresh tokens: the token a spent one was exchanged for, so a retry after a lost answer can take its place.
ALTER TABLE refresh_tokens ADD COLUMN replaced_by TEXT;

-- Revoked sessions (family_id) and accounts (subject, not before revoked_at), read by every instance every few
-- seconds so that access tokens stop working everywhere; rows older than the access-token lifetime are pruned.
-- AUTOINCREMENT: ids are never reused after pruning, so "rows after the last one seen" stays true.
CREATE TABLE revocations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    subject    TEXT,
    family_id  TEXT,
    revoked_at TIMESTAMP NOT NULL,
    CHECK ((subject IS NULL) <> (family_id IS NULL))
);
CREATE INDEX revocations_by_time ON revocations (revoked_at);
