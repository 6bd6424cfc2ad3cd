-- Remembered consents (one per user and client) and the subject of a verified id_token_hint
-- on authorization requests.

CREATE TABLE consents (
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    granted_at INTEGER,
    PRIMARY KEY (user_id, client_id)
) STRICT;

ALTER TABLE auth_requests ADD COLUMN id_token_hint_subject TEXT NOT NULL DEFAULT '';
