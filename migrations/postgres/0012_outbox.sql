-- The outbox: deliveries decided by a request and sent by a background drainer on any
-- instance (text messages; later back-channel logout tokens). The payload is sealed by the
-- producer and cleared once the message is settled.
CREATE TABLE outbox (
    id               text PRIMARY KEY,
    kind             text NOT NULL,
    payload          bytea,
    state            text NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    expires_at       timestamptz,
    lease_owner      text NOT NULL DEFAULT '',
    lease_expires_at timestamptz,
    last_error       text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);

CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_settled ON outbox (state, updated_at);
