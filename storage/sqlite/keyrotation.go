package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/otpidp/otpidp/storage"
)

const retireSigningKeys = `UPDATE signing_keys SET expires_at = ?
WHERE algorithm = ? AND generation < ? AND expires_at IS NULL`

// RotateSigningKey stores next and retires the older keys of its algorithm at retireAt, in one
// transaction; ErrAlreadyExists when another rotation took next's generation.
func (s *Store) RotateSigningKey(ctx context.Context, next storage.SigningKey, retireAt time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insertSigningKey, next.ID, next.Algorithm, next.Generation,
			next.PrivateKey, timeArg(next.CreatedAt), timeArg(next.ActiveAt), timeArg(next.ExpiresAt)); err != nil {
			return insertErr(err)
		}
		_, err := tx.ExecContext(ctx, retireSigningKeys, timeArg(retireAt), next.Algorithm, next.Generation)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: rotate to signing key %q (%s generation %d): %w", next.ID, next.Algorithm, next.Generation, err)
	}
	return nil
}
