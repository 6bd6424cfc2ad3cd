package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otpidp/otpidp/storage"
)

// Session IDs and token hashes stay out of errors: errors end up in logs.

const sessionColumns = `id, token_hash, user_id, auth_time, amr, user_agent, created_at,
    last_seen_at, expires_at, idle_expires_at`

type sessionRow struct {
	ID            string             `db:"id"`
	TokenHash     []byte             `db:"token_hash"`
	UserID        string             `db:"user_id"`
	AuthTime      pgtype.Timestamptz `db:"auth_time"`
	AMR           []string           `db:"amr"`
	UserAgent     string             `db:"user_agent"`
	CreatedAt     pgtype.Timestamptz `db:"created_at"`
	LastSeenAt    pgtype.Timestamptz `db:"last_seen_at"`
	ExpiresAt     pgtype.Timestamptz `db:"expires_at"`
	IdleExpiresAt pgtype.Timestamptz `db:"idle_expires_at"`
}

func (r sessionRow) session() storage.Session {
	return storage.Session{
		ID:            r.ID,
		TokenHash:     r.TokenHash,
		UserID:        r.UserID,
		AuthTime:      tm(r.AuthTime),
		AMR:           r.AMR,
		UserAgent:     r.UserAgent,
		CreatedAt:     tm(r.CreatedAt),
		LastSeenAt:    tm(r.LastSeenAt),
		ExpiresAt:     tm(r.ExpiresAt),
		IdleExpiresAt: tm(r.IdleExpiresAt),
	}
}

const sqlSessionInsert = `INSERT INTO sessions (` + sessionColumns + `)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

// CreateSession stores se: ErrAlreadyExists when its ID or token hash is taken.
func (s *Store) CreateSession(ctx context.Context, se storage.Session) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, sqlSessionInsert,
			se.ID, se.TokenHash, se.UserID, ts(se.AuthTime), se.AMR, se.UserAgent,
			ts(se.CreatedAt), ts(se.LastSeenAt), ts(se.ExpiresAt), ts(se.IdleExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: create session: %w", mapErr(err))
	}
	return nil
}

const sqlSessionGetByHash = `SELECT ` + sessionColumns + ` FROM sessions
    WHERE token_hash = $1 AND expires_at > $2 AND idle_expires_at > $2`

// GetSessionByHash returns the session whose TokenHash is tokenHash if it is still valid at
// now; ErrNotFound otherwise.
func (s *Store) GetSessionByHash(ctx context.Context, tokenHash []byte, now time.Time) (storage.Session, error) {
	var row sessionRow
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		// now itself, not ts(now): a zero now is the earliest instant, not NULL.
		rows, err := c.Query(ctx, sqlSessionGetByHash, tokenHash, now)
		if err != nil {
			return err
		}
		row, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[sessionRow])
		return err
	})
	if err != nil {
		return storage.Session{}, fmt.Errorf("postgres: get session: %w", mapErr(err))
	}
	return row.session(), nil
}

// LEAST ignores NULL: a session without an absolute expiry takes idleExpiresAt as it is.
const sqlSessionTouch = `UPDATE sessions
    SET last_seen_at = $2, idle_expires_at = LEAST($3::timestamptz, expires_at)
    WHERE id = $1`

// TouchSession records activity: LastSeenAt = now and IdleExpiresAt = idleExpiresAt, which is
// capped at the session's ExpiresAt. ErrNotFound when the session is absent.
func (s *Store) TouchSession(ctx context.Context, id string, now, idleExpiresAt time.Time) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		tag, err := c.Exec(ctx, sqlSessionTouch, id, ts(now), ts(idleExpiresAt))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return storage.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: touch session: %w", mapErr(err))
	}
	return nil
}

const sqlSessionDelete = `DELETE FROM sessions WHERE id = $1`

// DeleteSession deletes the session; deleting an absent session is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, sqlSessionDelete, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete session: %w", mapErr(err))
	}
	return nil
}

const sqlSessionDeleteUser = `DELETE FROM sessions WHERE user_id = $1`

// DeleteUserSessions deletes every session of the user.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, sqlSessionDeleteUser, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete sessions of user %q: %w", userID, mapErr(err))
	}
	return nil
}

const sqlSessionListUser = `SELECT ` + sessionColumns + ` FROM sessions
    WHERE user_id = $1 AND expires_at > $2 AND idle_expires_at > $2
    ORDER BY created_at ASC NULLS FIRST, id`

// ListUserSessions returns the user's sessions still valid at now, oldest first.
func (s *Store) ListUserSessions(ctx context.Context, userID string, now time.Time) ([]storage.Session, error) {
	var rs []sessionRow
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, sqlSessionListUser, userID, now)
		if err != nil {
			return err
		}
		rs, err = pgx.CollectRows(rows, pgx.RowToStructByName[sessionRow])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list sessions of user %q: %w", userID, mapErr(err))
	}
	ss := make([]storage.Session, len(rs))
	for i, r := range rs {
		ss[i] = r.session()
	}
	return ss, nil
}
