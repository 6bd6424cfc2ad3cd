package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otpidp/otpidp/storage"
)

const sqlClientProfileInsert = `INSERT INTO client_profiles
    (client_id, auth_method, scopes, jwks, jwks_uri, id_token_alg, id_token_claims) VALUES ($1, $2, $3, $4, $5, $6, $7)`

// CreateClientWithProfile stores c and p in one transaction.
func (s *Store) CreateClientWithProfile(ctx context.Context, c storage.Client, p storage.ClientProfile) error {
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlClientInsert,
			c.ID, c.SecretHash, c.Name, c.RedirectURIs, c.PostLogoutRedirectURIs, c.Public,
			c.GrantTypes, c.AccessTokenFormat, c.FirstParty, ts(c.CreatedAt)); err != nil {
			return err
		}
		scopes := p.Scopes
		if scopes == nil {
			scopes = []string{}
		}
		_, err := tx.Exec(ctx, sqlClientProfileInsert, c.ID, p.AuthMethod, scopes, p.JWKS, p.JWKSURI, p.IDTokenAlg, p.IDTokenClaims)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: create client %q with profile: %w", c.ID, mapErr(err))
	}
	return nil
}

const sqlClientProfileSelect = `SELECT client_id, auth_method, scopes, jwks, jwks_uri, id_token_alg, id_token_claims
    FROM client_profiles WHERE client_id = $1`

// GetClientProfile returns the client's profile; ErrNotFound when it has none.
func (s *Store) GetClientProfile(ctx context.Context, clientID string) (storage.ClientProfile, error) {
	var p storage.ClientProfile
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		return conn.QueryRow(ctx, sqlClientProfileSelect, clientID).Scan(&p.ClientID, &p.AuthMethod,
			&p.Scopes, &p.JWKS, &p.JWKSURI, &p.IDTokenAlg, &p.IDTokenClaims)
	})
	if err != nil {
		return storage.ClientProfile{}, fmt.Errorf("postgres: get client profile %q: %w", clientID, mapErr(err))
	}
	return p, nil
}

// An expired record of the same jti may be taken over; a live one may not.
const sqlAssertionIDUse = `INSERT INTO client_assertion_ids (client_id, jti, expires_at) VALUES ($1, $2, $3)
    ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = excluded.expires_at
    WHERE client_assertion_ids.expires_at <= $4`

// UseAssertionID records jti once; ErrAlreadyUsed while an earlier record of it is live.
func (s *Store) UseAssertionID(ctx context.Context, clientID, jti string, expiresAt, now time.Time) error {
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		tag, err := conn.Exec(ctx, sqlAssertionIDUse, clientID, jti, ts(expiresAt), ts(now))
		if err == nil && tag.RowsAffected() == 0 {
			err = storage.ErrAlreadyUsed
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: use assertion ID of client %q: %w", clientID, mapErr(err))
	}
	return nil
}

const sqlAssertionIDsDeleteExpired = `DELETE FROM client_assertion_ids WHERE expires_at <= $1`

// DeleteExpiredAssertionIDs forgets the assertion IDs that expired at or before now.
func (s *Store) DeleteExpiredAssertionIDs(ctx context.Context, now time.Time) error {
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		_, err := conn.Exec(ctx, sqlAssertionIDsDeleteExpired, ts(now))
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete expired assertion IDs: %w", mapErr(err))
	}
	return nil
}
