package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/otpidp/otpidp/storage"
)

const authRequestCols = `id, client_id, redirect_uri, scopes, state, nonce, response_type,
    response_mode, code_challenge, code_challenge_method, prompt, max_age, login_hint,
    ui_locales, browser_hash, user_id, auth_time, amr, completed_at, code_hash,
    code_expires_at, code_used_at, created_at, expires_at, id_token_hint_subject, client_ip,
    id_token_claims`

func scanAuthRequest(sc scanner) (storage.AuthRequest, error) {
	var a storage.AuthRequest
	err := sc.Scan(&a.ID, &a.ClientID, &a.RedirectURI, listCol(&a.Scopes), &a.State, &a.Nonce,
		&a.ResponseType, &a.ResponseMode, &a.CodeChallenge, &a.CodeChallengeMethod,
		listCol(&a.Prompt), &a.MaxAge, &a.LoginHint, listCol(&a.UILocales), &a.BrowserHash,
		&a.UserID, timeCol(&a.AuthTime), listCol(&a.AMR), timeCol(&a.CompletedAt), &a.CodeHash,
		timeCol(&a.CodeExpiresAt), timeCol(&a.CodeUsedAt), timeCol(&a.CreatedAt),
		timeCol(&a.ExpiresAt), &a.HintSubject, &a.ClientIP, listCol(&a.IDTokenClaims))
	return a, err
}

const insertAuthRequest = `INSERT INTO auth_requests (` + authRequestCols + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// CreateAuthRequest stores a; ErrAlreadyExists when its ID (or code hash) is taken.
func (s *Store) CreateAuthRequest(ctx context.Context, a storage.AuthRequest) error {
	_, err := s.w.ExecContext(ctx, insertAuthRequest, a.ID, a.ClientID, a.RedirectURI,
		listArg(a.Scopes), a.State, a.Nonce, a.ResponseType, a.ResponseMode, a.CodeChallenge,
		a.CodeChallengeMethod, listArg(a.Prompt), a.MaxAge, a.LoginHint, listArg(a.UILocales),
		a.BrowserHash, a.UserID, timeArg(a.AuthTime), listArg(a.AMR), timeArg(a.CompletedAt),
		a.CodeHash, timeArg(a.CodeExpiresAt), timeArg(a.CodeUsedAt), timeArg(a.CreatedAt),
		timeArg(a.ExpiresAt), a.HintSubject, a.ClientIP, listArg(a.IDTokenClaims))
	if err != nil {
		return fmt.Errorf("sqlite: create auth request %q: %w", a.ID, insertErr(err))
	}
	return nil
}

const selectAuthRequest = `SELECT ` + authRequestCols + ` FROM auth_requests WHERE id = ?`

// GetAuthRequest returns the request whatever its state.
func (s *Store) GetAuthRequest(ctx context.Context, id string) (storage.AuthRequest, error) {
	a, err := scanAuthRequest(s.r.QueryRowContext(ctx, selectAuthRequest, id))
	if err != nil {
		return storage.AuthRequest{}, fmt.Errorf("sqlite: get auth request %q: %w", id, getErr(err))
	}
	return a, nil
}

const countPendingAuthRequests = `SELECT count(*) FROM (SELECT 1 FROM auth_requests
WHERE client_ip = ? AND completed_at IS NULL AND expires_at > ? LIMIT ?)`

// CountPendingAuthRequests counts the live, uncompleted requests created from clientIP, up to max.
func (s *Store) CountPendingAuthRequests(ctx context.Context, clientIP string, now time.Time, max int) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, countPendingAuthRequests, clientIP, timeArg(now), max).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count pending auth requests: %w", err)
	}
	return n, nil
}

const authRequestExists = `SELECT EXISTS (SELECT 1 FROM auth_requests WHERE id = ?)`

const completeAuthRequest = `
UPDATE auth_requests SET user_id = ?, auth_time = ?, amr = ?, completed_at = ?
WHERE id = ? AND completed_at IS NULL AND expires_at > ?`

// CompleteAuthRequest records who authenticated, once, while the request is live:
// ErrConflict when it is completed already or expired, ErrNotFound when absent.
func (s *Store) CompleteAuthRequest(ctx context.Context, id, userID string, authTime time.Time, amr []string, now time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, completeAuthRequest, userID, timeArg(authTime),
			listArg(amr), timeArg(now), id, timeArg(now))
		if err != nil {
			return err
		}
		if err := affected(res); err != nil {
			return conflictOrNotFound(ctx, tx, authRequestExists, id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: complete auth request %q: %w", id, err)
	}
	return nil
}

const setAuthCode = `
UPDATE auth_requests SET code_hash = ?, code_expires_at = ?
WHERE id = ? AND completed_at IS NOT NULL AND code_hash IS NULL`

// SetAuthCode stores the code hash of a completed request: ErrConflict when the request is
// not completed or has a code already, ErrNotFound when absent, ErrAlreadyExists when another
// request has that code hash.
func (s *Store) SetAuthCode(ctx context.Context, id string, codeHash []byte, expiresAt time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, setAuthCode, codeHash, timeArg(expiresAt), id)
		if err != nil {
			return insertErr(err)
		}
		if err := affected(res); err != nil {
			return conflictOrNotFound(ctx, tx, authRequestExists, id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: set code of auth request %q: %w", id, err)
	}
	return nil
}

const consumeAuthCode = `
UPDATE auth_requests SET code_used_at = ?
WHERE code_hash = ? AND code_used_at IS NULL AND code_expires_at > ?
RETURNING ` + authRequestCols

const selectAuthRequestByCode = `SELECT ` + authRequestCols + ` FROM auth_requests WHERE code_hash = ?`

// GetAuthRequestByCode returns the request that code hash was issued for, whatever the code's
// state (used, expired); ErrNotFound when none has it. It changes nothing.
func (s *Store) GetAuthRequestByCode(ctx context.Context, codeHash []byte) (storage.AuthRequest, error) {
	if len(codeHash) == 0 {
		return storage.AuthRequest{}, fmt.Errorf("sqlite: get auth request by code: %w", storage.ErrNotFound)
	}
	a, err := scanAuthRequest(s.r.QueryRowContext(ctx, selectAuthRequestByCode, codeHash))
	if err != nil {
		return storage.AuthRequest{}, fmt.Errorf("sqlite: get auth request by code: %w", getErr(err))
	}
	return a, nil
}

// ConsumeAuthCode redeems a code exactly once and returns its request. A code used already
// returns the request with ErrAlreadyUsed; an unknown or expired one, ErrNotFound.
func (s *Store) ConsumeAuthCode(ctx context.Context, codeHash []byte, now time.Time) (storage.AuthRequest, error) {
	var a storage.AuthRequest
	var used bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = scanAuthRequest(tx.QueryRowContext(ctx, consumeAuthCode, timeArg(now), codeHash, timeArg(now)))
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		a, err = scanAuthRequest(tx.QueryRowContext(ctx, selectAuthRequestByCode, codeHash))
		if err != nil {
			return getErr(err)
		}
		if a.CodeUsedAt.IsZero() {
			return storage.ErrNotFound // expired
		}
		used = true
		return nil
	})
	switch {
	case err != nil:
		return storage.AuthRequest{}, fmt.Errorf("sqlite: consume auth code: %w", err)
	case used:
		return a, fmt.Errorf("sqlite: consume auth code of request %q: %w", a.ID, storage.ErrAlreadyUsed)
	}
	return a, nil
}
