package sqlite

import (
	"context"
	"fmt"
	"time"
)

// UpdateUserName sets the user's name; ErrNotFound when absent.
func (s *Store) UpdateUserName(ctx context.Context, id, name string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE users SET name = ?, updated_at = ? WHERE id = ?`, name, timeArg(now), id)
	if err == nil {
		err = affected(res)
	}
	if err != nil {
		return fmt.Errorf("sqlite: update name of user %q: %w", id, err)
	}
	return nil
}
