package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

const insertSecret = `INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`

const selectSecret = `SELECT value FROM secrets WHERE name = ?`

// Secret returns the named secret, storing value first if the name is new. The first writer
// wins; everyone gets its bytes.
func (s *Store) Secret(ctx context.Context, name string, value []byte) ([]byte, error) {
	var got []byte
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insertSecret, name, value); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, selectSecret, name).Scan(&got)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: secret %q: %w", name, err)
	}
	return got, nil
}
