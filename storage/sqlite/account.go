package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/otpidp/otpidp/storage"
)

// ReplaceRecoveryCodes removes the user's recovery codes and stores hashes as new ones.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, now time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		for _, h := range hashes {
			_, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, code_hash, created_at, used_at) VALUES (?, ?, ?, NULL)`,
				userID, h, timeArg(now))
			if err != nil {
				return insertErr(err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: replace recovery codes of user %q: %w", userID, err)
	}
	return nil
}

// ConsumeRecoveryCode spends an unused recovery code once; ErrConflict when none matched.
func (s *Store) ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`,
		timeArg(now), userID, hash)
	if err != nil {
		return fmt.Errorf("sqlite: consume recovery code of user %q: %w", userID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: consume recovery code of user %q: %w", userID, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: consume recovery code of user %q: %w", userID, storage.ErrConflict)
	}
	return nil
}

// CountRecoveryCodes returns how many unused recovery codes the user has.
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count recovery codes of user %q: %w", userID, err)
	}
	return n, nil
}

const listUserGrants = `SELECT client_id, MIN(created_at), MAX(created_at), COUNT(*) FROM (
    SELECT client_id, created_at FROM access_tokens
    WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?
    UNION ALL
    SELECT client_id, created_at FROM refresh_tokens
    WHERE user_id = ? AND revoked_at IS NULL AND used_at IS NULL AND expires_at > ? AND idle_expires_at > ?
) GROUP BY client_id ORDER BY client_id`

// ListUserGrants returns the clients holding live tokens of the user.
func (s *Store) ListUserGrants(ctx context.Context, userID string, now time.Time) ([]storage.Grant, error) {
	if userID == "" {
		return nil, nil
	}
	n := timeArg(now)
	rows, err := s.r.QueryContext(ctx, listUserGrants, userID, n, userID, n, n)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list grants of user %q: %w", userID, err)
	}
	defer rows.Close()
	var out []storage.Grant
	for rows.Next() {
		var g storage.Grant
		if err := rows.Scan(&g.ClientID, timeCol(&g.FirstAt), timeCol(&g.LastAt), &g.LiveCount); err != nil {
			return nil, fmt.Errorf("sqlite: list grants of user %q: %w", userID, err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list grants of user %q: %w", userID, err)
	}
	return out, nil
}
