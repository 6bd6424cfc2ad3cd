package sqlite

import (
	"context"
	"fmt"
)

// AppliedMigrations returns the versions recorded in schema_migrations, in order.
func AppliedMigrations(ctx context.Context, s *Store) ([]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("applied migrations: %w", err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("applied migrations: %w", err)
		}
		vs = append(vs, v)
	}
	return vs, rows.Err()
}
