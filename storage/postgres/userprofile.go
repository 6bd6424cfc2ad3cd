package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otpidp/otpidp/storage"
)

// UpdateUserName sets the user's name and UpdatedAt = now.
func (s *Store) UpdateUserName(ctx context.Context, id, name string, now time.Time) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		tag, err := c.Exec(ctx, `UPDATE users SET name = $2, updated_at = $3 WHERE id = $1`, id, name, ts(now))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return storage.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: update name of user %q: %w", id, mapErr(err))
	}
	return nil
}
