-- Operators manage accounts: a user can be disabled (disabled_at set: no sign-in) and deleted.
-- A deleted user's row leaves users (its name, number and password hash are gone); its ID stays
-- in deleted_users so that it is never given to anyone else (the sub is never reused).

ALTER TABLE users ADD COLUMN disabled_at INTEGER;

CREATE INDEX users_created_at ON users (created_at, id);

CREATE TABLE deleted_users (
    id         TEXT PRIMARY KEY,
    deleted_at INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_created_at ON sessions (created_at, id);
