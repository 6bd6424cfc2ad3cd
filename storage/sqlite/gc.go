package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Expired means ExpiresAt (or, where there is one, IdleExpiresAt) <= now, the same edge at
// which the conditional updates stop accepting a row.
const (
	gcFlows         = `DELETE FROM flows WHERE expires_at <= ?`
	gcAuthRequests  = `DELETE FROM auth_requests WHERE expires_at <= ?`
	gcSessions      = `DELETE FROM sessions WHERE expires_at <= ?1 OR idle_expires_at <= ?1`
	gcAccessTokens  = `DELETE FROM access_tokens WHERE expires_at <= ?`
	gcRefreshTokens = `DELETE FROM refresh_tokens WHERE expires_at <= ?1 OR idle_expires_at <= ?1`
)

// GarbageCollect deletes the flows, auth requests, sessions, access and refresh tokens that
// have expired at now, in one transaction.
func (s *Store) GarbageCollect(ctx context.Context, now time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{gcFlows, gcAuthRequests, gcSessions, gcAccessTokens, gcRefreshTokens} {
			if _, err := tx.ExecContext(ctx, q, timeArg(now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: garbage collect: %w", err)
	}
	return nil
}
