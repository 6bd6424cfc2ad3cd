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

// ReplaceRecoveryCodes removes the user's recovery codes and stores hashes as new ones.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, now time.Time) error {
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
			return err
		}
		for _, h := range hashes {
			if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)`,
				userID, h, ts(now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: replace recovery codes: %w", mapErr(err))
	}
	return nil
}

// ConsumeRecoveryCode spends an unused recovery code once; ErrConflict when none matched.
func (s *Store) ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) error {
	var n int64
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		tag, err := c.Exec(ctx, `UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL`,
			ts(now), userID, hash)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: consume recovery code: %w", mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("postgres: consume recovery code: %w", storage.ErrConflict)
	}
	return nil
}

// CountRecoveryCodes returns how many unused recovery codes the user has.
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		return c.QueryRow(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: count recovery codes: %w", mapErr(err))
	}
	return n, nil
}

const sqlListUserGrants = `SELECT client_id, MIN(created_at) AS first_at, MAX(created_at) AS last_at, COUNT(*) AS live_count FROM (
    SELECT client_id, created_at FROM access_tokens
    WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
    UNION ALL
    SELECT client_id, created_at FROM refresh_tokens
    WHERE user_id = $1 AND revoked_at IS NULL AND used_at IS NULL AND expires_at > $2 AND idle_expires_at > $2
) AS live GROUP BY client_id ORDER BY client_id`

type grantRow struct {
	ClientID  string             `db:"client_id"`
	FirstAt   pgtype.Timestamptz `db:"first_at"`
	LastAt    pgtype.Timestamptz `db:"last_at"`
	LiveCount int                `db:"live_count"`
}

// ListUserGrants returns the clients holding live tokens of the user.
func (s *Store) ListUserGrants(ctx context.Context, userID string, now time.Time) ([]storage.Grant, error) {
	if userID == "" {
		return nil, nil
	}
	var out []storage.Grant
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, sqlListUserGrants, userID, now)
		if err != nil {
			return err
		}
		rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[grantRow])
		if err != nil {
			return err
		}
		for _, r := range rs {
			out = append(out, storage.Grant{ClientID: r.ClientID, FirstAt: tm(r.FirstAt), LastAt: tm(r.LastAt), LiveCount: r.LiveCount})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list grants: %w", mapErr(err))
	}
	return out, nil
}
