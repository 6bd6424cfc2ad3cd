-- otpidp schema for SQLite.
--
-- Conventions: times are INTEGER microseconds since the Unix epoch, UTC; NULL is the zero time.
-- String lists are JSON arrays in TEXT. Hashes, keys and secrets are BLOBs. Booleans are 0/1.
-- Tables are STRICT so that a wrongly typed value fails instead of being stored.

CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    phone          TEXT NOT NULL UNIQUE,
    phone_verified INTEGER NOT NULL,
    name           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     INTEGER,
    updated_at     INTEGER
) STRICT;

CREATE TABLE clients (
    id                        TEXT PRIMARY KEY,
    secret_hash               BLOB,
    name                      TEXT NOT NULL,
    redirect_uris             TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    public                    INTEGER NOT NULL,
    grant_types               TEXT NOT NULL,
    access_token_format       TEXT NOT NULL,
    first_party               INTEGER NOT NULL,
    created_at                INTEGER
) STRICT;

CREATE INDEX clients_created_at ON clients (created_at, id);

CREATE TABLE auth_requests (
    id                    TEXT PRIMARY KEY,
    client_id             TEXT NOT NULL,
    redirect_uri          TEXT NOT NULL,
    scopes                TEXT NOT NULL,
    state                 TEXT NOT NULL,
    nonce                 TEXT NOT NULL,
    response_type         TEXT NOT NULL,
    response_mode         TEXT NOT NULL,
    code_challenge        TEXT NOT NULL,
    code_challenge_method TEXT NOT NULL,
    prompt                TEXT NOT NULL,
    max_age               INTEGER NOT NULL,
    login_hint            TEXT NOT NULL,
    ui_locales            TEXT NOT NULL,
    browser_hash          BLOB,
    user_id               TEXT NOT NULL,
    auth_time             INTEGER,
    amr                   TEXT NOT NULL,
    completed_at          INTEGER,
    code_hash             BLOB UNIQUE,
    code_expires_at       INTEGER,
    code_used_at          INTEGER,
    created_at            INTEGER,
    expires_at            INTEGER
) STRICT;

CREATE INDEX auth_requests_expires_at ON auth_requests (expires_at);

CREATE TABLE flows (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    auth_request_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    phone           TEXT NOT NULL,
    name            TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    browser_hash    BLOB,
    code_hash       BLOB,
    code_expires_at INTEGER,
    code_sent_at    INTEGER,
    code_attempts   INTEGER NOT NULL,
    send_count      INTEGER NOT NULL,
    code_used_at    INTEGER,
    created_at      INTEGER,
    expires_at      INTEGER
) STRICT;

CREATE INDEX flows_expires_at ON flows (expires_at);

CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,
    token_hash      BLOB NOT NULL UNIQUE,
    user_id         TEXT NOT NULL,
    auth_time       INTEGER,
    amr             TEXT NOT NULL,
    user_agent      TEXT NOT NULL,
    created_at      INTEGER,
    last_seen_at    INTEGER,
    expires_at      INTEGER,
    idle_expires_at INTEGER
) STRICT;

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_idle_expires_at ON sessions (idle_expires_at);

CREATE TABLE access_tokens (
    id         TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    audience   TEXT NOT NULL,
    created_at INTEGER,
    expires_at INTEGER,
    revoked_at INTEGER
) STRICT;

CREATE INDEX access_tokens_family_id ON access_tokens (family_id);
CREATE INDEX access_tokens_user_id ON access_tokens (user_id, client_id);
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at);

CREATE TABLE refresh_tokens (
    id              TEXT PRIMARY KEY,
    token_hash      BLOB NOT NULL UNIQUE,
    family_id       TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    audience        TEXT NOT NULL,
    amr             TEXT NOT NULL,
    auth_time       INTEGER,
    created_at      INTEGER,
    expires_at      INTEGER,
    idle_expires_at INTEGER,
    used_at         INTEGER,
    revoked_at      INTEGER
) STRICT;

CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id, client_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_idle_expires_at ON refresh_tokens (idle_expires_at);

CREATE TABLE signing_keys (
    id          TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    private_key BLOB NOT NULL,
    created_at  INTEGER,
    active_at   INTEGER,
    expires_at  INTEGER,
    UNIQUE (algorithm, generation)
) STRICT;
