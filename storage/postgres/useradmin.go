package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otpidp/otpidp/storage"
)

const sqlUserSetDisabled = `UPDATE users SET disabled_at = $2, updated_at = $3 WHERE id = $1`

// sqlUserDisableData are what disabling a user deletes, each taking the user ID: its flows in
// progress, its authorization requests whose code is not redeemed yet, and its device
// authorizations, so that nothing begun before can still end in a session or a token.
var sqlUserDisableData = []string{
	`DELETE FROM flows WHERE user_id = $1`,
	`DELETE FROM auth_requests WHERE user_id = $1 AND code_used_at IS NULL`,
	`DELETE FROM device_authorizations WHERE user_id = $1`,
}

// SetUserDisabled sets or (with the zero time) clears the user's DisabledAt; disabling deletes
// the user's flows in progress.
func (s *Store) SetUserDisabled(ctx context.Context, id string, disabledAt, now time.Time) error {
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sqlUserSetDisabled, id, ts(disabledAt), ts(now))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return storage.ErrNotFound
		}
		if disabledAt.IsZero() {
			return nil
		}
		for _, q := range sqlUserDisableData {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: set disabled of user %q: %w", id, mapErr(err))
	}
	return nil
}

const sqlUserList = `SELECT ` + userColumns + ` FROM users
    WHERE ($1::int = 0 OR ($1 = 1 AND disabled_at IS NOT NULL) OR ($1 = 2 AND disabled_at IS NULL))
    ORDER BY created_at ASC NULLS FIRST, id LIMIT $2`

// ListUsers returns matching users, oldest first.
func (s *Store) ListUsers(ctx context.Context, q storage.UserQuery) ([]storage.User, error) {
	filter := 0
	if q.Disabled != nil {
		filter = 2
		if *q.Disabled {
			filter = 1
		}
	}
	var limit *int
	if q.Limit > 0 {
		limit = &q.Limit
	}
	var rs []userRow
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, sqlUserList, filter, limit)
		if err != nil {
			return err
		}
		rs, err = pgx.CollectRows(rows, pgx.RowToStructByName[userRow])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", mapErr(err))
	}
	us := make([]storage.User, len(rs))
	for i, r := range rs {
		us[i] = r.user()
	}
	return us, nil
}

// sqlUserDeleteData are the statements of DeleteUser after the user row is gone, each taking
// the user ID.
var sqlUserDeleteData = []string{
	`DELETE FROM recovery_codes WHERE user_id = $1`,
	`DELETE FROM sessions WHERE user_id = $1`,
	`DELETE FROM consents WHERE user_id = $1`,
	`DELETE FROM flows WHERE user_id = $1`,
	`DELETE FROM device_authorizations WHERE user_id = $1`,
	`DELETE FROM auth_requests WHERE user_id = $1 AND code_used_at IS NULL`,
}

// DeleteUser removes the user's personal data and remembers its ID as deleted. It takes the
// user's token lock as RevokeUserTokens does, so a rotation running meanwhile cannot add a
// live token the revocation misses.
func (s *Store) DeleteUser(ctx context.Context, id string, now time.Time) error {
	if now.IsZero() {
		return fmt.Errorf("postgres: delete user %q: %w", id, errZeroNow)
	}
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlLockExclusive, lockKindUser, id); err != nil {
			return err
		}
		var phone string
		if err := tx.QueryRow(ctx, `DELETE FROM users WHERE id = $1 RETURNING phone`, id).Scan(&phone); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO deleted_users (id, deleted_at) VALUES ($1, $2)`, id, ts(now)); err != nil {
			return err
		}
		for _, q := range sqlUserDeleteData {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM flows WHERE phone = $1`, phone); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlAccessTokenRevokeUser, id, "", ts(now)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, sqlRefreshTokenRevokeUser, id, "", ts(now))
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete user %q: %w", id, mapErr(err))
	}
	return nil
}

// UserDeleted reports whether id was a deleted user's.
func (s *Store) UserDeleted(ctx context.Context, id string) (bool, error) {
	var deleted bool
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		return c.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM deleted_users WHERE id = $1)`, id).Scan(&deleted)
	})
	if err != nil {
		return false, fmt.Errorf("postgres: user deleted %q: %w", id, mapErr(err))
	}
	return deleted, nil
}

// GetSession returns the session with that ID whatever its state.
func (s *Store) GetSession(ctx context.Context, id string) (storage.Session, error) {
	var r sessionRow
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id)
		if err != nil {
			return err
		}
		r, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[sessionRow])
		return err
	})
	if err != nil {
		return storage.Session{}, fmt.Errorf("postgres: get session %q: %w", id, mapErr(err))
	}
	return r.session(), nil
}

const sqlSessionList = `SELECT ` + sessionColumns + ` FROM sessions
    WHERE ($1 = '' OR user_id = $1) AND expires_at > $2 AND idle_expires_at > $2
    ORDER BY created_at ASC NULLS FIRST, id LIMIT $3`

// ListSessions returns the live sessions that match q, oldest first.
func (s *Store) ListSessions(ctx context.Context, q storage.SessionQuery, now time.Time) ([]storage.Session, error) {
	var limit *int
	if q.Limit > 0 {
		limit = &q.Limit
	}
	var rs []sessionRow
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, sqlSessionList, q.UserID, ts(now), limit)
		if err != nil {
			return err
		}
		rs, err = pgx.CollectRows(rows, pgx.RowToStructByName[sessionRow])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list sessions: %w", mapErr(err))
	}
	ss := make([]storage.Session, len(rs))
	for i, r := range rs {
		ss[i] = r.session()
	}
	return ss, nil
}

const (
	sqlClientUpdate = `UPDATE clients SET secret_hash = $2, name = $3, redirect_uris = $4,
    post_logout_redirect_uris = $5, public = $6, grant_types = $7, access_token_format = $8,
    first_party = $9 WHERE id = $1`
	sqlClientProfileUpsert = `INSERT INTO client_profiles
    (client_id, auth_method, scopes, jwks, jwks_uri, id_token_alg, id_token_claims)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (client_id) DO UPDATE SET auth_method = excluded.auth_method,
    scopes = excluded.scopes, jwks = excluded.jwks, jwks_uri = excluded.jwks_uri,
    id_token_alg = excluded.id_token_alg, id_token_claims = excluded.id_token_claims`
)

// UpdateClient changes a client and its profile in one transaction; the client row is locked
// meanwhile, so two updates apply one after the other.
func (s *Store) UpdateClient(ctx context.Context, id string, update func(storage.Client, storage.ClientProfile) (storage.Client, storage.ClientProfile, error)) error {
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sqlClientGet+` FOR UPDATE`, id)
		if err != nil {
			return err
		}
		row, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[clientRow])
		if err != nil {
			return err
		}
		p := storage.ClientProfile{ClientID: id}
		err = tx.QueryRow(ctx, sqlClientProfileSelect, id).Scan(&p.ClientID, &p.AuthMethod,
			&p.Scopes, &p.JWKS, &p.JWKSURI, &p.IDTokenAlg, &p.IDTokenClaims)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		nc, np, err := update(row.client(), p)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlClientUpdate, id, nc.SecretHash, nc.Name, nc.RedirectURIs,
			nc.PostLogoutRedirectURIs, nc.Public, nc.GrantTypes, nc.AccessTokenFormat, nc.FirstParty); err != nil {
			return err
		}
		scopes := np.Scopes
		if scopes == nil {
			scopes = []string{}
		}
		_, err = tx.Exec(ctx, sqlClientProfileUpsert, id, np.AuthMethod, scopes, np.JWKS, np.JWKSURI, np.IDTokenAlg, np.IDTokenClaims)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: update client %q: %w", id, mapErr(err))
	}
	return nil
}
