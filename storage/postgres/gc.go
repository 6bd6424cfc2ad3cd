package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Garbage collection deletes rows whose validity ended at or before now ("valid" everywhere
// means "expires after now"). Rows without an expiry (NULL) are never collected.
const (
	sqlGCFlows = `DELETE FROM flows WHERE expires_at <= $1`
	// A request whose code can still be redeemed is live even if the request itself expired.
	sqlGCAuthRequests = `DELETE FROM auth_requests
    WHERE expires_at <= $1 AND (code_expires_at IS NULL OR code_expires_at <= $1)`
	sqlGCSessions      = `DELETE FROM sessions WHERE expires_at <= $1 OR idle_expires_at <= $1`
	sqlGCAccessTokens  = `DELETE FROM access_tokens WHERE expires_at <= $1`
	sqlGCRefreshTokens = `DELETE FROM refresh_tokens WHERE expires_at <= $1 OR idle_expires_at <= $1`
)

// GarbageCollect deletes the flows, auth requests, sessions, access and refresh tokens that
// expired at or before now, in one transaction. Live rows are untouched.
func (s *Store) GarbageCollect(ctx context.Context, now time.Time) error {
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		for _, q := range []string{sqlGCFlows, sqlGCAuthRequests, sqlGCSessions, sqlGCAccessTokens, sqlGCRefreshTokens} {
			if _, err := tx.Exec(ctx, q, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: garbage collect: %w", mapErr(err))
	}
	return nil
}
