-- Device authorization grants (RFC 8628): device and user codes stored only as SHA-256 hashes.

CREATE TABLE device_authorizations (
    id               TEXT PRIMARY KEY,
    device_code_hash BLOB NOT NULL UNIQUE,
    user_code_hash   BLOB NOT NULL UNIQUE,
    client_id        TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes           TEXT NOT NULL,
    last_polled_at   INTEGER,
    user_id          TEXT NOT NULL,
    auth_time        INTEGER,
    amr              TEXT NOT NULL,
    approved_at      INTEGER,
    denied_at        INTEGER,
    used_at          INTEGER,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX device_authorizations_expires_at ON device_authorizations (expires_at);
