package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otpidp/otpidp/storage"
)

const signingKeyColumns = `id, algorithm, generation, private_key, created_at, active_at, expires_at`

type signingKeyRow struct {
	ID         string             `db:"id"`
	Algorithm  string             `db:"algorithm"`
	Generation int32              `db:"generation"`
	PrivateKey []byte             `db:"private_key"`
	CreatedAt  pgtype.Timestamptz `db:"created_at"`
	ActiveAt   pgtype.Timestamptz `db:"active_at"`
	ExpiresAt  pgtype.Timestamptz `db:"expires_at"`
}

func (r signingKeyRow) signingKey() storage.SigningKey {
	return storage.SigningKey{
		ID:         r.ID,
		Algorithm:  r.Algorithm,
		Generation: int(r.Generation),
		PrivateKey: r.PrivateKey,
		CreatedAt:  tm(r.CreatedAt),
		ActiveAt:   tm(r.ActiveAt),
		ExpiresAt:  tm(r.ExpiresAt),
	}
}

const sqlSigningKeyInsert = `INSERT INTO signing_keys (` + signingKeyColumns + `)
    VALUES ($1, $2, $3, $4, $5, $6, $7)`

// CreateSigningKey stores k: ErrAlreadyExists when its ID or its (Algorithm, Generation) is
// taken.
func (s *Store) CreateSigningKey(ctx context.Context, k storage.SigningKey) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, sqlSigningKeyInsert,
			k.ID, k.Algorithm, k.Generation, k.PrivateKey, ts(k.CreatedAt), ts(k.ActiveAt), ts(k.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: create signing key %q (%s generation %d): %w", k.ID, k.Algorithm, k.Generation, mapErr(err))
	}
	return nil
}

const sqlSigningKeyList = `SELECT ` + signingKeyColumns + ` FROM signing_keys
    ORDER BY algorithm, generation DESC`

// ListSigningKeys returns all keys, newest generation first within each algorithm.
func (s *Store) ListSigningKeys(ctx context.Context) ([]storage.SigningKey, error) {
	var rs []signingKeyRow
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, sqlSigningKeyList)
		if err != nil {
			return err
		}
		rs, err = pgx.CollectRows(rows, pgx.RowToStructByName[signingKeyRow])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list signing keys: %w", mapErr(err))
	}
	ks := make([]storage.SigningKey, len(rs))
	for i, r := range rs {
		ks[i] = r.signingKey()
	}
	return ks, nil
}

const sqlSigningKeyDeleteExpired = `DELETE FROM signing_keys WHERE expires_at IS NOT NULL AND expires_at <= $1`

// DeleteExpiredSigningKeys removes keys whose ExpiresAt is set and <= now.
func (s *Store) DeleteExpiredSigningKeys(ctx context.Context, now time.Time) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, sqlSigningKeyDeleteExpired, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete expired signing keys: %w", mapErr(err))
	}
	return nil
}
