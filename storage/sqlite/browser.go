package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
)

var errBadRebind = errors.New("both hashes must be set and differ")

// RebindBrowser moves the flows and authorization requests bound to oldHash to newHash, in one
// transaction; flowID, when set, must be one of them.
func (s *Store) RebindBrowser(ctx context.Context, oldHash, newHash []byte, flowID string) error {
	if len(oldHash) == 0 || len(newHash) == 0 || bytes.Equal(oldHash, newHash) {
		return fmt.Errorf("sqlite: rebind browser: %w", errBadRebind)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if flowID != "" {
			res, err := tx.ExecContext(ctx, `UPDATE flows SET browser_hash = ? WHERE id = ? AND browser_hash = ?`, newHash, flowID, oldHash)
			if err != nil {
				return err
			}
			if err := affected(res); err != nil {
				return conflictOrNotFound(ctx, tx, flowExists, flowID)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE flows SET browser_hash = ? WHERE browser_hash = ?`, newHash, oldHash); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE auth_requests SET browser_hash = ? WHERE browser_hash = ?`, newHash, oldHash)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: rebind browser: %w", err)
	}
	return nil
}
