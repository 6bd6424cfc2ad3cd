-- Delivery records of text messages: idempotent sending and delivery rates. Never the body or
-- the phone number.
CREATE TABLE sms_messages (
    key         TEXT PRIMARY KEY,
    provider    TEXT NOT NULL,
    sid         TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    status_rank INTEGER NOT NULL,
    error_code  INTEGER NOT NULL DEFAULT 0,
    country     TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX sms_messages_sid ON sms_messages (sid) WHERE sid <> '';
CREATE INDEX sms_messages_created_at ON sms_messages (created_at);
