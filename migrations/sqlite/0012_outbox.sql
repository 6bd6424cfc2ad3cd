-- The outbox: deliveries decided by a request and sent by a background drainer on any
-- instance (text messages; later back-channel logout tokens). The payload is sealed by the
-- producer and cleared once the message is settled.
CREATE TABLE outbox (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    payload          BLOB,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    expires_at       INTEGER,
    lease_owner      TEXT NOT NULL DEFAULT '',
    lease_expires_at INTEGER,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_settled ON outbox (state, updated_at);
