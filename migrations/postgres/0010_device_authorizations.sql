-- Device authorization grants (RFC 8628): device and user codes stored only as SHA-256 hashes.

CREATE TABLE device_authorizations (
    id               text PRIMARY KEY,
    device_code_hash bytea NOT NULL UNIQUE,
    user_code_hash   bytea NOT NULL UNIQUE,
    client_id        text NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes           text[] NOT NULL,
    last_polled_at   timestamptz,
    user_id          text NOT NULL,
    auth_time        timestamptz,
    amr              text[] NOT NULL,
    approved_at      timestamptz,
    denied_at        timestamptz,
    used_at          timestamptz,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL
);

CREATE INDEX device_authorizations_expires_at_idx ON device_authorizations (expires_at);
