-- Access control and the audit trail (issue 5).
-- Tokens are stored only as the SHA-256 of the secret (hex); the secret is
-- printed once by `layak token create`. The audit trail is append-only and
-- hash-chained: entry_hash = sha256(prev_hash || canonical fields), so an
-- edited or deleted entry breaks the chain (`layak audit verify`). The
-- PostgreSQL migration is the same schema in that dialect: keep them in step.

CREATE TABLE tokens (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    hash        TEXT    NOT NULL UNIQUE,
    role        TEXT    NOT NULL,
    region      TEXT,
    programme   TEXT,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE TABLE audit (
    seq         INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    records     INTEGER NOT NULL,
    prev_hash   TEXT    NOT NULL,
    entry_hash  TEXT    NOT NULL
);

-- The region scope of the caller who created a job: a job is visible only
-- to callers whose scope contains it (NULL: callers without a region).
ALTER TABLE jobs ADD COLUMN scope_region TEXT;
