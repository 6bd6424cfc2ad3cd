-- Client profiles (client_credentials scopes, private_key_jwt keys, ID token algorithm) and
-- the IDs of client assertions already used (RFC 7523 §3: a jti is accepted once).

CREATE TABLE client_profiles (
    client_id    text PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    auth_method  text NOT NULL,
    scopes       text[] NOT NULL,
    jwks         bytea,
    jwks_uri     text NOT NULL,
    id_token_alg text NOT NULL
);

CREATE TABLE client_assertion_ids (
    client_id  text NOT NULL,
    jti        text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);

CREATE INDEX client_assertion_ids_expires_at_idx ON client_assertion_ids (expires_at);
