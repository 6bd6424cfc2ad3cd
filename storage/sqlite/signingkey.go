package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/otpidp/otpidp/storage"
)

const signingKeyCols = `id, algorithm, generation, private_key, created_at, active_at, expires_at`

func scanSigningKey(sc scanner) (storage.SigningKey, error) {
	var k storage.SigningKey
	err := sc.Scan(&k.ID, &k.Algorithm, &k.Generation, &k.PrivateKey, timeCol(&k.CreatedAt),
		timeCol(&k.ActiveAt), timeCol(&k.ExpiresAt))
	return k, err
}

const insertSigningKey = `INSERT INTO signing_keys (` + signingKeyCols + `) VALUES (?, ?, ?, ?, ?, ?, ?)`

// CreateSigningKey stores k; ErrAlreadyExists when its ID or its (Algorithm, Generation) is
// taken.
func (s *Store) CreateSigningKey(ctx context.Context, k storage.SigningKey) error {
	_, err := s.w.ExecContext(ctx, insertSigningKey, k.ID, k.Algorithm, k.Generation,
		k.PrivateKey, timeArg(k.CreatedAt), timeArg(k.ActiveAt), timeArg(k.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlite: create signing key %q: %w", k.ID, insertErr(err))
	}
	return nil
}

const listSigningKeys = `SELECT ` + signingKeyCols + ` FROM signing_keys
ORDER BY algorithm, generation DESC`

// ListSigningKeys returns every key, newest generation first within each algorithm.
func (s *Store) ListSigningKeys(ctx context.Context) ([]storage.SigningKey, error) {
	rows, err := s.r.QueryContext(ctx, listSigningKeys)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list signing keys: %w", err)
	}
	defer rows.Close()
	var ks []storage.SigningKey
	for rows.Next() {
		k, err := scanSigningKey(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list signing keys: %w", err)
		}
		ks = append(ks, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list signing keys: %w", err)
	}
	return ks, nil
}

const deleteExpiredSigningKeys = `DELETE FROM signing_keys WHERE expires_at IS NOT NULL AND expires_at <= ?`

// DeleteExpiredSigningKeys removes the keys whose ExpiresAt is set and <= now.
func (s *Store) DeleteExpiredSigningKeys(ctx context.Context, now time.Time) error {
	if _, err := s.w.ExecContext(ctx, deleteExpiredSigningKeys, timeArg(now)); err != nil {
		return fmt.Errorf("sqlite: delete expired signing keys: %w", err)
	}
	return nil
}
