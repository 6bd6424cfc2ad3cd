-- Abuse resistance: rate-limit counters, per-account failure runs, operator switches and the
-- audit log.

-- One row per key and fixed window; a Take is one upsert per key in one transaction.
CREATE TABLE rate_counters (
    key          TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    window_end   INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) STRICT;

CREATE INDEX rate_counters_window_end ON rate_counters (window_end);

-- Consecutive failures of one factor ("password", "sms") of one account.
CREATE TABLE auth_failures (
    subject         TEXT NOT NULL,
    factor          TEXT NOT NULL,
    count           INTEGER NOT NULL,
    last_failure_at INTEGER,
    blocked_until   INTEGER,
    PRIMARY KEY (subject, factor)
) STRICT;

CREATE TABLE switches (
    name       TEXT PRIMARY KEY,
    is_on      INTEGER NOT NULL,
    updated_at INTEGER
) STRICT;

CREATE TABLE audit_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           INTEGER NOT NULL,
    event        TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    client_id    TEXT NOT NULL,
    ip           TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    phone_masked TEXT NOT NULL,
    detail       TEXT NOT NULL
) STRICT;

CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_user_id ON audit_events (user_id, at);
