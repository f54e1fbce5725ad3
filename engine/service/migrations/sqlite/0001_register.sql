-- The register: rulesets, households with their versions and people, the
-- append-only status events, decisions, and durable jobs.
-- Money is an integer number of rupiah; times are integer milliseconds since
-- the Unix epoch; dates are integer yyyymmdd. The PostgreSQL migration is the
-- same schema in that dialect: keep the two in step.

CREATE TABLE rulesets (
    id          INTEGER PRIMARY KEY,
    hash        TEXT    NOT NULL UNIQUE,
    sources     TEXT    NOT NULL,
    note        TEXT,
    created_at  INTEGER NOT NULL,
    created_by  TEXT    NOT NULL
);

CREATE TABLE activations (
    id              INTEGER PRIMARY KEY,
    stage           TEXT    NOT NULL,
    ruleset_id      INTEGER NOT NULL REFERENCES rulesets (id),
    effective_from  INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    actor           TEXT    NOT NULL
);
CREATE INDEX activations_stage ON activations (stage, effective_from);

CREATE TABLE households (
    record_id     TEXT    PRIMARY KEY,
    region        TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    content_hash  TEXT    NOT NULL,
    proposal_seq  INTEGER NOT NULL,
    reasons       TEXT    NOT NULL,
    period        TEXT,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX households_status ON households (status, record_id);
CREATE INDEX households_region ON households (region);

CREATE TABLE household_versions (
    record_id     TEXT    NOT NULL,
    content_hash  TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (record_id, content_hash)
);

CREATE TABLE household_people (
    record_id  TEXT NOT NULL,
    path       TEXT NOT NULL,
    nik        TEXT,
    kk_number  TEXT
);
CREATE INDEX household_people_record ON household_people (record_id);
CREATE INDEX household_people_nik ON household_people (nik);
CREATE INDEX household_people_kk ON household_people (kk_number);

CREATE TABLE events (
    id            INTEGER PRIMARY KEY,
    record_id     TEXT    NOT NULL,
    at            INTEGER NOT NULL,
    actor         TEXT    NOT NULL,
    from_status   TEXT,
    to_status     TEXT    NOT NULL,
    reasons       TEXT    NOT NULL,
    content_hash  TEXT    NOT NULL,
    ruleset_hash  TEXT,
    job_id        INTEGER
);
CREATE INDEX events_record ON events (record_id, id);

CREATE TABLE param_sets (
    hash  TEXT PRIMARY KEY,
    body  TEXT NOT NULL
);

CREATE TABLE decisions (
    id            INTEGER PRIMARY KEY,
    record_id     TEXT    NOT NULL,
    period        TEXT    NOT NULL,
    programme     TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    region        TEXT    NOT NULL,
    eligible      INTEGER,
    amount        INTEGER,
    per           TEXT    NOT NULL,
    reasons       TEXT    NOT NULL,
    as_of         INTEGER NOT NULL,
    ruleset_hash  TEXT    NOT NULL,
    params_hash   TEXT    NOT NULL,
    content_hash  TEXT    NOT NULL,
    job_id        INTEGER NOT NULL,
    UNIQUE (record_id, period, programme, subject)
);
CREATE INDEX decisions_export ON decisions (programme, period, eligible, id);

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    params       TEXT    NOT NULL,
    ruleset_hash TEXT,
    total        INTEGER NOT NULL,
    done         INTEGER NOT NULL,
    errors       INTEGER NOT NULL,
    cursor       TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    message      TEXT,
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    updated_at   INTEGER NOT NULL,
    finished_at  INTEGER
);
CREATE INDEX jobs_state ON jobs (state, id);

CREATE TABLE job_errors (
    id         INTEGER PRIMARY KEY,
    job_id     INTEGER NOT NULL,
    line       INTEGER,
    record_id  TEXT,
    errors     TEXT    NOT NULL
);
CREATE INDEX job_errors_job ON job_errors (job_id, id);
