-- Recovery codes: single-use look-up secrets shown once to the user, stored only as keyed hashes.
CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL,
    code_hash  BLOB NOT NULL,
    created_at INTEGER,
    used_at    INTEGER,
    PRIMARY KEY (user_id, code_hash)
) STRICT;
