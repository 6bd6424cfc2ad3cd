-- Client profiles (client_credentials scopes, private_key_jwt keys, ID token algorithm) and
-- the IDs of client assertions already used (RFC 7523 §3: a jti is accepted once).

CREATE TABLE client_profiles (
    client_id    TEXT PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    auth_method  TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    jwks         BLOB,
    jwks_uri     TEXT NOT NULL,
    id_token_alg TEXT NOT NULL
) STRICT;

CREATE TABLE client_assertion_ids (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
) STRICT;

CREATE INDEX client_assertion_ids_expires_at ON client_assertion_ids (expires_at);
