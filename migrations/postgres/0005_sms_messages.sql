-- Delivery records of text messages: idempotent sending and delivery rates. Never the body or
-- the phone number.
CREATE TABLE sms_messages (
    key         text PRIMARY KEY,
    provider    text NOT NULL,
    sid         text NOT NULL DEFAULT '',
    status      text NOT NULL,
    status_rank integer NOT NULL,
    error_code  integer NOT NULL DEFAULT 0,
    country     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE INDEX sms_messages_sid ON sms_messages (sid) WHERE sid <> '';
CREATE INDEX sms_messages_created_at ON sms_messages (created_at);
