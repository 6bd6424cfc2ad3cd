package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/otpidp/otpidp/storage"
)

const insertClientProfile = `INSERT INTO client_profiles
    (client_id, auth_method, scopes, jwks, jwks_uri, id_token_alg, id_token_claims) VALUES (?, ?, ?, ?, ?, ?, ?)`

// CreateClientWithProfile stores c and p in one transaction.
func (s *Store) CreateClientWithProfile(ctx context.Context, c storage.Client, p storage.ClientProfile) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insertClient, c.ID, c.SecretHash, c.Name,
			listArg(c.RedirectURIs), listArg(c.PostLogoutRedirectURIs), boolArg(c.Public),
			listArg(c.GrantTypes), c.AccessTokenFormat, boolArg(c.FirstParty), timeArg(c.CreatedAt)); err != nil {
			return insertErr(err)
		}
		_, err := tx.ExecContext(ctx, insertClientProfile, c.ID, p.AuthMethod, listArg(p.Scopes),
			p.JWKS, p.JWKSURI, p.IDTokenAlg, boolArg(p.IDTokenClaims))
		return insertErr(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: create client %q with profile: %w", c.ID, err)
	}
	return nil
}

const selectClientProfile = `SELECT client_id, auth_method, scopes, jwks, jwks_uri, id_token_alg, id_token_claims
    FROM client_profiles WHERE client_id = ?`

// GetClientProfile returns the client's profile; ErrNotFound when it has none.
func (s *Store) GetClientProfile(ctx context.Context, clientID string) (storage.ClientProfile, error) {
	var p storage.ClientProfile
	err := s.r.QueryRowContext(ctx, selectClientProfile, clientID).Scan(&p.ClientID, &p.AuthMethod,
		listCol(&p.Scopes), &p.JWKS, &p.JWKSURI, &p.IDTokenAlg, &p.IDTokenClaims)
	if err != nil {
		return storage.ClientProfile{}, fmt.Errorf("sqlite: get client profile %q: %w", clientID, getErr(err))
	}
	return p, nil
}

// An expired record of the same jti may be taken over; a live one may not.
const useAssertionID = `INSERT INTO client_assertion_ids (client_id, jti, expires_at) VALUES (?1, ?2, ?3)
    ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = excluded.expires_at
    WHERE client_assertion_ids.expires_at <= ?4`

// UseAssertionID records jti once; ErrAlreadyUsed while an earlier record of it is live.
func (s *Store) UseAssertionID(ctx context.Context, clientID, jti string, expiresAt, now time.Time) error {
	res, err := s.w.ExecContext(ctx, useAssertionID, clientID, jti, timeArg(expiresAt), timeArg(now))
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = storage.ErrAlreadyUsed
		}
	}
	if err != nil {
		return fmt.Errorf("sqlite: use assertion ID of client %q: %w", clientID, err)
	}
	return nil
}

const deleteExpiredAssertionIDs = `DELETE FROM client_assertion_ids WHERE expires_at <= ?`

// DeleteExpiredAssertionIDs forgets the assertion IDs that expired at or before now.
func (s *Store) DeleteExpiredAssertionIDs(ctx context.Context, now time.Time) error {
	if _, err := s.w.ExecContext(ctx, deleteExpiredAssertionIDs, timeArg(now)); err != nil {
		return fmt.Errorf("sqlite: delete expired assertion IDs: %w", err)
	}
	return nil
}
