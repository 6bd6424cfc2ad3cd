package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/otpidp/otpidp/storage"
)

const sessionCols = `id, token_hash, user_id, auth_time, amr, user_agent, created_at, last_seen_at,
    expires_at, idle_expires_at`

func scanSession(sc scanner) (storage.Session, error) {
	var ss storage.Session
	err := sc.Scan(&ss.ID, &ss.TokenHash, &ss.UserID, timeCol(&ss.AuthTime), listCol(&ss.AMR),
		&ss.UserAgent, timeCol(&ss.CreatedAt), timeCol(&ss.LastSeenAt), timeCol(&ss.ExpiresAt),
		timeCol(&ss.IdleExpiresAt))
	return ss, err
}

const insertSession = `INSERT INTO sessions (` + sessionCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// CreateSession stores ss; ErrAlreadyExists when its ID or token hash is taken.
func (s *Store) CreateSession(ctx context.Context, ss storage.Session) error {
	_, err := s.w.ExecContext(ctx, insertSession, ss.ID, ss.TokenHash, ss.UserID,
		timeArg(ss.AuthTime), listArg(ss.AMR), ss.UserAgent, timeArg(ss.CreatedAt),
		timeArg(ss.LastSeenAt), timeArg(ss.ExpiresAt), timeArg(ss.IdleExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlite: create session %q: %w", ss.ID, insertErr(err))
	}
	return nil
}

const selectSessionByHash = `SELECT ` + sessionCols + ` FROM sessions
WHERE token_hash = ? AND expires_at > ? AND idle_expires_at > ?`

// GetSessionByHash returns the session with that token hash if it is valid at now.
func (s *Store) GetSessionByHash(ctx context.Context, tokenHash []byte, now time.Time) (storage.Session, error) {
	ss, err := scanSession(s.r.QueryRowContext(ctx, selectSessionByHash, tokenHash, timeArg(now), timeArg(now)))
	if err != nil {
		return storage.Session{}, fmt.Errorf("sqlite: get session by hash: %w", getErr(err))
	}
	return ss, nil
}

const touchSession = `UPDATE sessions SET last_seen_at = ?, idle_expires_at = ? WHERE id = ?`

// TouchSession records activity; ErrNotFound when the session is absent.
func (s *Store) TouchSession(ctx context.Context, id string, now, idleExpiresAt time.Time) error {
	res, err := s.w.ExecContext(ctx, touchSession, timeArg(now), timeArg(idleExpiresAt), id)
	if err == nil {
		err = affected(res)
	}
	if err != nil {
		return fmt.Errorf("sqlite: touch session %q: %w", id, err)
	}
	return nil
}

const deleteSession = `DELETE FROM sessions WHERE id = ?`

// DeleteSession removes the session; deleting an absent session is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.w.ExecContext(ctx, deleteSession, id); err != nil {
		return fmt.Errorf("sqlite: delete session %q: %w", id, err)
	}
	return nil
}

const deleteUserSessions = `DELETE FROM sessions WHERE user_id = ?`

// DeleteUserSessions removes every session of the user.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) error {
	if _, err := s.w.ExecContext(ctx, deleteUserSessions, userID); err != nil {
		return fmt.Errorf("sqlite: delete sessions of user %q: %w", userID, err)
	}
	return nil
}

const listUserSessions = `SELECT ` + sessionCols + ` FROM sessions
WHERE user_id = ? AND expires_at > ? AND idle_expires_at > ?
ORDER BY created_at, id`

// ListUserSessions returns the user's sessions valid at now, oldest first.
func (s *Store) ListUserSessions(ctx context.Context, userID string, now time.Time) ([]storage.Session, error) {
	rows, err := s.r.QueryContext(ctx, listUserSessions, userID, timeArg(now), timeArg(now))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list sessions of user %q: %w", userID, err)
	}
	defer rows.Close()
	var out []storage.Session
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list sessions of user %q: %w", userID, err)
		}
		out = append(out, ss)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list sessions of user %q: %w", userID, err)
	}
	return out, nil
}
