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

// Token IDs and hashes stay out of errors: errors end up in logs.

// Transaction-scoped advisory locks, two-key form (a key space apart from Migrate's one-key
// lock): the first key names the kind, the second is hashtext of the family or user ID. A
// rotation holds its family's lock and its user's lock in shared mode; RevokeFamily and
// RevokeUserTokens hold theirs exclusively. Without them a revocation running while a rotation
// commits would miss the token the rotation inserts, which its snapshot cannot see.
const (
	lockKindFamily int32 = 0x6f740001
	lockKindUser   int32 = 0x6f740002

	sqlLockRotation   = `SELECT pg_advisory_xact_lock_shared($1, hashtext($2)), pg_advisory_xact_lock($3, hashtext($4))`
	sqlLockExclusive  = `SELECT pg_advisory_xact_lock($1, hashtext($2))`
	accessTokenFields = `id, family_id, client_id, user_id, scopes, audience, created_at, expires_at, revoked_at`
)

type accessTokenRow struct {
	ID        string             `db:"id"`
	FamilyID  string             `db:"family_id"`
	ClientID  string             `db:"client_id"`
	UserID    string             `db:"user_id"`
	Scopes    []string           `db:"scopes"`
	Audience  []string           `db:"audience"`
	CreatedAt pgtype.Timestamptz `db:"created_at"`
	ExpiresAt pgtype.Timestamptz `db:"expires_at"`
	RevokedAt pgtype.Timestamptz `db:"revoked_at"`
}

func (r accessTokenRow) accessToken() storage.AccessToken {
	return storage.AccessToken{
		ID:        r.ID,
		FamilyID:  r.FamilyID,
		ClientID:  r.ClientID,
		UserID:    r.UserID,
		Scopes:    r.Scopes,
		Audience:  r.Audience,
		CreatedAt: tm(r.CreatedAt),
		ExpiresAt: tm(r.ExpiresAt),
		RevokedAt: tm(r.RevokedAt),
	}
}

const sqlAccessTokenInsert = `INSERT INTO access_tokens (` + accessTokenFields + `)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`

func accessTokenArgs(t storage.AccessToken) []any {
	return []any{t.ID, t.FamilyID, t.ClientID, t.UserID, t.Scopes, t.Audience,
		ts(t.CreatedAt), ts(t.ExpiresAt), ts(t.RevokedAt)}
}

// CreateAccessToken stores t: ErrAlreadyExists when its ID is taken.
func (s *Store) CreateAccessToken(ctx context.Context, t storage.AccessToken) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, sqlAccessTokenInsert, accessTokenArgs(t)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: create access token: %w", mapErr(err))
	}
	return nil
}

const sqlAccessTokenGet = `SELECT ` + accessTokenFields + ` FROM access_tokens WHERE id = $1`

// GetAccessToken returns the access token with that ID, whatever its state.
func (s *Store) GetAccessToken(ctx context.Context, id string) (storage.AccessToken, error) {
	var row accessTokenRow
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, sqlAccessTokenGet, id)
		if err != nil {
			return err
		}
		row, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[accessTokenRow])
		return err
	})
	if err != nil {
		return storage.AccessToken{}, fmt.Errorf("postgres: get access token: %w", mapErr(err))
	}
	return row.accessToken(), nil
}

// COALESCE keeps the first revocation time.
const sqlAccessTokenRevoke = `UPDATE access_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`

// RevokeAccessToken revokes the access token: ErrNotFound when absent.
func (s *Store) RevokeAccessToken(ctx context.Context, id string, now time.Time) error {
	if now.IsZero() {
		return fmt.Errorf("postgres: revoke access token: %w", errZeroNow)
	}
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		tag, err := c.Exec(ctx, sqlAccessTokenRevoke, id, ts(now))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return storage.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: revoke access token: %w", mapErr(err))
	}
	return nil
}

const refreshTokenFields = `id, token_hash, family_id, client_id, user_id, scopes, audience, amr,
    auth_time, created_at, expires_at, idle_expires_at, used_at, revoked_at`

type refreshTokenRow struct {
	ID            string             `db:"id"`
	TokenHash     []byte             `db:"token_hash"`
	FamilyID      string             `db:"family_id"`
	ClientID      string             `db:"client_id"`
	UserID        string             `db:"user_id"`
	Scopes        []string           `db:"scopes"`
	Audience      []string           `db:"audience"`
	AMR           []string           `db:"amr"`
	AuthTime      pgtype.Timestamptz `db:"auth_time"`
	CreatedAt     pgtype.Timestamptz `db:"created_at"`
	ExpiresAt     pgtype.Timestamptz `db:"expires_at"`
	IdleExpiresAt pgtype.Timestamptz `db:"idle_expires_at"`
	UsedAt        pgtype.Timestamptz `db:"used_at"`
	RevokedAt     pgtype.Timestamptz `db:"revoked_at"`
}

func (r refreshTokenRow) refreshToken() storage.RefreshToken {
	return storage.RefreshToken{
		ID:            r.ID,
		TokenHash:     r.TokenHash,
		FamilyID:      r.FamilyID,
		ClientID:      r.ClientID,
		UserID:        r.UserID,
		Scopes:        r.Scopes,
		Audience:      r.Audience,
		AMR:           r.AMR,
		AuthTime:      tm(r.AuthTime),
		CreatedAt:     tm(r.CreatedAt),
		ExpiresAt:     tm(r.ExpiresAt),
		IdleExpiresAt: tm(r.IdleExpiresAt),
		UsedAt:        tm(r.UsedAt),
		RevokedAt:     tm(r.RevokedAt),
	}
}

const sqlRefreshTokenInsert = `INSERT INTO refresh_tokens (` + refreshTokenFields + `)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`

func refreshTokenArgs(t storage.RefreshToken) []any {
	return []any{t.ID, t.TokenHash, t.FamilyID, t.ClientID, t.UserID, t.Scopes, t.Audience, t.AMR,
		ts(t.AuthTime), ts(t.CreatedAt), ts(t.ExpiresAt), ts(t.IdleExpiresAt), ts(t.UsedAt),
		ts(t.RevokedAt)}
}

// CreateRefreshToken stores t: ErrAlreadyExists when its ID or token hash is taken.
func (s *Store) CreateRefreshToken(ctx context.Context, t storage.RefreshToken) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, sqlRefreshTokenInsert, refreshTokenArgs(t)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: create refresh token: %w", mapErr(err))
	}
	return nil
}

const sqlRefreshTokenGetByHash = `SELECT ` + refreshTokenFields + ` FROM refresh_tokens WHERE token_hash = $1`

// GetRefreshTokenByHash returns the refresh token with that hash, whatever its state.
func (s *Store) GetRefreshTokenByHash(ctx context.Context, tokenHash []byte) (storage.RefreshToken, error) {
	var row refreshTokenRow
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, sqlRefreshTokenGetByHash, tokenHash)
		if err != nil {
			return err
		}
		row, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[refreshTokenRow])
		return err
	})
	if err != nil {
		return storage.RefreshToken{}, fmt.Errorf("postgres: get refresh token: %w", mapErr(err))
	}
	return row.refreshToken(), nil
}

const (
	sqlRefreshTokenOwner = `SELECT family_id, user_id FROM refresh_tokens WHERE id = $1`
	sqlRefreshTokenUse   = `UPDATE refresh_tokens SET used_at = $2
    WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2
        AND idle_expires_at > $2`
	sqlRefreshTokenState = `SELECT used_at, revoked_at FROM refresh_tokens WHERE id = $1`
)

// RotateRefreshToken marks oldID used and stores next and access, in one transaction. When the
// old token was already used it returns ErrAlreadyUsed; when it is revoked or expired,
// ErrConflict; when it is absent, ErrNotFound. In every error case nothing is stored.
func (s *Store) RotateRefreshToken(ctx context.Context, oldID string, next storage.RefreshToken, access storage.AccessToken, now time.Time) error {
	return s.RotateRefreshTokenGrace(ctx, oldID, 0, next, access, now)
}

// sqlRefreshTokenReusable finds a token used after the grace period's start that is still
// unrevoked and unexpired.
const sqlRefreshTokenReusable = `SELECT EXISTS (SELECT 1 FROM refresh_tokens
    WHERE id = $1 AND used_at IS NOT NULL AND used_at > $2 AND revoked_at IS NULL
        AND expires_at > $3 AND idle_expires_at > $3)`

// RotateRefreshTokenGrace is RotateRefreshToken, except that a token used less than grace
// before now (and still unrevoked and unexpired) is rotated again: next and access are stored
// and its used time stays that of its first use. The family's lock orders it with RevokeFamily.
func (s *Store) RotateRefreshTokenGrace(ctx context.Context, oldID string, grace time.Duration, next storage.RefreshToken, access storage.AccessToken, now time.Time) error {
	if now.IsZero() {
		return fmt.Errorf("postgres: rotate refresh token: %w", errZeroNow)
	}
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		var familyID, userID string
		if err := tx.QueryRow(ctx, sqlRefreshTokenOwner, oldID).Scan(&familyID, &userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlLockRotation, lockKindUser, userID, lockKindFamily, familyID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, sqlRefreshTokenUse, oldID, ts(now))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var usedAt, revokedAt pgtype.Timestamptz
			if err := tx.QueryRow(ctx, sqlRefreshTokenState, oldID).Scan(&usedAt, &revokedAt); err != nil {
				return err
			}
			if !usedAt.Valid {
				return storage.ErrConflict
			}
			reusable := false
			if grace > 0 {
				if err := tx.QueryRow(ctx, sqlRefreshTokenReusable, oldID, ts(now.Add(-grace)), ts(now)).Scan(&reusable); err != nil {
					return err
				}
			}
			if !reusable {
				return storage.ErrAlreadyUsed
			}
		}
		if _, err := tx.Exec(ctx, sqlRefreshTokenInsert, refreshTokenArgs(next)...); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, sqlAccessTokenInsert, accessTokenArgs(access)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: rotate refresh token: %w", mapErr(err))
	}
	return nil
}

const (
	sqlAccessTokenRevokeFamily  = `UPDATE access_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL`
	sqlRefreshTokenRevokeFamily = `UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL`
)

// RevokeFamily revokes every access and refresh token of the family, including one that a
// concurrent rotation is adding.
func (s *Store) RevokeFamily(ctx context.Context, familyID string, now time.Time) error {
	if now.IsZero() {
		return fmt.Errorf("postgres: revoke family: %w", errZeroNow)
	}
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlLockExclusive, lockKindFamily, familyID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlAccessTokenRevokeFamily, familyID, ts(now)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, sqlRefreshTokenRevokeFamily, familyID, ts(now))
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: revoke family: %w", mapErr(err))
	}
	return nil
}

// An empty clientID ($2) selects every client.
const (
	sqlAccessTokenRevokeUser = `UPDATE access_tokens SET revoked_at = $3
    WHERE user_id = $1 AND ($2 = '' OR client_id = $2) AND revoked_at IS NULL`
	sqlRefreshTokenRevokeUser = `UPDATE refresh_tokens SET revoked_at = $3
    WHERE user_id = $1 AND ($2 = '' OR client_id = $2) AND revoked_at IS NULL`
)

// RevokeUserTokens revokes every access and refresh token of the user, of one client only when
// clientID is not empty, including one that a concurrent rotation is adding.
func (s *Store) RevokeUserTokens(ctx context.Context, userID, clientID string, now time.Time) error {
	if now.IsZero() {
		return fmt.Errorf("postgres: revoke tokens of user %q: %w", userID, errZeroNow)
	}
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlLockExclusive, lockKindUser, userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlAccessTokenRevokeUser, userID, clientID, ts(now)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, sqlRefreshTokenRevokeUser, userID, clientID, ts(now))
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: revoke tokens of user %q: %w", userID, mapErr(err))
	}
	return nil
}
