package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

var errBadRebind = errors.New("both hashes must be set and differ")

const (
	sqlRebindFlow         = `UPDATE flows SET browser_hash = $2 WHERE id = $1 AND browser_hash = $3`
	sqlRebindFlows        = `UPDATE flows SET browser_hash = $2 WHERE browser_hash = $1`
	sqlRebindAuthRequests = `UPDATE auth_requests SET browser_hash = $2 WHERE browser_hash = $1`
)

// RebindBrowser moves the flows and authorization requests bound to oldHash to newHash, in one
// transaction; flowID, when set, must be one of them.
func (s *Store) RebindBrowser(ctx context.Context, oldHash, newHash []byte, flowID string) error {
	if len(oldHash) == 0 || len(newHash) == 0 || bytes.Equal(oldHash, newHash) {
		return fmt.Errorf("postgres: rebind browser: %w", errBadRebind)
	}
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		if flowID != "" {
			tag, err := tx.Exec(ctx, sqlRebindFlow, flowID, newHash, oldHash)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return conflictOrNotFound(ctx, tx, sqlFlowExists, flowID)
			}
		}
		if _, err := tx.Exec(ctx, sqlRebindFlows, oldHash, newHash); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, sqlRebindAuthRequests, oldHash, newHash)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: rebind browser: %w", mapErr(err))
	}
	return nil
}
