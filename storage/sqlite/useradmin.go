package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/otpidp/otpidp/storage"
)

const setUserDisabled = `UPDATE users SET disabled_at = ?, updated_at = ? WHERE id = ?`

// disableUserData are what disabling a user deletes, each taking the user ID: its flows in
// progress, its authorization requests whose code is not redeemed yet, and its device
// authorizations, so that nothing begun before can still end in a session or a token.
var disableUserData = []string{
	`DELETE FROM flows WHERE user_id = ?`,
	`DELETE FROM auth_requests WHERE user_id = ? AND code_used_at IS NULL`,
	`DELETE FROM device_authorizations WHERE user_id = ?`,
}

// SetUserDisabled sets or (with the zero time) clears the user's DisabledAt; disabling deletes
// the user's flows in progress.
func (s *Store) SetUserDisabled(ctx context.Context, id string, disabledAt, now time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, setUserDisabled, timeArg(disabledAt), timeArg(now), id)
		if err != nil {
			return err
		}
		if err := affected(res); err != nil {
			return err
		}
		if disabledAt.IsZero() {
			return nil
		}
		for _, q := range disableUserData {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: set disabled of user %q: %w", id, err)
	}
	return nil
}

const listUsers = `SELECT ` + userCols + ` FROM users
WHERE (?1 = 0 OR (?1 = 1 AND disabled_at IS NOT NULL) OR (?1 = 2 AND disabled_at IS NULL))
ORDER BY created_at, id LIMIT ?2`

// ListUsers returns matching users, oldest first.
func (s *Store) ListUsers(ctx context.Context, q storage.UserQuery) ([]storage.User, error) {
	filter := 0
	if q.Disabled != nil {
		filter = 2
		if *q.Disabled {
			filter = 1
		}
	}
	rows, err := s.r.QueryContext(ctx, listUsers, filter, limitArg(q.Limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	defer rows.Close()
	var out []storage.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	return out, nil
}

// limitArg is a LIMIT value: -1 (none) for 0.
func limitArg(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// deleteUserData are the statements of DeleteUser after the user row is gone, each taking
// the user ID; the phone number's flows are removed separately.
var deleteUserData = []string{
	`DELETE FROM recovery_codes WHERE user_id = ?`,
	`DELETE FROM sessions WHERE user_id = ?`,
	`DELETE FROM consents WHERE user_id = ?`,
	`DELETE FROM flows WHERE user_id = ?`,
	`DELETE FROM device_authorizations WHERE user_id = ?`,
	`DELETE FROM auth_requests WHERE user_id = ? AND code_used_at IS NULL`,
}

// DeleteUser removes the user's personal data and remembers its ID as deleted.
func (s *Store) DeleteUser(ctx context.Context, id string, now time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var phone string
		err := tx.QueryRowContext(ctx, `DELETE FROM users WHERE id = ? RETURNING phone`, id).Scan(&phone)
		if err != nil {
			return getErr(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO deleted_users (id, deleted_at) VALUES (?, ?)`, id, timeArg(now)); err != nil {
			return insertErr(err)
		}
		for _, q := range deleteUserData {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		// Flows to the number that name no user (a registration or reset in progress) hold it too.
		if _, err := tx.ExecContext(ctx, `DELETE FROM flows WHERE phone = ?`, phone); err != nil {
			return err
		}
		for _, q := range []string{revokeUserAccess, revokeUserRefresh} {
			if _, err := tx.ExecContext(ctx, q, timeArg(now), id, "", ""); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete user %q: %w", id, err)
	}
	return nil
}

// UserDeleted reports whether id was a deleted user's.
func (s *Store) UserDeleted(ctx context.Context, id string) (bool, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM deleted_users WHERE id = ?`, id).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlite: user deleted %q: %w", id, err)
	}
	return n > 0, nil
}

// GetSession returns the session with that ID whatever its state.
func (s *Store) GetSession(ctx context.Context, id string) (storage.Session, error) {
	ss, err := scanSession(s.r.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = ?`, id))
	if err != nil {
		return storage.Session{}, fmt.Errorf("sqlite: get session %q: %w", id, getErr(err))
	}
	return ss, nil
}

const listSessions = `SELECT ` + sessionCols + ` FROM sessions
WHERE (?1 = '' OR user_id = ?1) AND expires_at > ?2 AND idle_expires_at > ?2
ORDER BY created_at, id LIMIT ?3`

// ListSessions returns the live sessions that match q, oldest first.
func (s *Store) ListSessions(ctx context.Context, q storage.SessionQuery, now time.Time) ([]storage.Session, error) {
	rows, err := s.r.QueryContext(ctx, listSessions, q.UserID, timeArg(now), limitArg(q.Limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list sessions: %w", err)
	}
	defer rows.Close()
	var out []storage.Session
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list sessions: %w", err)
		}
		out = append(out, ss)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list sessions: %w", err)
	}
	return out, nil
}

const (
	updateClient = `UPDATE clients SET secret_hash = ?, name = ?, redirect_uris = ?,
    post_logout_redirect_uris = ?, public = ?, grant_types = ?, access_token_format = ?,
    first_party = ? WHERE id = ?`
	upsertClientProfile = `INSERT INTO client_profiles
    (client_id, auth_method, scopes, jwks, jwks_uri, id_token_alg, id_token_claims)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (client_id) DO UPDATE SET auth_method = excluded.auth_method,
    scopes = excluded.scopes, jwks = excluded.jwks, jwks_uri = excluded.jwks_uri,
    id_token_alg = excluded.id_token_alg, id_token_claims = excluded.id_token_claims`
)

// UpdateClient changes a client and its profile in one transaction.
func (s *Store) UpdateClient(ctx context.Context, id string, update func(storage.Client, storage.ClientProfile) (storage.Client, storage.ClientProfile, error)) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		c, err := scanClient(tx.QueryRowContext(ctx, selectClient, id))
		if err != nil {
			return getErr(err)
		}
		p := storage.ClientProfile{ClientID: id}
		err = tx.QueryRowContext(ctx, selectClientProfile, id).Scan(&p.ClientID, &p.AuthMethod,
			listCol(&p.Scopes), &p.JWKS, &p.JWKSURI, &p.IDTokenAlg, &p.IDTokenClaims)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		nc, np, err := update(c, p)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, updateClient, nc.SecretHash, nc.Name, listArg(nc.RedirectURIs),
			listArg(nc.PostLogoutRedirectURIs), boolArg(nc.Public), listArg(nc.GrantTypes),
			nc.AccessTokenFormat, boolArg(nc.FirstParty), id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, upsertClientProfile, id, np.AuthMethod, listArg(np.Scopes),
			np.JWKS, np.JWKSURI, np.IDTokenAlg, boolArg(np.IDTokenClaims))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: update client %q: %w", id, err)
	}
	return nil
}
