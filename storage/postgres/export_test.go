package postgres

import (
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Pool exposes the store's pool to the tests (to hold connections, to read raw columns).
func Pool(s *Store) *pgxpool.Pool { return s.pool }

// SetAcquireTimeout changes how long the store waits for a free connection.
func SetAcquireTimeout(s *Store, d time.Duration) { s.acquireTimeout = d }
