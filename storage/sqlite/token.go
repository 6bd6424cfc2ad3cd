package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/otpidp/otpidp/storage"
)

const accessTokenCols = `id, family_id, client_id, user_id, scopes, audience, created_at,
    expires_at, revoked_at`

func scanAccessToken(sc scanner) (storage.AccessToken, error) {
	var t storage.AccessToken
	err := sc.Scan(&t.ID, &t.FamilyID, &t.ClientID, &t.UserID, listCol(&t.Scopes),
		listCol(&t.Audience), timeCol(&t.CreatedAt), timeCol(&t.ExpiresAt), timeCol(&t.RevokedAt))
	return t, err
}

const insertAccessToken = `INSERT INTO access_tokens (` + accessTokenCols + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

func createAccessToken(ctx context.Context, e execer, t storage.AccessToken) error {
	_, err := e.ExecContext(ctx, insertAccessToken, t.ID, t.FamilyID, t.ClientID, t.UserID,
		listArg(t.Scopes), listArg(t.Audience), timeArg(t.CreatedAt), timeArg(t.ExpiresAt),
		timeArg(t.RevokedAt))
	return insertErr(err)
}

// CreateAccessToken stores t; ErrAlreadyExists when its ID is taken.
func (s *Store) CreateAccessToken(ctx context.Context, t storage.AccessToken) error {
	if err := createAccessToken(ctx, s.w, t); err != nil {
		return fmt.Errorf("sqlite: create access token %q: %w", t.ID, err)
	}
	return nil
}

const selectAccessToken = `SELECT ` + accessTokenCols + ` FROM access_tokens WHERE id = ?`

// GetAccessToken returns the access token with that ID, whatever its state.
func (s *Store) GetAccessToken(ctx context.Context, id string) (storage.AccessToken, error) {
	t, err := scanAccessToken(s.r.QueryRowContext(ctx, selectAccessToken, id))
	if err != nil {
		return storage.AccessToken{}, fmt.Errorf("sqlite: get access token %q: %w", id, getErr(err))
	}
	return t, nil
}

// COALESCE keeps the time of the first revocation.
const revokeAccessToken = `UPDATE access_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`

// RevokeAccessToken revokes the token; ErrNotFound when absent.
func (s *Store) RevokeAccessToken(ctx context.Context, id string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, revokeAccessToken, timeArg(now), id)
	if err == nil {
		err = affected(res)
	}
	if err != nil {
		return fmt.Errorf("sqlite: revoke access token %q: %w", id, err)
	}
	return nil
}

const refreshTokenCols = `id, token_hash, family_id, client_id, user_id, scopes, audience, amr,
    auth_time, created_at, expires_at, idle_expires_at, used_at, revoked_at`

func scanRefreshToken(sc scanner) (storage.RefreshToken, error) {
	var t storage.RefreshToken
	err := sc.Scan(&t.ID, &t.TokenHash, &t.FamilyID, &t.ClientID, &t.UserID, listCol(&t.Scopes),
		listCol(&t.Audience), listCol(&t.AMR), timeCol(&t.AuthTime), timeCol(&t.CreatedAt),
		timeCol(&t.ExpiresAt), timeCol(&t.IdleExpiresAt), timeCol(&t.UsedAt), timeCol(&t.RevokedAt))
	return t, err
}

const insertRefreshToken = `INSERT INTO refresh_tokens (` + refreshTokenCols + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func createRefreshToken(ctx context.Context, e execer, t storage.RefreshToken) error {
	_, err := e.ExecContext(ctx, insertRefreshToken, t.ID, t.TokenHash, t.FamilyID, t.ClientID,
		t.UserID, listArg(t.Scopes), listArg(t.Audience), listArg(t.AMR), timeArg(t.AuthTime),
		timeArg(t.CreatedAt), timeArg(t.ExpiresAt), timeArg(t.IdleExpiresAt), timeArg(t.UsedAt),
		timeArg(t.RevokedAt))
	return insertErr(err)
}

// CreateRefreshToken stores t; ErrAlreadyExists when its ID or token hash is taken.
func (s *Store) CreateRefreshToken(ctx context.Context, t storage.RefreshToken) error {
	if err := createRefreshToken(ctx, s.w, t); err != nil {
		return fmt.Errorf("sqlite: create refresh token %q: %w", t.ID, err)
	}
	return nil
}

const selectRefreshTokenByHash = `SELECT ` + refreshTokenCols + ` FROM refresh_tokens WHERE token_hash = ?`

// GetRefreshTokenByHash returns the refresh token with that hash, whatever its state.
func (s *Store) GetRefreshTokenByHash(ctx context.Context, tokenHash []byte) (storage.RefreshToken, error) {
	t, err := scanRefreshToken(s.r.QueryRowContext(ctx, selectRefreshTokenByHash, tokenHash))
	if err != nil {
		return storage.RefreshToken{}, fmt.Errorf("sqlite: get refresh token by hash: %w", getErr(err))
	}
	return t, nil
}

const useRefreshToken = `
UPDATE refresh_tokens SET used_at = ?
WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ? AND idle_expires_at > ?`

const refreshTokenState = `SELECT used_at IS NOT NULL FROM refresh_tokens WHERE id = ?`

// reusableRefreshToken finds a token used after the grace period's start that is still
// unrevoked and unexpired: a concurrent refresh of the same client may rotate it again.
const reusableRefreshToken = `SELECT EXISTS (SELECT 1 FROM refresh_tokens
WHERE id = ? AND used_at IS NOT NULL AND used_at > ? AND revoked_at IS NULL AND expires_at > ? AND idle_expires_at > ?)`

// RotateRefreshToken marks oldID used and stores next and access, in one transaction. A used
// token is ErrAlreadyUsed, a revoked or expired one ErrConflict, an absent one ErrNotFound;
// then nothing is stored.
func (s *Store) RotateRefreshToken(ctx context.Context, oldID string, next storage.RefreshToken, access storage.AccessToken, now time.Time) error {
	return s.RotateRefreshTokenGrace(ctx, oldID, 0, next, access, now)
}

// RotateRefreshTokenGrace is RotateRefreshToken, except that a token used less than grace
// before now (and still unrevoked and unexpired) is rotated again: next and access are
// stored and its used time stays that of its first use.
func (s *Store) RotateRefreshTokenGrace(ctx context.Context, oldID string, grace time.Duration, next storage.RefreshToken, access storage.AccessToken, now time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, useRefreshToken, timeArg(now), oldID, timeArg(now), timeArg(now))
		if err != nil {
			return err
		}
		if affected(res) != nil {
			var used bool
			if err := tx.QueryRowContext(ctx, refreshTokenState, oldID).Scan(&used); err != nil {
				return getErr(err)
			}
			if !used {
				return storage.ErrConflict
			}
			reusable := false
			if grace > 0 {
				if err := tx.QueryRowContext(ctx, reusableRefreshToken, oldID, timeArg(now.Add(-grace)), timeArg(now), timeArg(now)).Scan(&reusable); err != nil {
					return err
				}
			}
			if !reusable {
				return storage.ErrAlreadyUsed
			}
		}
		if err := createRefreshToken(ctx, tx, next); err != nil {
			return fmt.Errorf("store refresh token %q: %w", next.ID, err)
		}
		if err := createAccessToken(ctx, tx, access); err != nil {
			return fmt.Errorf("store access token %q: %w", access.ID, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: rotate refresh token %q: %w", oldID, err)
	}
	return nil
}

const (
	revokeFamilyAccess  = `UPDATE access_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`
	revokeFamilyRefresh = `UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`
)

// RevokeFamily revokes every access and refresh token of the family. Tokens revoked before
// keep their revocation time.
func (s *Store) RevokeFamily(ctx context.Context, familyID string, now time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{revokeFamilyAccess, revokeFamilyRefresh} {
			if _, err := tx.ExecContext(ctx, q, timeArg(now), familyID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: revoke family %q: %w", familyID, err)
	}
	return nil
}

const (
	revokeUserAccess = `UPDATE access_tokens SET revoked_at = ?
WHERE user_id = ? AND (? = '' OR client_id = ?) AND revoked_at IS NULL`
	revokeUserRefresh = `UPDATE refresh_tokens SET revoked_at = ?
WHERE user_id = ? AND (? = '' OR client_id = ?) AND revoked_at IS NULL`
)

// RevokeUserTokens revokes every access and refresh token of the user, of one client only when
// clientID is not empty.
func (s *Store) RevokeUserTokens(ctx context.Context, userID, clientID string, now time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{revokeUserAccess, revokeUserRefresh} {
			if _, err := tx.ExecContext(ctx, q, timeArg(now), userID, clientID, clientID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: revoke tokens of user %q: %w", userID, err)
	}
	return nil
}
