-- otpidp schema for PostgreSQL.
--
-- Conventions: times are timestamptz, written and read in UTC; NULL is the zero time. String
-- lists are text[] (NULL is a nil list). Hashes, keys and secrets are bytea. Times are always
-- the caller's clock: no column defaults to now().
--
-- No foreign keys: records refer to each other by ID, and garbage collection deletes each kind
-- on its own expiry.

CREATE TABLE secrets (
    name  text PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE users (
    id             text PRIMARY KEY,
    phone          text NOT NULL,
    phone_verified boolean NOT NULL,
    name           text NOT NULL,
    password_hash  text NOT NULL,
    created_at     timestamptz,
    updated_at     timestamptz,
    CONSTRAINT users_phone_key UNIQUE (phone)
);

CREATE TABLE clients (
    id                        text PRIMARY KEY,
    secret_hash               bytea,
    name                      text NOT NULL,
    redirect_uris             text[],
    post_logout_redirect_uris text[],
    public                    boolean NOT NULL,
    grant_types               text[],
    access_token_format       text NOT NULL,
    first_party               boolean NOT NULL,
    created_at                timestamptz
);

CREATE INDEX clients_created_at_idx ON clients (created_at, id);

CREATE TABLE auth_requests (
    id                    text PRIMARY KEY,
    client_id             text NOT NULL,
    redirect_uri          text NOT NULL,
    scopes                text[],
    state                 text NOT NULL,
    nonce                 text NOT NULL,
    response_type         text NOT NULL,
    response_mode         text NOT NULL,
    code_challenge        text NOT NULL,
    code_challenge_method text NOT NULL,
    prompt                text[],
    max_age               bigint NOT NULL,
    login_hint            text NOT NULL,
    ui_locales            text[],
    browser_hash          bytea,
    user_id               text NOT NULL,
    auth_time             timestamptz,
    amr                   text[],
    completed_at          timestamptz,
    code_hash             bytea,
    code_expires_at       timestamptz,
    code_used_at          timestamptz,
    created_at            timestamptz,
    expires_at            timestamptz,
    CONSTRAINT auth_requests_code_hash_key UNIQUE (code_hash)
);

CREATE INDEX auth_requests_expires_at_idx ON auth_requests (expires_at);

CREATE TABLE flows (
    id              text PRIMARY KEY,
    kind            text NOT NULL,
    auth_request_id text NOT NULL,
    user_id         text NOT NULL,
    phone           text NOT NULL,
    name            text NOT NULL,
    password_hash   text NOT NULL,
    browser_hash    bytea,
    code_hash       bytea,
    code_expires_at timestamptz,
    code_sent_at    timestamptz,
    code_attempts   integer NOT NULL,
    send_count      integer NOT NULL,
    code_used_at    timestamptz,
    created_at      timestamptz,
    expires_at      timestamptz
);

CREATE INDEX flows_expires_at_idx ON flows (expires_at);

CREATE TABLE sessions (
    id              text PRIMARY KEY,
    token_hash      bytea NOT NULL,
    user_id         text NOT NULL,
    auth_time       timestamptz,
    amr             text[],
    user_agent      text NOT NULL,
    created_at      timestamptz,
    last_seen_at    timestamptz,
    expires_at      timestamptz,
    idle_expires_at timestamptz,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX sessions_idle_expires_at_idx ON sessions (idle_expires_at);

CREATE TABLE access_tokens (
    id         text PRIMARY KEY,
    family_id  text NOT NULL,
    client_id  text NOT NULL,
    user_id    text NOT NULL,
    scopes     text[],
    audience   text[],
    created_at timestamptz,
    expires_at timestamptz,
    revoked_at timestamptz
);

CREATE INDEX access_tokens_family_id_idx ON access_tokens (family_id);
CREATE INDEX access_tokens_user_id_idx ON access_tokens (user_id, client_id);
CREATE INDEX access_tokens_expires_at_idx ON access_tokens (expires_at);

CREATE TABLE refresh_tokens (
    id              text PRIMARY KEY,
    token_hash      bytea NOT NULL,
    family_id       text NOT NULL,
    client_id       text NOT NULL,
    user_id         text NOT NULL,
    scopes          text[],
    audience        text[],
    amr             text[],
    auth_time       timestamptz,
    created_at      timestamptz,
    expires_at      timestamptz,
    idle_expires_at timestamptz,
    used_at         timestamptz,
    revoked_at      timestamptz,
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash)
);

CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id, client_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_idle_expires_at_idx ON refresh_tokens (idle_expires_at);

CREATE TABLE signing_keys (
    id          text PRIMARY KEY,
    algorithm   text NOT NULL,
    generation  integer NOT NULL,
    private_key bytea NOT NULL,
    created_at  timestamptz,
    active_at   timestamptz,
    expires_at  timestamptz,
    CONSTRAINT signing_keys_algorithm_generation_key UNIQUE (algorithm, generation)
);
