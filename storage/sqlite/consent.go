package sqlite

import (
	"context"
	"fmt"

	"github.com/otpidp/otpidp/storage"
)

const upsertConsent = `INSERT INTO consents (user_id, client_id, scopes, granted_at) VALUES (?, ?, ?, ?)
ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`

// SaveConsent records c, replacing the user's earlier consent to that client.
func (s *Store) SaveConsent(ctx context.Context, c storage.Consent) error {
	if _, err := s.w.ExecContext(ctx, upsertConsent, c.UserID, c.ClientID, listArg(c.Scopes), timeArg(c.GrantedAt)); err != nil {
		return fmt.Errorf("sqlite: save consent: %w", err)
	}
	return nil
}

const selectConsent = `SELECT user_id, client_id, scopes, granted_at FROM consents WHERE user_id = ? AND client_id = ?`

// GetConsent returns the user's consent to the client.
func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (storage.Consent, error) {
	var c storage.Consent
	err := s.r.QueryRowContext(ctx, selectConsent, userID, clientID).Scan(&c.UserID, &c.ClientID, listCol(&c.Scopes), timeCol(&c.GrantedAt))
	if err != nil {
		return storage.Consent{}, fmt.Errorf("sqlite: get consent: %w", getErr(err))
	}
	return c, nil
}

const deleteConsent = `DELETE FROM consents WHERE user_id = ? AND client_id = ?`

// DeleteConsent forgets the user's consent to the client.
func (s *Store) DeleteConsent(ctx context.Context, userID, clientID string) error {
	res, err := s.w.ExecContext(ctx, deleteConsent, userID, clientID)
	if err == nil {
		err = affected(res)
	}
	if err != nil {
		return fmt.Errorf("sqlite: delete consent: %w", err)
	}
	return nil
}
