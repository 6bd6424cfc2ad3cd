-- Remembered consents (one per user and client) and the subject of a verified id_token_hint
-- on authorization requests.

CREATE TABLE consents (
    user_id    text NOT NULL,
    client_id  text NOT NULL,
    scopes     text[],
    granted_at timestamptz,
    PRIMARY KEY (user_id, client_id)
);

ALTER TABLE auth_requests ADD COLUMN id_token_hint_subject text NOT NULL DEFAULT '';
