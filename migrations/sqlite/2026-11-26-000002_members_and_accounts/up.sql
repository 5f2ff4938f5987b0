ALTER TABLE committees ADD COLUMN eligible_count BIGINT NOT NULL DEFAULT 0;

CREATE TABLE members (
    id             INTEGER PRIMARY KEY,
    card_number    TEXT NOT NULL UNIQUE,
    full_name      TEXT NOT NULL,
    search_name    TEXT NOT NULL,
    committee_code TEXT NOT NULL REFERENCES committees (code),
    unit           TEXT NOT NULL,
    cell           TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('eligible', 'exempt', 'left')),
    birth_date     DATE,
    phone          TEXT,
    password_hash  TEXT,
    activated_at   TIMESTAMP,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX members_by_committee ON members (committee_code, card_number);
CREATE INDEX members_by_place ON members (committee_code, unit, cell, full_name);

CREATE TABLE staff (
    id             INTEGER PRIMARY KEY,
    login          TEXT NOT NULL UNIQUE,
    role           TEXT NOT NULL CHECK (role IN ('officer', 'admin')),
    committee_code TEXT REFERENCES committees (code),
    password_hash  TEXT NOT NULL,
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    CHECK ((role = 'officer') = (committee_code IS NOT NULL))
);

CREATE TABLE activation_codes (
    member_id  INTEGER PRIMARY KEY NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL UNIQUE,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE refresh_tokens (
    token_hash        TEXT PRIMARY KEY NOT NULL,
    family_id         TEXT NOT NULL,
    subject           TEXT NOT NULL,
    installation_id   TEXT,
    issued_at         TIMESTAMP NOT NULL,
    idle_expires_at   TIMESTAMP NOT NULL,
    family_expires_at TIMESTAMP NOT NULL,
    spent_at          TIMESTAMP,
    revoked_at        TIMESTAMP
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_subject ON refresh_tokens (subject);

CREATE TABLE login_throttle (
    throttle_key  TEXT PRIMARY KEY NOT NULL,
    failures      INTEGER NOT NULL,
    window_start  TIMESTAMP NOT NULL,
    blocked_until TIMESTAMP
);
