package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otpidp/otpidp/storage"
)

// Authorization request IDs and codes travel in URLs, so errors leave them out.

const authRequestColumns = `id, client_id, redirect_uri, scopes, state, nonce, response_type,
    response_mode, code_challenge, code_challenge_method, prompt, max_age, login_hint, ui_locales,
    browser_hash, user_id, auth_time, amr, completed_at, code_hash, code_expires_at, code_used_at,
    created_at, expires_at, id_token_hint_subject, client_ip, id_token_claims`

type authRequestRow struct {
	ID                  string             `db:"id"`
	ClientID            string             `db:"client_id"`
	RedirectURI         string             `db:"redirect_uri"`
	Scopes              []string           `db:"scopes"`
	State               string             `db:"state"`
	Nonce               string             `db:"nonce"`
	ResponseType        string             `db:"response_type"`
	ResponseMode        string             `db:"response_mode"`
	CodeChallenge       string             `db:"code_challenge"`
	CodeChallengeMethod string             `db:"code_challenge_method"`
	Prompt              []string           `db:"prompt"`
	MaxAge              int64              `db:"max_age"`
	LoginHint           string             `db:"login_hint"`
	UILocales           []string           `db:"ui_locales"`
	BrowserHash         []byte             `db:"browser_hash"`
	UserID              string             `db:"user_id"`
	AuthTime            pgtype.Timestamptz `db:"auth_time"`
	AMR                 []string           `db:"amr"`
	CompletedAt         pgtype.Timestamptz `db:"completed_at"`
	CodeHash            []byte             `db:"code_hash"`
	CodeExpiresAt       pgtype.Timestamptz `db:"code_expires_at"`
	CodeUsedAt          pgtype.Timestamptz `db:"code_used_at"`
	CreatedAt           pgtype.Timestamptz `db:"created_at"`
	ExpiresAt           pgtype.Timestamptz `db:"expires_at"`
	HintSubject         string             `db:"id_token_hint_subject"`
	ClientIP            string             `db:"client_ip"`
	IDTokenClaims       []string           `db:"id_token_claims"`
}

func (r authRequestRow) authRequest() storage.AuthRequest {
	return storage.AuthRequest{
		ID:                  r.ID,
		ClientID:            r.ClientID,
		RedirectURI:         r.RedirectURI,
		Scopes:              r.Scopes,
		State:               r.State,
		Nonce:               r.Nonce,
		ResponseType:        r.ResponseType,
		ResponseMode:        r.ResponseMode,
		CodeChallenge:       r.CodeChallenge,
		CodeChallengeMethod: r.CodeChallengeMethod,
		Prompt:              r.Prompt,
		MaxAge:              r.MaxAge,
		LoginHint:           r.LoginHint,
		UILocales:           r.UILocales,
		BrowserHash:         r.BrowserHash,
		UserID:              r.UserID,
		AuthTime:            tm(r.AuthTime),
		AMR:                 r.AMR,
		CompletedAt:         tm(r.CompletedAt),
		CodeHash:            r.CodeHash,
		CodeExpiresAt:       tm(r.CodeExpiresAt),
		CodeUsedAt:          tm(r.CodeUsedAt),
		CreatedAt:           tm(r.CreatedAt),
		ExpiresAt:           tm(r.ExpiresAt),
		HintSubject:         r.HintSubject,
		ClientIP:            r.ClientIP,
		IDTokenClaims:       r.IDTokenClaims,
	}
}

func queryAuthRequest(ctx context.Context, c *pgxpool.Conn, query string, args ...any) (storage.AuthRequest, error) {
	rows, err := c.Query(ctx, query, args...)
	if err != nil {
		return storage.AuthRequest{}, err
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[authRequestRow])
	if err != nil {
		return storage.AuthRequest{}, err
	}
	return r.authRequest(), nil
}

const sqlAuthRequestInsert = `INSERT INTO auth_requests (` + authRequestColumns + `)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
        $20, $21, $22, $23, $24, $25, $26, $27)`

// CreateAuthRequest stores a: ErrAlreadyExists when its ID (or code hash) is taken.
func (s *Store) CreateAuthRequest(ctx context.Context, a storage.AuthRequest) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, sqlAuthRequestInsert,
			a.ID, a.ClientID, a.RedirectURI, a.Scopes, a.State, a.Nonce, a.ResponseType,
			a.ResponseMode, a.CodeChallenge, a.CodeChallengeMethod, a.Prompt, a.MaxAge, a.LoginHint,
			a.UILocales, a.BrowserHash, a.UserID, ts(a.AuthTime), a.AMR, ts(a.CompletedAt),
			a.CodeHash, ts(a.CodeExpiresAt), ts(a.CodeUsedAt), ts(a.CreatedAt), ts(a.ExpiresAt), a.HintSubject, a.ClientIP,
			nonNilList(a.IDTokenClaims))
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: create auth request: %w", mapErr(err))
	}
	return nil
}

const sqlAuthRequestCountPending = `SELECT count(*) FROM (SELECT 1 FROM auth_requests
    WHERE client_ip = $1 AND completed_at IS NULL AND expires_at > $2 LIMIT $3) AS pending`

// CountPendingAuthRequests counts the live, uncompleted requests created from clientIP, up to max.
func (s *Store) CountPendingAuthRequests(ctx context.Context, clientIP string, now time.Time, max int) (int, error) {
	var n int
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		return c.QueryRow(ctx, sqlAuthRequestCountPending, clientIP, ts(now), max).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: count pending auth requests: %w", mapErr(err))
	}
	return n, nil
}

const sqlAuthRequestGet = `SELECT ` + authRequestColumns + ` FROM auth_requests WHERE id = $1`

// GetAuthRequest returns the request whatever its state.
func (s *Store) GetAuthRequest(ctx context.Context, id string) (storage.AuthRequest, error) {
	var a storage.AuthRequest
	err := s.withConn(ctx, func(c *pgxpool.Conn) (err error) {
		a, err = queryAuthRequest(ctx, c, sqlAuthRequestGet, id)
		return err
	})
	if err != nil {
		return storage.AuthRequest{}, fmt.Errorf("postgres: get auth request: %w", mapErr(err))
	}
	return a, nil
}

const (
	sqlAuthRequestComplete = `UPDATE auth_requests
    SET user_id = $2, auth_time = $3, amr = $4, completed_at = $5
    WHERE id = $1 AND completed_at IS NULL AND expires_at > $5`
	sqlAuthRequestExists = `SELECT 1 FROM auth_requests WHERE id = $1`
)

// CompleteAuthRequest records who authenticated, once: ErrConflict if the request is already
// completed or has expired, ErrNotFound if it is absent.
func (s *Store) CompleteAuthRequest(ctx context.Context, id, userID string, authTime time.Time, amr []string, now time.Time) error {
	if now.IsZero() {
		return fmt.Errorf("postgres: complete auth request: %w", errZeroNow)
	}
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		tag, err := c.Exec(ctx, sqlAuthRequestComplete, id, userID, ts(authTime), amr, ts(now))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		return conflictOrNotFound(ctx, c, sqlAuthRequestExists, id)
	})
	if err != nil {
		return fmt.Errorf("postgres: complete auth request: %w", mapErr(err))
	}
	return nil
}

const sqlAuthRequestSetCode = `UPDATE auth_requests SET code_hash = $2, code_expires_at = $3
    WHERE id = $1 AND completed_at IS NOT NULL AND code_hash IS NULL`

// SetAuthCode stores the hash of the code issued for a completed request: ErrConflict if the
// request is not completed or already has a code, ErrNotFound if it is absent,
// ErrAlreadyExists if another request has the same code hash.
func (s *Store) SetAuthCode(ctx context.Context, id string, codeHash []byte, expiresAt time.Time) error {
	if len(codeHash) == 0 {
		return errors.New("postgres: set auth code: empty code hash")
	}
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		tag, err := c.Exec(ctx, sqlAuthRequestSetCode, id, codeHash, ts(expiresAt))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		return conflictOrNotFound(ctx, c, sqlAuthRequestExists, id)
	})
	if err != nil {
		return fmt.Errorf("postgres: set auth code: %w", mapErr(err))
	}
	return nil
}

const (
	sqlAuthCodeConsume = `UPDATE auth_requests SET code_used_at = $2
    WHERE code_hash = $1 AND code_used_at IS NULL AND code_expires_at > $2
    RETURNING ` + authRequestColumns
	sqlAuthCodeGet = `SELECT ` + authRequestColumns + ` FROM auth_requests WHERE code_hash = $1`
)

// GetAuthRequestByCode returns the request that code hash was issued for, whatever the code's
// state (used, expired); ErrNotFound when none has it. It changes nothing.
func (s *Store) GetAuthRequestByCode(ctx context.Context, codeHash []byte) (storage.AuthRequest, error) {
	if len(codeHash) == 0 {
		return storage.AuthRequest{}, fmt.Errorf("postgres: get auth request by code: %w", storage.ErrNotFound)
	}
	var a storage.AuthRequest
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		var err error
		a, err = queryAuthRequest(ctx, c, sqlAuthCodeGet, codeHash)
		return err
	})
	if err != nil {
		return storage.AuthRequest{}, fmt.Errorf("postgres: get auth request by code: %w", mapErr(err))
	}
	return a, nil
}

// ConsumeAuthCode redeems a code exactly once. A code already used returns the request with
// ErrAlreadyUsed; an unknown or expired one, ErrNotFound.
func (s *Store) ConsumeAuthCode(ctx context.Context, codeHash []byte, now time.Time) (storage.AuthRequest, error) {
	if now.IsZero() {
		return storage.AuthRequest{}, fmt.Errorf("postgres: consume auth code: %w", errZeroNow)
	}
	if len(codeHash) == 0 {
		return storage.AuthRequest{}, fmt.Errorf("postgres: consume auth code: %w", storage.ErrNotFound)
	}
	var a storage.AuthRequest
	var used bool
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		var err error
		a, err = queryAuthRequest(ctx, c, sqlAuthCodeConsume, codeHash, ts(now))
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// Nothing redeemed: unknown, expired, or used before.
		a, err = queryAuthRequest(ctx, c, sqlAuthCodeGet, codeHash)
		if err != nil {
			return err
		}
		if a.CodeUsedAt.IsZero() {
			return storage.ErrNotFound // expired
		}
		used = true
		return nil
	})
	if err != nil {
		return storage.AuthRequest{}, fmt.Errorf("postgres: consume auth code: %w", mapErr(err))
	}
	if used {
		return a, fmt.Errorf("postgres: consume auth code: %w", storage.ErrAlreadyUsed)
	}
	return a, nil
}

// nonNilList is l, or an empty list for a NOT NULL text[] column.
func nonNilList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
