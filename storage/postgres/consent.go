package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otpidp/otpidp/storage"
)

const sqlConsentUpsert = `INSERT INTO consents (user_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = EXCLUDED.scopes, granted_at = EXCLUDED.granted_at`

// SaveConsent records c, replacing the user's earlier consent to that client.
func (s *Store) SaveConsent(ctx context.Context, c storage.Consent) error {
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		_, err := conn.Exec(ctx, sqlConsentUpsert, c.UserID, c.ClientID, c.Scopes, ts(c.GrantedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: save consent: %w", mapErr(err))
	}
	return nil
}

const sqlConsentGet = `SELECT user_id, client_id, scopes, granted_at FROM consents WHERE user_id = $1 AND client_id = $2`

// GetConsent returns the user's consent to the client.
func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (storage.Consent, error) {
	var c storage.Consent
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		var granted pgtype.Timestamptz
		err := conn.QueryRow(ctx, sqlConsentGet, userID, clientID).Scan(&c.UserID, &c.ClientID, &c.Scopes, &granted)
		c.GrantedAt = tm(granted)
		return err
	})
	if err != nil {
		return storage.Consent{}, fmt.Errorf("postgres: get consent: %w", mapErr(err))
	}
	return c, nil
}

const sqlConsentDelete = `DELETE FROM consents WHERE user_id = $1 AND client_id = $2`

// DeleteConsent forgets the user's consent to the client.
func (s *Store) DeleteConsent(ctx context.Context, userID, clientID string) error {
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		tag, err := conn.Exec(ctx, sqlConsentDelete, userID, clientID)
		if err == nil && tag.RowsAffected() == 0 {
			err = pgx.ErrNoRows
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete consent: %w", mapErr(err))
	}
	return nil
}
