package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/otpidp/otpidp/storage"
)

const sqlSigningKeyRetire = `UPDATE signing_keys SET expires_at = $1
    WHERE algorithm = $2 AND generation < $3 AND expires_at IS NULL`

// RotateSigningKey stores next and retires the older keys of its algorithm at retireAt, in one
// transaction; ErrAlreadyExists when another rotation took next's generation.
func (s *Store) RotateSigningKey(ctx context.Context, next storage.SigningKey, retireAt time.Time) error {
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlSigningKeyInsert, next.ID, next.Algorithm, next.Generation,
			next.PrivateKey, ts(next.CreatedAt), ts(next.ActiveAt), ts(next.ExpiresAt)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, sqlSigningKeyRetire, ts(retireAt), next.Algorithm, next.Generation)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: rotate to signing key %q (%s generation %d): %w", next.ID, next.Algorithm, next.Generation, mapErr(err))
	}
	return nil
}
