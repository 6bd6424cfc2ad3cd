-- Abuse resistance: rate-limit counters, per-account failure runs, operator switches and the
-- audit log.

-- One row per key and fixed window; a Take is one upsert per key in one transaction.
CREATE TABLE rate_counters (
    key          text NOT NULL,
    window_start timestamptz NOT NULL,
    window_end   timestamptz NOT NULL,
    count        integer NOT NULL,
    PRIMARY KEY (key, window_start)
);

CREATE INDEX rate_counters_window_end ON rate_counters (window_end);

-- Consecutive failures of one factor ("password", "sms") of one account.
CREATE TABLE auth_failures (
    subject         text NOT NULL,
    factor          text NOT NULL,
    count           integer NOT NULL,
    last_failure_at timestamptz,
    blocked_until   timestamptz,
    PRIMARY KEY (subject, factor)
);

CREATE TABLE switches (
    name       text PRIMARY KEY,
    is_on      boolean NOT NULL,
    updated_at timestamptz
);

CREATE TABLE audit_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL,
    event        text NOT NULL,
    user_id      text NOT NULL,
    client_id    text NOT NULL,
    ip           text NOT NULL,
    request_id   text NOT NULL,
    phone_masked text NOT NULL,
    detail       text NOT NULL
);

CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_user_id ON audit_events (user_id, at);
