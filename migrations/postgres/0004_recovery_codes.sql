-- Recovery codes: single-use look-up secrets shown once to the user, stored only as keyed hashes.
CREATE TABLE recovery_codes (
    user_id    text NOT NULL,
    code_hash  bytea NOT NULL,
    created_at timestamptz,
    used_at    timestamptz,
    PRIMARY KEY (user_id, code_hash)
);
