package postgres

import "github.com/jackc/pgx/v5/pgxpool"

// Stat is a snapshot of the connection pool's use and waits, for metrics.
func (s *Store) Stat() *pgxpool.Stat { return s.pool.Stat() }
